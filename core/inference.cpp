#include "core/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/stats.h"

namespace nas::core {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

/// Sample variance (n - 1); needs n >= 2.
double variance_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

/// The continued fraction of I_x(a, b) (modified Lentz), valid for
/// x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    // Even step: m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double coef = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + coef * d;
    c = 1 + coef / c;
    d = std::fabs(d) < tiny ? 1 / tiny : 1 / d;
    if (std::fabs(c) < tiny) c = tiny;
    h *= d * c;
    // Odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    coef = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + coef * d;
    c = 1 + coef / c;
    d = std::fabs(d) < tiny ? 1 / tiny : 1 / d;
    if (std::fabs(c) < tiny) c = tiny;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < eps) break;
  }
  return h;
}

/// The number of ways each U in 0..n1*n2 arises when n1 + n2 distinct
/// values are split into samples of n1 and n2 (the null distribution of
/// U, unnormalised): c(i, j, u) = c(i - 1, j, u - j) + c(i, j - 1, u).
std::vector<double> u_counts(int64_t n1, int64_t n2) {
  const int64_t size = n1 * n2 + 1;
  // row[j][u] holds c(i, j, u) for the current i.
  std::vector<std::vector<double>> prev(n2 + 1, std::vector<double>(size, 0.0));
  for (auto& r : prev) r[0] = 1;  // c(0, j, 0) = 1
  for (int64_t i = 1; i <= n1; ++i) {
    std::vector<std::vector<double>> row(n2 + 1, std::vector<double>(size, 0.0));
    row[0][0] = 1;  // c(i, 0, 0) = 1
    for (int64_t j = 1; j <= n2; ++j) {
      for (int64_t u = 0; u <= i * j; ++u) {
        row[j][u] = (u >= j ? prev[j][u - j] : 0.0) + row[j - 1][u];
      }
    }
    prev = std::move(row);
  }
  return prev[n2];
}

}  // namespace

Summary summarize(const std::vector<double>& v, double level) {
  Summary s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) {
    s.mean = s.std = s.median = s.min = s.max = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  s.mean = mean_of(v);
  s.median = median(v);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  if (v.size() < 2) {
    s.std = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  s.std = std::sqrt(variance_of(v));
  const double half = student_t_quantile(0.5 + level / 2, static_cast<double>(s.n - 1)) * s.std /
                      std::sqrt(static_cast<double>(s.n));
  s.ci_low = s.mean - half;
  s.ci_high = s.mean + half;
  s.has_ci = true;
  return s;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_fraction(b, a, 1 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
  double lo = -1, hi = 1;
  while (student_t_cdf(lo, df) > p) lo *= 2;
  while (student_t_cdf(hi, df) < p) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * std::max(1.0, std::fabs(hi)); ++i) {
    const double mid = (lo + hi) / 2;
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b, double level) {
  WelchResult r;
  r.t = r.df = r.p = r.ci_low = r.ci_high = kNaN;
  r.diff = a.empty() || b.empty() ? kNaN : mean_of(a) - mean_of(b);
  if (a.size() < 2 || b.size() < 2) {
    r.why = fmt::format("Welch's t needs 2 or more values per sample, found {} and {}", a.size(),
                        b.size());
    return r;
  }
  const double va = variance_of(a) / static_cast<double>(a.size());
  const double vb = variance_of(b) / static_cast<double>(b.size());
  if (va + vb <= 0) {
    r.why = "neither sample varies";
    return r;
  }
  const double se = std::sqrt(va + vb);
  r.t = r.diff / se;
  r.df =
      (va + vb) * (va + vb) /
      (va * va / static_cast<double>(a.size() - 1) + vb * vb / static_cast<double>(b.size() - 1));
  r.p = std::min(1.0, 2 * student_t_cdf(-std::fabs(r.t), r.df));
  const double half = student_t_quantile(0.5 + level / 2, r.df) * se;
  r.ci_low = r.diff - half;
  r.ci_high = r.diff + half;
  r.valid = true;
  return r;
}

MannWhitneyResult mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitneyResult r;
  r.u = r.p = kNaN;
  if (a.empty() || b.empty()) {
    r.why = fmt::format("Mann-Whitney U needs values in both samples, found {} and {}", a.size(),
                        b.size());
    return r;
  }
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  const auto rank = ranks(pooled);
  const auto n1 = static_cast<int64_t>(a.size()), n2 = static_cast<int64_t>(b.size());
  const double n = static_cast<double>(n1 + n2);
  const double r1 = std::accumulate(rank.begin(), rank.begin() + n1, 0.0);
  r.u = r1 - static_cast<double>(n1 * (n1 + 1)) / 2;
  const double u_max = std::max(r.u, static_cast<double>(n1 * n2) - r.u);
  // Tie groups: sum of t^3 - t.
  std::sort(pooled.begin(), pooled.end());
  double ties = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j] == pooled[i]) ++j;
    const double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    i = j;
  }
  r.valid = true;
  if (ties == 0 && n1 <= 50 && n2 <= 50) {
    const auto counts = u_counts(n1, n2);
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    double upper = 0;  // P(U >= u_max)
    for (auto u = static_cast<int64_t>(u_max); u <= n1 * n2; ++u) upper += counts[u];
    r.p = std::min(1.0, 2 * upper / total);
    r.exact = true;
    return r;
  }
  const double mu = static_cast<double>(n1 * n2) / 2;
  const double sigma =
      std::sqrt(static_cast<double>(n1 * n2) / 12 * ((n + 1) - ties / (n * (n - 1))));
  r.p = sigma > 0 ? std::min(1.0, 2 * normal_sf((u_max - mu - 0.5) / sigma)) : 1.0;
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!std::isnan(p[i])) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> out(p.size(), kNaN);
  const double m = static_cast<double>(order.size());
  double running = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(k)) * p[order[k]]));
    out[order[k]] = running;
  }
  return out;
}

}  // namespace nas::core
