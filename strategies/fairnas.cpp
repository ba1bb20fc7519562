#include "strategies/fairnas.h"

#include <algorithm>

#include <torch/torch.h>


namespace nas::strategies {

const core::OptionTable<FairNasOptions>& FairNas::options_table() {
  static const auto table = [] {
    core::OptionTable<FairNasOptions> t;
    add_random_ws_options(t);
    t.add("same_batch", &FairNasOptions::same_batch,
          "all m paths of a step on one batch (false: m consecutive batches)");
    return t;
  }();
  return table;
}

FairNas::FairNas(const FairNasOptions& options)
    : RandomWs(options), same_batch_(options.same_batch) {}

FairNas::FairNas(const nlohmann::json& options)
    : FairNas(options_table().parse(options, "strategy.fairnas")) {}

namespace {

/// The candidates FairNAS trains on decision `d`: the allowed ones, `none`
/// left out unless `with_none`.
std::vector<int64_t> fair_pool(const search_space::Decision& d, bool with_none) {
  std::vector<int64_t> pool;
  for (const int64_t k : d.choices()) {
    if (with_none || d.candidates[k] != "none") pool.push_back(k);
  }
  return pool;
}

}  // namespace

double FairNas::passes_per_step(const search_space::SearchSpace& space) const {
  size_t m = 0;
  for (const auto& d : space.decisions()) m = std::max(m, fair_pool(d, opts_.sample_none).size());
  return static_cast<double>(m);
}

std::vector<search_space::PathSpec> FairNas::fair_paths() {
  const auto decisions = ctx_->space->decisions();
  // The structure: which decisions carry an op in a sampled architecture.
  const auto structure = ctx_->space->path_of(sample(*ctx_->rng));
  std::vector<std::vector<int64_t>> pools;
  size_t m = 0;
  for (const auto& d : decisions) {
    pools.push_back(fair_pool(d, opts_.sample_none));
    m = std::max(m, pools.back().size());
  }
  std::vector<search_space::PathSpec> paths(m);
  for (auto& p : paths) p.edges.resize(decisions.size());
  for (size_t d = 0; d < decisions.size(); ++d) {
    if (structure.edges[d].ops.empty()) continue;
    // A decision with fewer candidates than m (a chain block without
    // `zero`) repeats its permutation from the start: each of its
    // candidates runs once, some twice, per step.
    const auto n = static_cast<int64_t>(pools[d].size());
    const auto perm = ctx_->rng->permutation(n);
    for (size_t k = 0; k < m; ++k) paths[k].edges[d].ops = {pools[d][perm[k % n]]};
  }
  return paths;
}

StepStats FairNas::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  auto& net = *ctx_->supernet;
  net.train();
  clear_weight_grads();
  const auto paths = fair_paths();
  const bool same_batch = same_batch_;
  double loss_sum = 0, correct = 0;
  int64_t count = 0;
  for (size_t k = 0; k < paths.size(); ++k) {
    // m different batches: drawn from the training stream by index,
    // deterministically.
    const Batch b = same_batch || ctx_->train_loader == nullptr
                        ? train
                        : local_shard(ctx_->train_loader->cycling(
                              static_cast<int64_t>(ctx_->rng->uniform_int(1 << 30))));
    auto [loss, c] = loss_and_correct(net.forward(b.x, paths[k]), b.y);
    loss.backward();  // gradients accumulate over the m paths
    loss_sum += loss.item<double>() * b.size();
    correct += c;
    count += b.size();
  }
  reduce_weight_grads();
  torch::nn::utils::clip_grad_norm_(weights_, opts_.grad_clip);
  w_optimizer_->step();
  stats.train_loss = loss_sum / count;
  stats.train_correct = correct * train.size() / count;
  stats.train_count = train.size();
  return stats;
}

}  // namespace nas::strategies
