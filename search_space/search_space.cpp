#include "search_space/search_space.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/options.h"

namespace nas::search_space {

NetworkOptions supernet_sizes(const SearchSpace& space,
                                            const nlohmann::json& network, int64_t classes,
                                            int64_t channels, int64_t input_size) {
  auto o = space.search_defaults();
  o.C = core::option<int64_t>(network, "C");
  o.layers = core::option<int64_t>(network, "layers");
  o.cells_per_stage = core::option<int64_t>(network, "cells_per_stage");
  o.width_mult = network.value("width_mult", 0.0);
  o.num_classes = classes;
  o.in_channels = channels;
  o.input_size = input_size;
  return o;
}

std::string SearchSpace::describe(const Architecture& arch, const NetworkOptions&) const {
  std::string out;
  for (const auto& cell : arch.cells) {
    out += fmt::format("{} cell:\n", cell.name);
    for (size_t i = 0; i < cell.nodes.size(); ++i) {
      std::vector<std::string> inputs;
      for (const auto& e : cell.nodes[i]) inputs.push_back(fmt::format("{}({})", e.op, e.input));
      out += fmt::format("  node {}: {}\n", i, fmt::join(inputs, " + "));
    }
    if (!cell.concat.empty()) {
      out += fmt::format("  output: concat of states [{}]\n", fmt::join(cell.concat, ", "));
    }
  }
  return out;
}

std::string SearchSpace::describe_sizes(const NetworkOptions& o) const {
  return fmt::format("C {} layers {} cells/stage {}", o.C, o.layers, o.cells_per_stage);
}

bool Decision::allows(int64_t k) const {
  if (allowed.empty()) return k >= 0 && k < static_cast<int64_t>(candidates.size());
  return std::binary_search(allowed.begin(), allowed.end(), k);
}

std::vector<int64_t> Decision::choices() const {
  if (!allowed.empty()) return allowed;
  std::vector<int64_t> all(candidates.size());
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<int64_t>(k);
  return all;
}

torch::Tensor logit_mask(const std::vector<Decision>& decisions) {
  const bool any = std::any_of(decisions.begin(), decisions.end(),
                               [](const Decision& d) { return !d.allowed.empty(); });
  if (!any) return {};
  const auto k = static_cast<int64_t>(decisions.front().candidates.size());
  auto mask = torch::full({static_cast<int64_t>(decisions.size()), k}, kMaskedLogit,
                          torch::kFloat64);
  for (size_t d = 0; d < decisions.size(); ++d) {
    for (const int64_t c : decisions[d].choices()) mask[static_cast<int64_t>(d)][c] = 0.0;
  }
  return mask;
}

}  // namespace nas::search_space
