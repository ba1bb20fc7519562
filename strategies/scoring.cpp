#include "strategies/scoring.h"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace nas::strategies {

namespace {

std::vector<torch::nn::BatchNorm2dImpl*> batch_norms(torch::nn::Module& net) {
  std::vector<torch::nn::BatchNorm2dImpl*> out;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      if (bn->options.track_running_stats()) out.push_back(bn);
    }
  }
  return out;
}

/// Re-estimates the BatchNorm statistics through `path` on `n` training
/// batches; the destructor puts the supernet's own statistics back.
class Recalibration {
 public:
  Recalibration(const SearchContext& ctx, int64_t n) {
    if (n <= 0) return;
    if (ctx.train_loader == nullptr) throw Error("BN recalibration needs training data");
    for (auto* bn : batch_norms(*ctx.supernet)) {
      saved_.push_back({bn, bn->running_mean.clone(), bn->running_var.clone(),
                        bn->num_batches_tracked.clone(), bn->options.momentum()});
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average
    }
  }
  /// The re-estimation itself; may throw (interrupt): the destructor still
  /// restores the statistics.
  void run(const SearchContext& ctx, const search_space::PathSpec& path, int64_t n) {
    if (n <= 0) return;
    auto& net = *ctx.supernet;
    net.train();
    const int64_t batches = std::min(n, ctx.train_loader->batches());
    for (int64_t i = 0; i < batches; ++i) {
      core::throw_if_interrupted("BatchNorm recalibration");
      net.forward(ctx.train_loader->batch(0, i).x, path);
    }
  }
  ~Recalibration() {
    for (auto& s : saved_) {
      s.bn->running_mean.copy_(s.mean);
      s.bn->running_var.copy_(s.var);
      s.bn->num_batches_tracked.copy_(s.tracked);
      s.bn->options.momentum(s.momentum);
    }
  }

 private:
  struct Saved {
    torch::nn::BatchNorm2dImpl* bn;
    torch::Tensor mean, var, tracked;
    c10::optional<double> momentum;
  };
  std::vector<Saved> saved_;
};

}  // namespace

EvalResult evaluate_path(const SearchContext& ctx, const search_space::PathSpec& path,
                         int64_t batches) {
  if (ctx.val_loader == nullptr) {
    throw Error("evaluating the supernet needs the validation data");
  }
  auto& net = *ctx.supernet;
  torch::NoGradGuard guard;
  net.eval();
  const int64_t n = batches > 0 ? std::min(batches, ctx.val_loader->batches())
                                : ctx.val_loader->batches();
  double loss = 0, correct = 0;
  EvalResult r;
  for (int64_t i = 0; i < n; ++i) {
    if (core::interrupted()) {
      net.train();
      throw core::Interrupted("the evaluation of the supernet");
    }
    const auto b = ctx.val_loader->batch(0, i);
    const auto logits = net.forward(b.x, path);
    loss += torch::nn::functional::cross_entropy(logits, b.y).item<double>() * b.size();
    correct += logits.argmax(1).eq(b.y).sum().item<double>();
    r.count += b.size();
  }
  net.train();
  if (r.count > 0) {
    r.loss = loss / r.count;
    r.accuracy = correct / r.count;
  }
  return r;
}

double score_architecture(const SearchContext& ctx,
                          const search_space::Architecture& arch,
                          const ScoreOptions& o) {
  const auto path = ctx.space->path_of(arch);
  torch::NoGradGuard guard;
  Recalibration recalibration(ctx, o.recalibrate);
  recalibration.run(ctx, path, o.recalibrate);
  return evaluate_path(ctx, path, o.batches).accuracy;
}

double selection_score(const SearchContext& ctx, const search_space::Architecture& arch,
                       const ScoreOptions& options) {
  return score_architecture(ctx, arch, options) - ctx.objective.penalty_of(arch);
}

search_space::Architecture select_by_sampling(const SearchContext& ctx,
                                              const Sampler& sample,
                                              const Selection& s, core::Rng& rng) {
  if (s.rounds < 1 || s.samples < 1 || s.top_k < 0) {
    throw ConfigError(fmt::format(
        "selection: expected rounds >= 1, samples >= 1 and top_k >= 0, found {}, {} "
        "and {}",
        s.rounds, s.samples, s.top_k));
  }
  core::Progress progress("scoring sampled architectures", s.rounds * s.samples);
  ScoreOptions full = s.options;
  full.batches = 0;
  double best = -std::numeric_limits<double>::infinity();
  search_space::Architecture answer;
  for (int64_t round = 0; round < s.rounds; ++round) {
    std::vector<std::pair<double, search_space::Architecture>> scored;
    for (int64_t i = 0; i < s.samples; ++i) {
      core::throw_if_interrupted("the final scoring of sampled architectures");
      auto arch = sample(rng);
      scored.emplace_back(selection_score(ctx, arch, s.options), std::move(arch));
      progress.update(round * s.samples + i + 1, "");
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (s.top_k > 0) {
      scored.resize(std::min<int64_t>(s.top_k, static_cast<int64_t>(scored.size())));
      for (auto& entry : scored) entry.first = selection_score(ctx, entry.second, full);
      std::stable_sort(scored.begin(), scored.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
    }
    if (scored.front().first > best) {
      best = scored.front().first;
      answer = scored.front().second;
    }
  }
  progress.finish(fmt::format("best of {} round(s): score {:.2f}% {}", s.rounds, 100 * best,
                              s.top_k > 0 ? "on the whole validation split"
                                          : "on the scoring batches"));
  return answer;
}

}  // namespace nas::strategies
