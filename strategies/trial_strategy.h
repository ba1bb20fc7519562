#pragma once

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/registry.h"
#include "core/rng.h"
#include "search_space/search_space.h"

namespace nas::strategies {

/// What a trial strategy is attached to. The loop owns everything.
struct TrialContext {
  const search_space::SearchSpace* space = nullptr;
  core::Rng* rng = nullptr;  ///< the run's stream (checkpointed)
};

/// An evaluated proposal, as the strategy learns from it.
struct TrialOutcome {
  search_space::Architecture arch;
  bool ok = true;
  /// Fitness, higher is better: the estimate's score minus the objective's
  /// penalty (latency, a hard limit); -infinity for a failed estimate.
  double score = -std::numeric_limits<double>::infinity();
};

/// A black-box strategy: it proposes discrete architectures and learns from
/// their estimates (ask/tell). The trial loop drives every one:
///
///   attach(ctx); until the budget is spent: a = propose(); estimate a;
///   tell({a, ok, score}).
///
/// Contract for implementations:
/// - all randomness comes from `ctx.rng`, so the same seed gives the same
///   proposals;
/// - `save` returns every piece of state, so that `load` + the remaining
///   trials give exactly the run that was not interrupted (the loop
///   checkpoints after each `tell`);
/// - `propose` returns a valid architecture of the space; `remaining()`
///   says when a strategy with a finite list has nothing left.
class TrialStrategy {
 public:
  virtual ~TrialStrategy() = default;
  virtual void attach(const TrialContext& ctx) = 0;
  virtual search_space::Architecture propose() = 0;
  virtual void tell(const TrialOutcome& outcome) = 0;
  /// Fields for the proposal's line in trials.jsonl (e.g. how it was made).
  virtual nlohmann::json proposal_info() const { return nlohmann::json::object(); }
  /// Proposals left; -1: unlimited.
  virtual int64_t remaining() const { return -1; }
  virtual nlohmann::json save() const = 0;
  virtual void load(const nlohmann::json& state) = 0;
};

using TrialStrategyRegistry = core::Registry<TrialStrategy>;

/// Registers `random`, `evolution`, `reinforce` and `list`, one line each.
void register_builtin_trial_strategies(TrialStrategyRegistry& registry);

}  // namespace nas::strategies
