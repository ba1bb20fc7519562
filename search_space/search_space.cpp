#include "search_space/search_space.h"

#include "core/options.h"

namespace nas::search_space {

NetworkOptions supernet_sizes(const SearchSpace& space,
                                            const nlohmann::json& network, int64_t classes,
                                            int64_t channels, int64_t input_size) {
  auto o = space.search_defaults();
  o.C = core::option<int64_t>(network, "C");
  o.layers = core::option<int64_t>(network, "layers");
  o.cells_per_stage = core::option<int64_t>(network, "cells_per_stage");
  o.num_classes = classes;
  o.in_channels = channels;
  o.input_size = input_size;
  return o;
}

}  // namespace nas::search_space
