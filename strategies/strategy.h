#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "core/batch.h"
#include "core/registry.h"
#include "core/rng.h"
#include "data/loader.h"
#include "search_space/search_space.h"

namespace nas::core {
class ProcessGroup;
}

namespace nas::strategies {

/// How cost objectives reach a strategy (hardware::CostObjective fills it).
struct SearchObjective {
  /// The loss that trains alpha, from the task loss (a scalar) and the op
  /// probabilities [decisions, candidates]; differentiable in both (e.g.
  /// loss + lambda * E[latency], or ProxylessNAS's loss * (log E / log
  /// target)^beta). Strategies that train alpha call it. Null: the task
  /// loss alone.
  std::function<torch::Tensor(const torch::Tensor& loss, const torch::Tensor& probs)> loss;
  /// What a discrete architecture's selection score (an accuracy in 0..1)
  /// loses: lambda * cost, plus a large amount over a hard limit. Strategies
  /// that select by scoring (random_ws, FairNAS) subtract it. Null: 0.
  std::function<double(const search_space::Architecture&)> penalty;

  torch::Tensor apply(const torch::Tensor& task_loss, const torch::Tensor& probs) const {
    return loss ? loss(task_loss, probs) : task_loss;
  }
  double penalty_of(const search_space::Architecture& arch) const {
    return penalty ? penalty(arch) : 0.0;
  }
};

/// What a strategy is attached to for a search. The loop owns everything;
/// the strategy keeps pointers.
struct SearchContext {
  const search_space::SearchSpace* space = nullptr;
  search_space::Supernet supernet;  ///< shared by every one-shot strategy
  torch::Device device = torch::kCPU;
  core::Rng* rng = nullptr;         ///< the run's stream (checkpointed)
  /// The run's seed: logging and monitoring draw from streams derived from
  /// it (never from `rng`), so they cannot change the search.
  uint64_t seed = 0;
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  /// The search's data, for strategies that score architectures at the end
  /// (may be null in unit tests).
  const data::Loader* train_loader = nullptr;
  const data::Loader* val_loader = nullptr;
  /// Cost objectives (latency, FLOPs, parameters), set by the loop from
  /// the config's `objective` section; empty hooks: none.
  SearchObjective objective;
  /// A data-parallel search's ranks (null: one process). The loop hands
  /// each rank its shard of every batch; a strategy averages its
  /// gradients over the ranks right before it applies them (weights and
  /// architecture parameters alike), so every rank keeps the same state.
  core::ProcessGroup* group = nullptr;
};

/// Losses and accuracies of one step; a count of 0 means "not measured".
struct StepStats {
  double train_loss = 0, train_correct = 0;
  int64_t train_count = 0;
  double val_loss = 0, val_correct = 0;
  int64_t val_count = 0;
};

/// A search strategy, driven by one loop for all of them:
///
///   attach(ctx); for each epoch: new_epoch(e); for each step:
///   step(train_batch, val_batch); after the last epoch: finish(); best().
///
/// Contract for implementations:
/// - all randomness comes from torch's generator or `ctx.rng`, so the same
///   seed gives the same search;
/// - `save` writes every piece of state (architecture parameters, optimizer
///   states, schedules) so that `load` + the remaining epochs give exactly
///   the run that was not interrupted;
/// - `step` returns finite losses, or the loop stops the run with an error;
/// - `best()` is the strategy's current discrete answer, valid in its space.
class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  /// What the strategy needs of the supernet, set on its sizes before the
  /// loop builds it (Single-Path NAS: superkernels); a ConfigError where
  /// `space` cannot give it. Nothing by default.
  virtual void configure_supernet(const search_space::SearchSpace& /*space*/,
                                  search_space::NetworkOptions& /*sizes*/) const {}
  virtual void attach(SearchContext& ctx) = 0;
  virtual void new_epoch(int64_t epoch) = 0;
  virtual StepStats step(const Batch& train, const Batch& val) = 0;
  /// After the last step of epoch `epoch`: extra fields for that epoch's
  /// log line (e.g. an eval-mode pass over the validation split). Must not
  /// consume `ctx.rng` or change what the search does next.
  virtual nlohmann::json end_epoch(int64_t /*epoch*/) { return nlohmann::json::object(); }
  /// True when the strategy trains its weights on the whole training set
  /// (single-level, as SNAS's code): the loop then gives it every training
  /// image as `train` and the test split as `val` (for monitoring only).
  virtual bool uses_whole_training_set() const { return false; }
  /// Forward+backward passes through the supernet one step makes in `space`
  /// (after any warm-up): e.g. 2 for first-order DARTS (the alpha
  /// step on validation data, the weight step), m for FairNAS. The loop
  /// counts the passes actually made (SupernetImpl::passes); this figure
  /// turns an equal-passes budget into epochs before the run starts.
  virtual double passes_per_step(const search_space::SearchSpace& /*space*/) const { return 1; }
  /// Work after the last epoch (e.g. final selection by sampling).
  virtual void finish() {}
  virtual search_space::Architecture best() const = 0;
  /// The op probabilities [decisions, candidates] the strategy holds
  /// (softmax of alpha), for expected costs in the log; undefined for
  /// strategies without architecture weights.
  virtual torch::Tensor op_probabilities() const { return {}; }
  /// For the epoch log: architecture weights, temperature, learning rates.
  virtual nlohmann::json state() const = 0;
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

using StrategyRegistry = core::Registry<SearchStrategy>;

/// Registers every built-in strategy, one line each.
void register_builtin_strategies(StrategyRegistry& registry);

}  // namespace nas::strategies
