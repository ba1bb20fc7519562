#include "search_space/network.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/runtime.h"

namespace nas::search_space {

GraphWriter::Value NetworkImpl::export_graph(GraphWriter& g, const GraphWriter::Value& x) const {
  throw Error(fmt::format("export: the {} network has no export mapping", name()));
}

void check_weights_fit(double weights, const std::string& what) {
  const double need_mib = weights * 16.0 / (1024.0 * 1024.0);
  const double have_mib = core::available_memory_mib();
  if (have_mib > 0 && need_mib > 0.9 * have_mib) {
    throw ConfigError(fmt::format(
        "{} would have about {:.3g} million weights and need about {:.1f} GiB for them, "
        "their gradients and optimizer state alone; this machine has {:.1f} GiB available. "
        "Use a smaller C or fewer cells",
        what, weights / 1e6, need_mib / 1024.0, have_mib / 1024.0));
  }
}

torch::Tensor SupernetImpl::superkernel_indicators(const torch::Tensor&, double) const {
  throw Error("this supernet has no superkernels (NetworkOptions::superkernel, chain spaces)");
}

torch::Tensor SupernetImpl::superkernel_selection(const torch::Tensor&) const {
  throw Error("this supernet has no superkernels (NetworkOptions::superkernel, chain spaces)");
}

torch::Tensor drop_path(const torch::Tensor& x, double p) {
  if (p <= 0.0) return x;
  const double keep = 1.0 - p;
  auto mask = torch::empty({x.size(0), 1, 1, 1}, x.options()).bernoulli_(keep);
  return x / keep * mask;
}

nlohmann::json NetworkOptions::to_json() const {
  return {{"C", C},
          {"layers", layers},
          {"cells_per_stage", cells_per_stage},
          {"width_mult", width_mult},
          {"num_classes", num_classes},
          {"in_channels", in_channels},
          {"input_size", input_size},
          {"auxiliary", auxiliary},
          {"imagenet", imagenet},
          {"affine", affine},
          {"track_running_stats", track_running_stats}};
}

NetworkOptions NetworkOptions::from_json(const nlohmann::json& j) {
  NetworkOptions o;
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
  };
  get("C", o.C);
  get("layers", o.layers);
  get("cells_per_stage", o.cells_per_stage);
  get("width_mult", o.width_mult);
  get("num_classes", o.num_classes);
  get("in_channels", o.in_channels);
  get("input_size", o.input_size);
  get("auxiliary", o.auxiliary);
  get("imagenet", o.imagenet);
  get("affine", o.affine);
  get("track_running_stats", o.track_running_stats);
  return o;
}

}  // namespace nas::search_space
