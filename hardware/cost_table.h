#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "search_space/search_space.h"

namespace nas::hardware {

/// An additive cost model of a space's stand-alone networks:
///
///   cost(arch) = fixed + sum over the ops op_k the architecture puts on
///                decision d of cost[d][k]
///
/// (`none` costs 0). `cost[d][k]` is the sum over every place decision d
/// appears in the network (a DARTS normal-cell edge appears in each normal
/// cell, at its own shape). The same numbers give the differentiable
/// expected cost of op probabilities P [D, K]:
///
///   E[cost](P) = fixed + sum_d sum_k P[d, k] * cost[d][k].
///
/// In the DARTS space E counts every edge of a cell weighted by its
/// probabilities, while a derived cell keeps two inputs per node: E is an
/// upper-side approximation of the derived network's cost (see
/// `nas profile --validate`, which reports both).
///
/// `exact` maps an architecture's text to a measured whole-network value
/// (published tables): `predict` returns it when present.
struct CostTable {
  std::string kind = "latency";  ///< latency | flops | params
  std::string unit = "ms";       ///< ms | M (millions)
  std::string space;
  std::string source;            ///< file, "published:DEVICE", "profiled", "analytic"
  nlohmann::json sizes = nlohmann::json::object();  ///< network sizes it describes
  std::vector<std::string> decisions;
  std::vector<std::string> candidates;
  double fixed = 0;
  std::vector<std::vector<double>> cost;  ///< [decisions][candidates]
  std::unordered_map<std::string, double> exact;
  /// Everything else the file carries: device, entries, validation, fit.
  nlohmann::json meta = nlohmann::json::object();

  /// ConfigError naming `where` unless the table's space, decisions and
  /// candidates are those of `space`.
  void check_space(const search_space::SearchSpace& space, const std::string& where) const;
  /// The additive model's value for `arch`.
  double additive(const search_space::SearchSpace& space,
                  const search_space::Architecture& arch) const;
  /// The exact value when the table has one for `arch`, else `additive`.
  double predict(const search_space::SearchSpace& space,
                 const search_space::Architecture& arch) const;
  /// E[cost](probs), differentiable in `probs` [D, K] (any device/dtype).
  torch::Tensor expected(const torch::Tensor& probs) const;
  /// `cost` as a [D, K] float64 tensor.
  torch::Tensor cost_tensor() const;

  /// The file form (version 1): {"format": "naskit-cost-table", "kind",
  /// "unit", "space", "sizes", "fixed", "decisions": [{"name", "cost":
  /// {op: value}}], ...meta}. `exact` is not written (published tables are
  /// read from their data file).
  nlohmann::json to_json() const;
  /// ConfigError naming `where` and the problem for anything malformed.
  static CostTable from_json(const nlohmann::json& j, const std::string& where);
};

void write_cost_table(const std::string& path, const CostTable& table);
/// Reads a table file; ConfigError naming the file when it is missing,
/// not JSON, or not a cost table.
CostTable read_cost_table(const std::string& path);

}  // namespace nas::hardware
