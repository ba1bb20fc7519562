#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace nas::core {

namespace {

void check_pairs(const std::vector<double>& a, const std::vector<double>& b,
                 const char* what) {
  if (a.empty() || a.size() != b.size()) {
    throw std::invalid_argument(std::string(what) + ": expected two samples of the same, "
                                "non-zero length, found " + std::to_string(a.size()) +
                                " and " + std::to_string(b.size()));
  }
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

double rmse(const std::vector<double>& predicted, const std::vector<double>& measured) {
  check_pairs(predicted, measured, "rmse");
  double s = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    s += (predicted[i] - measured[i]) * (predicted[i] - measured[i]);
  }
  return std::sqrt(s / static_cast<double>(predicted.size()));
}

double mean_abs_pct_error(const std::vector<double>& predicted,
                          const std::vector<double>& measured) {
  check_pairs(predicted, measured, "mean_abs_pct_error");
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    if (measured[i] == 0) continue;
    s += std::abs(predicted[i] - measured[i]) / std::abs(measured[i]);
    ++n;
  }
  return n > 0 ? 100 * s / static_cast<double>(n) : 0.0;
}

double r_squared(const std::vector<double>& predicted, const std::vector<double>& measured) {
  check_pairs(predicted, measured, "r_squared");
  const double m = mean(measured);
  double res = 0, tot = 0;
  for (size_t i = 0; i < measured.size(); ++i) {
    res += (measured[i] - predicted[i]) * (measured[i] - predicted[i]);
    tot += (measured[i] - m) * (measured[i] - m);
  }
  return tot > 0 ? 1 - res / tot : (res == 0 ? 1.0 : 0.0);
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  check_pairs(a, b, "pearson");
  const double ma = mean(a), mb = mean(b);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i + j) / 2) + 1;
    for (size_t k = i; k <= j; ++k) r[order[k]] = rank;
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  check_pairs(a, b, "spearman");
  return pearson(ranks(a), ranks(b));
}

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  check_pairs(a, b, "kendall_tau");
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ties_a += 1;
      } else if (db == 0) {
        ties_b += 1;
      } else if ((da > 0) == (db > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denom =
      std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  return denom > 0 ? (concordant - discordant) / denom : 0.0;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) throw std::invalid_argument("quantile of an empty sample");
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace nas::core
