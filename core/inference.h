#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nas::core {

/// Statistics over independent samples (one value per seed): the numbers
/// of a `nas study` report. Non-finite inputs are the caller's to drop.

/// Mean, spread and a 95% (or `level`) confidence interval of the mean
/// from Student's t: mean ± t_{(1+level)/2, n-1} · s/√n, with s the sample
/// standard deviation (n - 1 in the denominator). With n = 1 there is no
/// spread: `std` and the interval are NaN and `has_ci` is false.
struct Summary {
  int64_t n = 0;
  double mean = 0, std = 0, median = 0, min = 0, max = 0;
  double ci_low = 0, ci_high = 0;
  bool has_ci = false;
};
Summary summarize(const std::vector<double>& v, double level = 0.95);

/// P(T <= t) for Student's t with `df` > 0 degrees of freedom (df may be
/// fractional, as Welch's is).
double student_t_cdf(double t, double df);
/// The p-quantile of Student's t (0 < p < 1).
double student_t_quantile(double p, double df);
/// P(Z > z) for a standard normal Z.
double normal_sf(double z);
/// The regularized incomplete beta function I_x(a, b).
double incomplete_beta(double a, double b, double x);

/// Welch's two-sample t-test of mean(a) - mean(b) (unequal variances,
/// Welch–Satterthwaite degrees of freedom), two-sided, with the `level`
/// confidence interval of the difference. `valid` is false (p and the
/// interval NaN, `why` says) when a sample has fewer than 2 values or
/// neither varies.
struct WelchResult {
  double diff = 0, t = 0, df = 0, p = 0, ci_low = 0, ci_high = 0;
  bool valid = false;
  std::string why;
};
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b,
                         double level = 0.95);

/// The Mann–Whitney U test, two-sided. `u` is U of `a` (the number of
/// pairs where a beats b, ties counting one half). Exact p (the null
/// distribution of U counted) when there are no ties and both samples have
/// at most 50 values; otherwise the normal approximation with the tie
/// correction and a continuity correction. `valid` is false when a sample
/// is empty.
struct MannWhitneyResult {
  double u = 0, p = 0;
  bool exact = false;
  bool valid = false;
  std::string why;
};
MannWhitneyResult mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

/// Holm's step-down adjustment of p-values for multiple comparisons, in the
/// input's order (NaN stays NaN and is not counted).
std::vector<double> holm_adjust(const std::vector<double>& p);

}  // namespace nas::core
