#pragma once

#include <vector>

namespace nas::core {

/// Statistics over paired samples (predicted vs measured, one score vs
/// another). Every function expects two vectors of the same, non-zero
/// length and throws std::invalid_argument otherwise.

/// Root mean square of a - b.
double rmse(const std::vector<double>& predicted, const std::vector<double>& measured);
/// Mean of |predicted - measured| / |measured| in percent (pairs with
/// measured == 0 are skipped).
double mean_abs_pct_error(const std::vector<double>& predicted,
                          const std::vector<double>& measured);
/// Coefficient of determination of `predicted` as a model of `measured`:
/// 1 - SS_res / SS_tot (1: perfect; 0: no better than the mean).
double r_squared(const std::vector<double>& predicted, const std::vector<double>& measured);
/// Pearson correlation (0 when either side is constant).
double pearson(const std::vector<double>& a, const std::vector<double>& b);
/// Spearman rank correlation: Pearson of the ranks, ties given their mean
/// rank.
double spearman(const std::vector<double>& a, const std::vector<double>& b);
/// Kendall's tau-b (ties in either vector handled as tau-b does), O(n^2).
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b);

/// Ranks 1..n, ties given their mean rank.
std::vector<double> ranks(const std::vector<double>& v);
/// The q-quantile (0..1) with linear interpolation; throws on empty input.
double quantile(std::vector<double> v, double q);
inline double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

}  // namespace nas::core
