#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/config.h"

namespace nas::experiments {

/// Reads a study directory (study.json and the run directories alone, so
/// it can be rerun at any time, also while the study runs) and writes
/// report.json, report.md and figures/*.svg into it. Returns report.json's
/// content. Failed, unfinished or missing runs are named in the report and
/// left out of the statistics.
///
/// Statistics: per strategy, mean ± sample std, median, min/max and a 95%
/// Student-t interval of the mean over seeds (no interval for n = 1); each
/// strategy against the baseline: the difference of means with Welch's 95%
/// interval, Welch's t-test (p Holm-adjusted over the strategies) and the
/// Mann–Whitney U test (exact without ties). A difference is called
/// significant when the Holm-adjusted Welch p is below 0.05.
nlohmann::json study_report(const std::string& dir, const Registries& registries);

/// True for ops without weights (none, skip/identity, pooling): a cell full
/// of them is the parameter-free collapse DARTS is known for.
bool parameter_free_op(const std::string& op);

}  // namespace nas::experiments
