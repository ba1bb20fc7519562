#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/registry.h"
#include "data/dataset.h"
#include "search_space/architecture.h"
#include "search_space/search_space.h"

namespace nas::estimators {

/// How much to spend on one estimate (epochs of training, batches scored).
struct Fidelity {
  int64_t epochs = 0;   ///< 0: the estimator's own setting
  int64_t batches = 0;  ///< 0: all
};

/// Mean loss and accuracy over a number of examples.
struct EvalResult {
  double loss = 0;
  double accuracy = 0;  ///< fraction
  int64_t count = 0;
};

/// An estimate of an architecture's quality. A failed evaluation (NaN loss,
/// an architecture the estimator cannot place, a non-finite proxy) is a
/// result with `ok == false` and a message, not an exception: searches
/// record it and go on.
struct Estimate {
  bool ok = true;
  /// Stopped by SIGINT/SIGTERM before it finished: no result; the trial is
  /// redone on resume.
  bool interrupted = false;
  std::string message;
  std::string metric;  ///< what `value` is: "val_acc", "synflow", a table column
  double value = 0;
  /// What strategies maximise: `value`, or -`value` when lower is better.
  double score = 0;
  /// Seconds the estimate cost: measured, or the table's recorded cost.
  double seconds = 0;
  int64_t epochs = 0;  ///< training epochs spent (for epoch budgets)
  int64_t passes = 0;  ///< forward+backward batch passes spent (for pass budgets)
  nlohmann::json fidelity = nlohmann::json::object();  ///< e.g. {"epochs": 12}
  nlohmann::json fields = nlohmann::json::object();    ///< more measurements
  /// {"ok", "metric", "value", "score", "epochs", ...fields}, or {"ok":
  /// false, "message", "seconds"} for a failure (the trial line has the
  /// seconds of a success).
  nlohmann::json to_json() const;
};

/// What an estimator works on: the space, the run's data and sizes, where
/// to compute.
struct EstimatorContext {
  const search_space::SearchSpace* space = nullptr;
  /// The run's data (null when no estimator of the run needs it).
  const data::DataPair* data = nullptr;
  nlohmann::json data_options;  ///< the run's resolved `data` section
  /// Stand-alone network sizes: the space's evaluation defaults with the
  /// run's `network` section and the data's image size, channels and classes.
  search_space::NetworkOptions network;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

/// Estimates the performance of discrete architectures: training from
/// scratch, the trained supernet of a finished one-shot run, a benchmark
/// table, a zero-cost proxy at initialisation.
///
/// Contract for implementations:
/// - `attach` checks every input it will need (files, runs) and throws a
///   ConfigError naming the option, so a search fails before it starts;
/// - `evaluate` is deterministic given torch's generator (the loop seeds it
///   per trial) and never throws for a bad architecture or a diverging
///   network: it returns `ok == false` with a message.
class PerformanceEstimator {
 public:
  virtual ~PerformanceEstimator() = default;
  virtual void attach(const EstimatorContext& ctx) = 0;
  virtual Estimate evaluate(const search_space::Architecture& arch,
                            const Fidelity& fidelity) = 0;
  /// False when the estimator needs none of the run's data (a table, a
  /// supernet run with its own data): the loop then loads none.
  virtual bool needs_data() const { return true; }
  /// Training epochs one estimate costs (0: none), for `budget.epochs`.
  virtual int64_t epochs_per_estimate() const { return 0; }
  /// Forward+backward batch passes one estimate costs (0: none; valid
  /// after attach), for `budget.passes`.
  virtual int64_t passes_per_estimate() const { return 0; }
};

using EstimatorRegistry = core::Registry<PerformanceEstimator>;

/// Registers the built-in estimators, one line each.
void register_builtin_estimators(EstimatorRegistry& registry);

/// `score` from `value` and the direction ("higher is better" or not).
inline double score_of(double value, bool higher_is_better) {
  return higher_is_better ? value : -value;
}

/// Runs `body` on a fresh estimate of `metric` with `fidelity`, timed into
/// `seconds`: an exception becomes a failed estimate with its message, and
/// core::Interrupted an interrupted one (the contract of `evaluate`).
Estimate guarded_estimate(const std::string& metric, nlohmann::json fidelity,
                          const std::function<void(Estimate&)>& body);

}  // namespace nas::estimators
