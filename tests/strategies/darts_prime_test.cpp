// DARTS-PRIME: the activations, the proximity and ADMM regularizers against
// hand computations on a toy space, the dynamic and fixed schedules, and
// CRB's masked ops that never run again.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "search_space/mixed_op.h"
#include "strategies/darts_prime.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

std::unique_ptr<Harness> toy_prime(nlohmann::json options, int64_t epochs = 4) {
  auto toy = std::make_unique<testing::ToySpace>(2, 5);
  auto data = toy->make_data(256, 3, 1);
  if (options.value("activation", "softmax") == "crb") options["crb_node_bn"] = false;
  return std::make_unique<Harness>("darts_prime", std::move(options), std::move(toy),
                                   search_space::NetworkOptions{}, std::move(data), epochs);
}

DartsPrime& prime_of(Harness& h) { return static_cast<DartsPrime&>(*h.strategy); }

void set_alpha(DartsPrime& s, const std::vector<std::vector<double>>& rows) {
  torch::NoGradGuard guard;
  auto a = s.alpha();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t k = 0; k < rows[i].size(); ++k) {
      a[static_cast<int64_t>(i)][static_cast<int64_t>(k)] = rows[i][k];
    }
  }
}

std::vector<double> softmax(const std::vector<double>& x) {
  double z = 0;
  for (double v : x) z += std::exp(v);
  std::vector<double> p;
  for (double v : x) p.push_back(std::exp(v) / z);
  return p;
}

const std::vector<std::vector<double>> kAlpha{{0.0, 1.0, 2.0, 0.0, -0.5},
                                              {0.5, 0.0, 0.0, 1.5, 0.25}};

// prox: (t / T) rho / 2 ||softmax(alpha) - onehot(argmax)||, and its alpha
// gradient through the softmax's Jacobian, by hand.
TEST(DartsPrime, ProximityRegularizerAndGradientByHand) {
  auto h = toy_prime({{"rho", 0.3}});
  auto& s = prime_of(*h);
  s.new_epoch(2);  // clock 2 of 4 epochs: the weight is 1/2
  EXPECT_DOUBLE_EQ(s.clock(), 2.0);
  set_alpha(s, kAlpha);
  const std::vector<int64_t> best{2, 3};
  std::vector<std::vector<double>> p, diff;
  double sq = 0;
  for (size_t i = 0; i < 2; ++i) {
    p.push_back(softmax(kAlpha[i]));
    diff.emplace_back();
    for (int64_t k = 0; k < 5; ++k) {
      diff[i].push_back(p[i][k] - (k == best[i] ? 1.0 : 0.0));
      sq += diff[i].back() * diff[i].back();
    }
  }
  const double norm = std::sqrt(sq), c = 0.5 * 0.3 / 2;
  const auto a = s.activation();
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t k = 0; k < 5; ++k) EXPECT_NEAR(a[i][k].item<double>(), p[i][k], 1e-6);
  }
  const auto reg = s.regularizer(a);
  EXPECT_NEAR(reg.item<double>(), c * norm, 1e-6);
  const auto grad = torch::autograd::grad({reg}, {s.alpha()})[0];
  for (size_t i = 0; i < 2; ++i) {
    const auto& g = diff[i];  // d reg / d p = c (p - d) / ||p - d||
    double pg = 0;
    for (int64_t k = 0; k < 5; ++k) pg += p[i][k] * g[k];
    for (int64_t k = 0; k < 5; ++k) {
      const double expected = c / norm * p[i][k] * (g[k] - pg);
      EXPECT_NEAR(grad[static_cast<int64_t>(i)][k].item<double>(), expected, 1e-6) << i << k;
    }
  }
}

// crb: clamp(alpha, 0, 1) with `none` left out; the ops whose alpha reaches
// 0 are masked for good, never run again, and keep weight 0.
TEST(DartsPrime, CrbClampsMasksAndMaskedOpsNeverRun) {
  auto h = toy_prime({{"activation", "crb"}, {"schedule", "fixed"}, {"sched_freq", 1},
                      {"reg", "none"}});
  auto& s = prime_of(*h);
  {
    const auto a = s.alpha();  // 1/4 + 1e-3 randn on the 4 non-none ops
    EXPECT_EQ(a.select(1, 0).abs().sum().item<double>(), 0.0);
    EXPECT_NEAR(a.slice(1, 1).mean().item<double>(), 0.25, 2e-3);
  }
  set_alpha(s, {{0.0, -0.2, 1.4, 0.5, 0.0}, {0.0, 0.3, 0.6, 0.2, 0.1}});
  const auto a = s.activation();
  const std::vector<std::vector<double>> want{{0, 0, 1, 0.5, 0}, {0, 0.3, 0.6, 0.2, 0.1}};
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t k = 0; k < 5; ++k) EXPECT_NEAR(a[i][k].item<double>(), want[i][k], 1e-6);
  }
  s.new_epoch(0);
  s.step(h->train->batch(0, 0), h->val->batch(0, 0));
  // Row 0: ops 1 and 4 (alpha <= 0) are masked; `none` always was.
  const auto alive = s.alive();
  EXPECT_FALSE(alive[0][1].item<bool>());
  EXPECT_FALSE(alive[0][4].item<bool>());
  EXPECT_TRUE(alive[0][2].item<bool>());
  auto& net = *h->ctx.supernet;
  for (const auto& [d, m] : net.mixed_ops()) m->reset_calls();
  for (int64_t i = 1; i < h->train->batches(); ++i) {
    s.step(h->train->batch(0, i), h->val->batch(0, i));
  }
  const auto live = s.alive();
  for (const auto& [d, m] : net.mixed_ops()) {
    for (int64_t k = 1; k < 5; ++k) {
      if (!live[d][k].item<bool>()) {
        EXPECT_EQ(m->calls()[static_cast<size_t>(k)], 0) << d << " " << k;
        EXPECT_EQ(s.alpha()[d][k].item<double>(), 0.0);
      }
    }
  }
  EXPECT_THROW(registry().create("darts_prime", {{"activation", "relu"}}), ConfigError);
}

