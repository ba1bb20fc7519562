#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "estimators/one_shot_eval.h"
#include "strategies/strategy.h"

namespace nas::strategies {

/// Scoring discrete architectures with the trained supernet (one-shot
/// evaluation), as random search with weight sharing and FairNAS select
/// their answer.
using estimators::ScoreOptions;

/// Mean loss and accuracy of the supernet through `path` on the first
/// `batches` validation batches (0: all), in eval mode without gradients.
using estimators::EvalResult;
EvalResult evaluate_path(const SearchContext& ctx, const search_space::PathSpec& path,
                         int64_t batches);

/// Validation accuracy of `arch` in the supernet (eval mode). With
/// `recalibrate` > 0 the BatchNorm running statistics are first
/// re-estimated on that many training batches through the architecture's
/// path (cumulative average); the supernet's statistics are restored after.
/// (The implementation is estimators::score_architecture, shared with the
/// `supernet` estimator.)
double score_architecture(const SearchContext& ctx,
                          const search_space::Architecture& arch,
                          const ScoreOptions& options);

/// What selections rank by: `score_architecture` minus the objective's
/// penalty (`ctx.objective.penalty`, e.g. lambda * latency).
double selection_score(const SearchContext& ctx, const search_space::Architecture& arch,
                       const ScoreOptions& options);

/// How to pick an answer by sampling and scoring.
/// - Li & Talwalkar (randomNAS_release `get_eval_arch`): `rounds` rounds; in
///   each, score `samples` architectures on `options.batches` validation
///   batches, re-score the best `top_k` on the whole validation split and
///   keep the best; the answer is the best of the rounds' winners.
/// - AutoDL's RSPS (`search_find_best`): one round, `top_k` 0 (no
///   re-scoring): the best of `samples` scores.
struct Selection {
  int64_t rounds = 1;
  int64_t samples = 100;
  int64_t top_k = 10;
  ScoreOptions options;
};
using Sampler = std::function<search_space::Architecture(core::Rng&)>;

/// Selects an architecture as `selection` says, drawing from `sample` with
/// `rng`; ties go to the earlier architecture.
search_space::Architecture select_by_sampling(const SearchContext& ctx,
                                              const Sampler& sample,
                                              const Selection& selection,
                                              core::Rng& rng);

}  // namespace nas::strategies
