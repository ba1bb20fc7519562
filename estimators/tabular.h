#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/option_table.h"
#include "estimators/estimator.h"

namespace nas::estimators {

/// A benchmark table read into memory: one row per architecture, keyed by
/// the space's canonical text (parsed, then formatted: "|a~0|+..." and a
/// Python genotype match however the file spaced them).
struct BenchmarkTable {
  std::string file;
  std::vector<std::string> columns;  ///< metric columns (numeric), file order
  std::unordered_map<std::string, std::vector<double>> rows;  ///< text -> values
  std::unordered_map<std::string, int64_t> lines;  ///< text -> its line in the file
  /// The column's index; ConfigError naming the option and listing the
  /// columns otherwise.
  size_t column(const std::string& name, const std::string& option) const;
};

/// Reads a CSV (header line; RFC 4180 quotes, so DARTS genotypes with
/// commas fit) or JSONL (one object per line) file with an architecture
/// column `arch_column` and numeric metric columns. Every architecture is
/// parsed by `space`; a row that does not parse, a missing or non-numeric
/// value, a duplicate architecture, an empty or unreadable file is a
/// ConfigError that names the file, the line and what was found.
BenchmarkTable read_benchmark_table(const std::string& file, const std::string& arch_column,
                                    const search_space::SearchSpace& space);

/// The `tabular` estimator: an architecture's `metric` looked up in a
/// user's benchmark file (options `file`, `metric`, `higher_is_better`,
/// `arch_column`, and `seconds`: a column holding each architecture's
/// evaluation cost, which then counts against a `budget.seconds` as the
/// NAS-Bench-201 baselines simulate time). An architecture missing from
/// the file is a failed estimate that names it.
struct TabularOptions {
  std::string file;  ///< checked when the estimator attaches (it names the flag to set)
  std::string metric;
  bool higher_is_better = true;
  std::string arch_column = "arch";
  std::string seconds;
};

class TabularEstimator : public PerformanceEstimator {
 public:
  explicit TabularEstimator(const nlohmann::json& options);
  static const core::OptionTable<TabularOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const EstimatorContext& ctx) override;
  Estimate evaluate(const search_space::Architecture& arch,
                    const Fidelity& fidelity) override;
  bool needs_data() const override { return false; }

 private:
  TabularOptions opts_;
  const search_space::SearchSpace* space_ = nullptr;
  BenchmarkTable table_;
  size_t metric_ = 0;
  int64_t seconds_ = -1;  ///< column of the recorded cost, -1: none
  bool higher_is_better_ = true;
};

}  // namespace nas::estimators
