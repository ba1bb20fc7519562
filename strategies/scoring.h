#pragma once

#include <cstdint>
#include <vector>

#include "strategies/strategy.h"

namespace nas::strategies {

/// Scoring discrete architectures with the trained supernet (one-shot
/// evaluation), as random search with weight sharing and FairNAS select
/// their answer.
struct ScoreOptions {
  int64_t batches = 10;          ///< validation batches per score (0: all)
  int64_t recalibrate = 0;       ///< training batches to re-estimate BN statistics first
};

/// Validation accuracy of `arch` in the supernet (eval mode). With
/// `recalibrate` > 0 the BatchNorm running statistics are first
/// re-estimated on that many training batches through the architecture's
/// path (cumulative average); the supernet's statistics are restored after.
double score_architecture(const SearchContext& ctx,
                          const search_space::Architecture& arch,
                          const ScoreOptions& options);

/// Li & Talwalkar's selection: score `samples` uniform architectures on
/// `options.batches` validation batches, re-score the best `top_k` on the
/// whole validation split, return the best of those (ties: the earlier).
search_space::Architecture select_by_sampling(const SearchContext& ctx,
                                              int64_t samples, int64_t top_k,
                                              const ScoreOptions& options);

}  // namespace nas::strategies
