// sharpDARTS: Cosine Power Annealing as the reference computes it, and MaxW
// weighting.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "strategies/sharp_darts.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

// The values of ahundt/sharpDARTS `cnn/cosine_power_annealing.py`
// cosine_power_annealing(epochs, max_lr, min_lr, exponent_order,
// warmup_epochs), run with Debian's Python 3 and NumPy.
TEST(SharpDarts, CosinePowerAnnealingIsTheReferences) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> cases = {
      {cosine_power_annealing(10, 0.025, 1e-4, 2, 5),
       {0.00425, 0.0084, 0.01255, 0.0167, 0.02085, 0.025, 0.014394581999626012,
        0.006837536025051419, 0.0018038906309259927, 0.0001}},
      {cosine_power_annealing(8, 0.1, 1e-3, 10, 0),
       {0.1, 0.07545524112269511, 0.04846776957101358, 0.027230512552621204,
        0.013560884211790695, 0.005864848207970539, 0.0021110958917249113, 0.001}},
      {cosine_power_annealing(6, 0.1, 1e-3, 1, 2),
       {0.034, 0.067, 0.1, 0.0505, 0.0154982143312659, 0.001}}};
  for (const auto& [got, want] : cases) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << i;
  }
}

struct Probe : SharpDarts {
  using SharpDarts::mixture_weights;
  using SharpDarts::SharpDarts;
};

TEST(SharpDarts, MaxWGivesTheStrongestOpWeightOneAndKeepsMaskedColumnsAtZero) {
  const Probe max_w(nlohmann::json::object());
  const auto p = torch::tensor({{0.5, 0.3, 0.2, 0.0}, {0.25, 0.25, 0.25, 0.25}},
                               torch::requires_grad());
  const auto w = max_w.mixture_weights(p);
  EXPECT_TRUE(torch::allclose(w.detach(), torch::tensor({{1.0, 0.8, 0.7, 0.0},
                                                         {1.0, 1.0, 1.0, 1.0}})));
  w[0][1].backward();  // 1 - p[0][0] + p[0][1]: the max's gradient is kept
  EXPECT_EQ(p.grad()[0][0].item<double>(), -1.0);
  EXPECT_EQ(p.grad()[0][1].item<double>(), 1.0);
  const Probe scalar(nlohmann::json{{"weighting", "scalar"}});
  EXPECT_TRUE(torch::equal(scalar.mixture_weights(p), p));
}

TEST(SharpDarts, EveryEpochTakesItsLearningRateFromTheSchedule) {
  auto toy = std::make_unique<testing::ToySpace>(1, 4);
  auto data = toy->make_data(128, 2, 0);
  Harness h("sharp_darts", nlohmann::json::object(), std::move(toy), {}, std::move(data), 10);
  const auto want = cosine_power_annealing(10, 0.025, 1e-4, 2, 5);
  for (int64_t e = 0; e < 10; ++e) {
    h.strategy->new_epoch(e);
    EXPECT_DOUBLE_EQ(h.strategy->state()["lr"].get<double>(), want[static_cast<size_t>(e)]) << e;
  }
  EXPECT_THROW(registry().create("sharp_darts", {{"weighting", "min_w"}}), ConfigError);
}

}  // namespace
}  // namespace nas::strategies
