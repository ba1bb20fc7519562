#include "strategies/scoring.h"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace nas::strategies {

namespace {

estimators::OneShotModel model_of(const SearchContext& ctx) {
  return {ctx.space, ctx.supernet, ctx.train_loader, ctx.val_loader};
}

}  // namespace

EvalResult evaluate_path(const SearchContext& ctx, const search_space::PathSpec& path,
                         int64_t batches) {
  return estimators::evaluate_path(model_of(ctx), path, batches);
}

double score_architecture(const SearchContext& ctx,
                          const search_space::Architecture& arch,
                          const ScoreOptions& o) {
  return estimators::score_architecture(model_of(ctx), arch, o).accuracy;
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