// ADMM: Z = alpha and U = 0 at the start; with admm_freq 2 and an alpha
// step every step, Z = onehot(derive(softmax(alpha + U))) and U = U +
// (alpha - Z) after every step; the regularizer is rho / 2 ||a - Z + U||.
TEST(DartsPrime, AdmmUpdatesZAndUAsTheReference) {
  auto h = toy_prime({{"reg", "admm"}, {"admm_freq", 2}, {"schedule", "fixed"},
                      {"sched_freq", 1}, {"rho", 0.2}});
  auto& s = prime_of(*h);
  EXPECT_TRUE(torch::equal(s.admm_z(), s.alpha().detach()));
  EXPECT_EQ(s.admm_u().abs().sum().item<double>(), 0.0);
  s.new_epoch(0);
  for (int64_t i = 0; i < 3; ++i) {
    const auto u0 = s.admm_u().clone();
    s.step(h->train->batch(0, i), h->val->batch(0, i));
    const auto alpha = s.alpha().detach();
    const auto z = s.discretize(torch::softmax(alpha + u0, 1));
    EXPECT_TRUE(torch::equal(s.admm_z(), z)) << i;
    EXPECT_TRUE(torch::allclose(s.admm_u(), u0 + alpha - z)) << i;
  }
  const auto a = s.activation();
  const double expected = 0.1 * (a - s.admm_z() + s.admm_u()).norm().item<double>();
  EXPECT_NEAR(s.regularizer(a).item<double>(), expected, 1e-6);
}

// dynamic: an alpha step exactly when 0 < FI_ewma < threshold; the
// threshold then shrinks by m^sched_freq, else grows by m; FI is the
// squared norm of the weights' gradients, FI_ewma its 0.2-weighted average.
TEST(DartsPrime, DynamicScheduleFollowsTheGradientEnergy) {
  auto h = toy_prime({{"sched_freq", 3}, {"threshold_init", 1e-3}, {"threshold_multiplier", 2.0}},
                     6);
  auto& s = prime_of(*h);
  int64_t taken = 0, skipped = 0;
  for (int64_t e = 0; e < 6; ++e) {
    s.new_epoch(e);
    for (int64_t i = 0; i < h->train->batches(); ++i) {
      const double t0 = s.threshold(), fi0 = s.fi_ewma();
      const int64_t steps0 = s.alpha_steps();
      const auto alpha0 = s.alpha().detach().clone();
      s.step(h->train->batch(e, i), h->val->batch(e, i));
      const bool due = fi0 > 0 && fi0 < t0;
      EXPECT_EQ(s.alpha_steps() - steps0, due ? 1 : 0);
      EXPECT_EQ(torch::equal(alpha0, s.alpha().detach()), !due);
      EXPECT_NEAR(s.threshold(), due ? t0 / 8 : t0 * 2, 1e-12 * t0);
      double fi = 0;
      for (const auto& w : h->ctx.supernet->parameters()) {
        if (w.grad().defined()) fi += w.grad().pow(2).sum().item<double>();
      }
      // The toy's gradients stay below the clip (5), so the clipped ones are FI's.
      EXPECT_NEAR(s.fi_ewma(), fi0 < 0 ? fi : 0.2 * fi + 0.8 * fi0, 1e-6 * std::max(fi, 1.0));
      (due ? taken : skipped) += 1;
    }
  }
  EXPECT_GT(taken, 0);
  EXPECT_GT(skipped, taken);
}

TEST(DartsPrime, FixedScheduleStepsAlphaEverySchedFreqthStep) {
  auto h = toy_prime({{"schedule", "fixed"}, {"sched_freq", 3}});
  auto& s = prime_of(*h);
  for (int64_t e = 0; e < 2; ++e) {
    s.new_epoch(e);
    for (int64_t i = 0; i < h->train->batches(); ++i) {
      const auto alpha0 = s.alpha().detach().clone();
      s.step(h->train->batch(e, i), h->val->batch(e, i));
      EXPECT_EQ(torch::equal(alpha0, s.alpha().detach()), (i + 1) % 3 != 0) << e << " " << i;
    }
  }
  const auto space = testing::ToySpace(2, 5);
  EXPECT_DOUBLE_EQ(s.passes_per_step(space), 1 + 1.0 / 3);
  EXPECT_DOUBLE_EQ(prime_of(*toy_prime({{"sched_freq", 10}})).passes_per_step(space), 1 + 1.0 / 11);
}

TEST(DartsPrime, CrbNeedsTheDartsNodeBatchNorm) {
  auto s = registry().create("darts_prime", {{"activation", "crb"}});
  search_space::NetworkOptions sizes;
  EXPECT_THROW(s->configure_supernet(testing::ToySpace(2, 5), sizes), ConfigError);
}

}  // namespace
}  // namespace nas::strategies
