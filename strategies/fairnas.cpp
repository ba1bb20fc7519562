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

double FairNas::passes_per_step(const search_space::SearchSpace& space) const {
  const bool with_none = opts_.sample_none;
  const auto candidates = space.decisions().front().candidates;
  return static_cast<double>(
      std::count_if(candidates.begin(), candidates.end(),
                    [&](const std::string& c) { return with_none || c != "none"; }));
}

std::vector<search_space::PathSpec> FairNas::fair_paths() {
  const bool with_none = opts_.sample_none;
  const auto decisions = ctx_->space->decisions();
  // The structure: which decisions carry an op in a sampled architecture.
  const auto structure = ctx_->space->path_of(sample(*ctx_->rng));
  std::vector<int64_t> pool;
  for (int64_t k = 0; k < static_cast<int64_t>(decisions.front().candidates.size()); ++k) {
    if (with_none || decisions.front().candidates[k] != "none") pool.push_back(k);
  }
  const int64_t m = static_cast<int64_t>(pool.size());
  std::vector<search_space::PathSpec> paths(m);
  for (auto& p : paths) p.edges.resize(decisions.size());
  for (size_t d = 0; d < decisions.size(); ++d) {
    if (structure.edges[d].ops.empty()) continue;
    const auto perm = ctx_->rng->permutation(m);
    for (int64_t k = 0; k < m; ++k) paths[k].edges[d].ops = {pool[perm[k]]};
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
                        : ctx_->train_loader->cycling(
                              static_cast<int64_t>(ctx_->rng->uniform_int(1 << 30)));
    auto [loss, c] = loss_and_correct(net.forward(b.x, paths[k]), b.y);
    loss.backward();  // gradients accumulate over the m paths
    loss_sum += loss.item<double>() * b.size();
    correct += c;
    count += b.size();
  }
  torch::nn::utils::clip_grad_norm_(weights_, opts_.grad_clip);
  w_optimizer_->step();
  stats.train_loss = loss_sum / count;
  stats.train_correct = correct * train.size() / count;
  stats.train_count = train.size();
  return stats;
}

}  // namespace nas::strategies
