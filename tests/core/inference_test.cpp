// The statistics of `nas study` reports against values computed by SciPy
// 1.17 (scipy.stats: t.interval, ttest_ind(equal_var=False),
// mannwhitneyu(method='exact' / 'asymptotic'), t.ppf) and by hand (Holm).

#include <cmath>

#include <gtest/gtest.h>

#include "core/inference.h"

namespace nas::core {
namespace {

TEST(Inference, SummaryMeanStdAndTInterval) {
  const auto s = summarize({0.61, 0.58, 0.64});
  EXPECT_EQ(s.n, 3);
  EXPECT_NEAR(s.mean, 0.61, 1e-12);
  EXPECT_NEAR(s.std, 0.03, 1e-12);
  EXPECT_NEAR(s.median, 0.61, 1e-12);
  EXPECT_DOUBLE_EQ(s.min, 0.58);
  EXPECT_DOUBLE_EQ(s.max, 0.64);
  ASSERT_TRUE(s.has_ci);
  EXPECT_NEAR(s.ci_low, 0.53547586864749, 1e-9);
  EXPECT_NEAR(s.ci_high, 0.68452413135251, 1e-9);
}

TEST(Inference, OneValueHasNoSpreadOrInterval) {
  const auto s = summarize({0.7});
  EXPECT_EQ(s.n, 1);
  EXPECT_DOUBLE_EQ(s.mean, 0.7);
  EXPECT_DOUBLE_EQ(s.median, 0.7);
  EXPECT_FALSE(s.has_ci);
  EXPECT_TRUE(std::isnan(s.std));
  EXPECT_TRUE(std::isnan(s.ci_low));
  const auto none = summarize({});
  EXPECT_EQ(none.n, 0);
  EXPECT_TRUE(std::isnan(none.mean));
}

TEST(Inference, StudentT) {
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302652729749462, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 3.7), 2.8675207071911895, 1e-9);
  EXPECT_NEAR(student_t_cdf(-1.3, 2.5), 0.15024339463535416, 1e-10);
  EXPECT_NEAR(student_t_cdf(0, 7), 0.5, 1e-15);
  EXPECT_NEAR(student_t_quantile(0.025, 2), -4.302652729749462, 1e-9);
}

TEST(Inference, WelchAgainstScipy) {
  const auto r = welch_t_test({0.61, 0.58, 0.64}, {0.52, 0.55, 0.50});
  ASSERT_TRUE(r.valid) << r.why;
  EXPECT_NEAR(r.diff, 0.61 - 1.57 / 3, 1e-12);
  EXPECT_NEAR(r.t, 3.833490860027322, 1e-9);
  EXPECT_NEAR(r.df, 3.88256880733945, 1e-9);
  EXPECT_NEAR(r.p, 0.019616297227163598, 1e-9);
  EXPECT_NEAR(r.ci_low, 0.023141575994476346, 1e-9);
  EXPECT_NEAR(r.ci_high, 0.15019175733885698, 1e-9);
}

TEST(Inference, WelchRefusesTooFewOrConstantSamples) {
  const auto one = welch_t_test({0.5}, {0.4, 0.6});
  EXPECT_FALSE(one.valid);
  EXPECT_NE(one.why.find("2 or more"), std::string::npos) << one.why;
  EXPECT_TRUE(std::isnan(one.p));
  EXPECT_NEAR(one.diff, 0.0, 1e-12);
  const auto flat = welch_t_test({0.5, 0.5}, {0.4, 0.4});
  EXPECT_FALSE(flat.valid);
  EXPECT_NE(flat.why.find("varies"), std::string::npos) << flat.why;
}

TEST(Inference, MannWhitneyExactAgainstScipy) {
  const auto r = mann_whitney_u({0.61, 0.58, 0.64}, {0.52, 0.55, 0.50});
  ASSERT_TRUE(r.valid);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 9);
  EXPECT_NEAR(r.p, 0.1, 1e-12);
  const auto r2 = mann_whitney_u({3.1, 2.2, 5.0, 4.4, 1.0, 0.3, 7.7, 6.1},
                                 {8.0, 9.1, 2.5, 6.6, 7.2});
  EXPECT_TRUE(r2.exact);
  EXPECT_DOUBLE_EQ(r2.u, 7);
  EXPECT_NEAR(r2.p, 0.06526806526806528, 1e-12);
}

TEST(Inference, MannWhitneyTiesUseTheCorrectedNormalApproximation) {
  const auto r = mann_whitney_u({1, 2, 2, 3, 4}, {2, 3, 5, 5, 6, 7});
  ASSERT_TRUE(r.valid);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 4.5);
  EXPECT_NEAR(r.p, 0.06414661873440437, 1e-10);
  // Everything tied: no evidence of a difference.
  EXPECT_DOUBLE_EQ(mann_whitney_u({1, 1}, {1, 1, 1}).p, 1.0);
  EXPECT_FALSE(mann_whitney_u({}, {1.0}).valid);
}

TEST(Inference, HolmStepDown) {
  const double nan = std::nan("");
  const auto adj = holm_adjust({0.01, 0.04, 0.03, 0.2, nan});
  ASSERT_EQ(adj.size(), 5u);
  EXPECT_NEAR(adj[0], 0.04, 1e-12);  // 4 x 0.01
  EXPECT_NEAR(adj[2], 0.09, 1e-12);  // 3 x 0.03
  EXPECT_NEAR(adj[1], 0.09, 1e-12);  // 2 x 0.04 = 0.08, kept monotone
  EXPECT_NEAR(adj[3], 0.2, 1e-12);
  EXPECT_TRUE(std::isnan(adj[4]));
  EXPECT_DOUBLE_EQ(holm_adjust({0.6, 0.7})[0], 1.0);  // capped at 1
}

}  // namespace
}  // namespace nas::core
