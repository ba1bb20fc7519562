#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hardware/cost_table.h"
#include "search_space/search_space.h"

namespace nas::hardware {

/// The config section `objective` with every key and its default:
///
///   latency: {table: "" | FILE | "published:DEVICE", data: "" (the
///             published CSV; "" = default_latency_data()), lambda: 0,
///             mode: "auto" | "additive" | "proxyless" | "fbnet" |
///             "single_path", target_ms: 0 (auto:
///             the expected latency of uniform probabilities), beta: 0.3,
///             max_ms: 0 (no limit)}
///   flops:   {lambda: 0, max_m: 0}   (millions of multiply-adds, SNAS formulas)
///   params:  {lambda: 0, max_m: 0}   (millions of weights, exact)
nlohmann::json objective_defaults();

/// Range and value checks of a resolved section; ConfigError naming the
/// key (objective.latency.lambda, ...), what was expected and what was found.
void check_objective(const nlohmann::json& section);

/// One cost term.
struct CostTerm {
  std::string name;   ///< latency | flops | params
  CostTable table;
  double lambda = 0;
  std::string mode = "additive";  ///< additive | proxyless | fbnet | single_path
  double target = 0;  ///< proxyless: the reference value (table units)
  double beta = 0;
  double max = 0;     ///< selections: hard limit (0: none)

  /// Log keys: latency_ms / flops_m / params_m, and expected_<key>.
  std::string key() const;
};

/// The costs a search adds to its own objective, built from the config:
/// - additive: loss + lambda * E[cost](P);
/// - proxyless (ProxylessNAS `mul#log`): loss * (log E / log target)^(lambda
///   * beta), E clamped at >= 1.01 (the log must stay positive); lambda 1
///   is the reference's form, lambda 0 switches it off;
/// - fbnet (FBNet's `CE * alpha * log(LAT)^beta`): loss * lambda * (log
///   E)^beta, E the whole network's expected latency (the table's fixed
///   part included), clamped at >= 1.01 ms;
/// - single_path (Single-Path NAS's `CE + lambda * log(R)`): loss + lambda
///   * log E, E the whole network's expected latency (the reference writes
///   runtime_lambda_val * 1e3, 0.020 * 1e3 = 20 in its README's search);
/// - selections (random_ws, FairNAS): accuracy - lambda * cost(arch), and
///   architectures over `max` rank below every one within it.
/// A table with lambda 0 and no limit is reported but changes nothing.
class CostObjective {
 public:
  CostObjective() = default;
  /// From the resolved section. `strategy` resolves mode "auto" (proxyless
  /// for the proxyless strategy, fbnet for fbnet, single_path for
  /// single_path, additive otherwise); `sizes` are the
  /// stand-alone network's sizes for the FLOPs and parameter tables.
  static CostObjective from_config(const nlohmann::json& section,
                                   const search_space::SearchSpace& space,
                                   const std::string& strategy,
                                   const search_space::NetworkOptions& sizes);

  /// From terms built by hand (tests, other tools).
  static CostObjective from_terms(const search_space::SearchSpace& space,
                                  std::vector<CostTerm> terms);

  bool empty() const { return terms_.empty(); }
  /// True when some term changes the loss that trains alpha.
  bool trains() const;
  /// True when some term changes selections.
  bool selects() const;
  const std::vector<CostTerm>& terms() const { return terms_; }

  torch::Tensor apply(const torch::Tensor& loss, const torch::Tensor& probs) const;
  double penalty(const search_space::Architecture& arch) const;
  /// {"expected_latency_ms": E(probs) (when probs is defined), "latency_ms":
  /// cost(arch), ...} for every term; with a published table also
  /// "model_latency_ms", the additive model's value for arch.
  nlohmann::json report(const torch::Tensor& probs, const search_space::Architecture& arch) const;
  /// One line per term for the run's log.
  std::vector<std::string> describe() const;

 private:
  const search_space::SearchSpace* space_ = nullptr;
  std::vector<CostTerm> terms_;
};

}  // namespace nas::hardware
