#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/registry.h"
#include "data/dataset.h"
#include "search_space/architecture.h"
#include "search_space/search_space.h"

namespace nas::estimators {

/// How much to spend on one estimate (epochs of training, batches scored).
struct Fidelity {
  int64_t epochs = 0;   ///< 0: the estimator's own default
  int64_t batches = 0;  ///< 0: all
};

/// An estimate of an architecture's quality. A failed evaluation (NaN loss,
/// out of memory, invalid architecture) is a result with `ok == false` and a
/// message, not an exception: strategies cope with it.
struct Estimate {
  bool ok = true;
  std::string message;
  double accuracy = 0;  ///< fraction in [0, 1]
  double loss = 0;
  double seconds = 0;
  nlohmann::json extra;
};

/// What an estimator works on: the space, the data and where to compute.
struct EstimatorContext {
  const search_space::SearchSpace* space = nullptr;
  const data::DataPair* data = nullptr;
  nlohmann::json data_options;  ///< the run's resolved `data` section
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
};

/// Estimates the performance of discrete architectures (one-shot supernet,
/// training from scratch, a lookup table).
class PerformanceEstimator {
 public:
  virtual ~PerformanceEstimator() = default;
  virtual void attach(const EstimatorContext& ctx) = 0;
  virtual Estimate evaluate(const search_space::Architecture& arch,
                            const Fidelity& fidelity) = 0;
};

using EstimatorRegistry = core::Registry<PerformanceEstimator>;

/// Registers the built-in estimators, one line each.
void register_builtin_estimators(EstimatorRegistry& registry);

}  // namespace nas::estimators
