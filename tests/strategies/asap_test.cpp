// ASAP: the annealed temperature and grace period, pruned ops that never
// run again, the strongest op surviving.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "search_space/mixed_op.h"
#include "strategies/asap.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

std::unique_ptr<Harness> toy_asap(const nlohmann::json& options, int64_t epochs) {
  auto toy = std::make_unique<testing::ToySpace>(2, 5);
  auto data = toy->make_data(256, 3, 1);
  return std::make_unique<Harness>("asap", options, std::move(toy),
                                   search_space::NetworkOptions{}, std::move(data), epochs);
}

TEST(Asap, TemperatureAnnealsAndAlphaRestsThroughTheGracePeriod) {
  auto h = toy_asap(nlohmann::json::object(), 12);
  auto& asap = static_cast<Asap&>(*h->strategy);
  const auto start = asap.alpha().clone();
  for (int64_t e = 0; e < 12; ++e) {
    asap.new_epoch(e);
    EXPECT_NEAR(asap.tau(), 1.6 * std::pow(0.95, e), 1e-12);
    EXPECT_EQ(asap.in_grace(), e < 10) << e;  // 1.6 * 0.95^10 = 0.958 < 1
    asap.step(h->train->batch(e, 0), h->val->batch(e, 0));
    if (e < 10) {
      EXPECT_TRUE(torch::equal(asap.alpha(), start)) << e;
    }
  }
  EXPECT_FALSE(torch::equal(asap.alpha(), start));
  // The mixture is softmax(alpha / tau).
  const auto p = asap.probabilities();
  EXPECT_TRUE(torch::allclose(p, torch::softmax(asap.alpha().detach() / asap.tau(), 1)));
}

// With a high threshold the weak ops go early; after that they are never
// called, and each decision's strongest op survives.
TEST(Asap, PrunedOpsNeverRunAgainAndTheStrongestSurvives) {
  auto h = toy_asap({{"tau0", 1.0}, {"tau_grace", 1.0}, {"tau_decay", 0.7},
                     {"prune_threshold", 0.95}, {"alpha_lr", 0.05}},
                    8);
  auto& asap = static_cast<Asap&>(*h->strategy);
  auto& net = *h->ctx.supernet;
  int64_t alive = asap.alive().sum().item<int64_t>();
  EXPECT_EQ(alive, 2 * 5);
  for (int64_t e = 0; e < 8; ++e) {
    asap.new_epoch(e);
    const auto now = asap.alive().sum().item<int64_t>();
    EXPECT_LE(now, alive);
    const auto strongest = asap.probabilities().argmax(1);
    for (int64_t d = 0; d < 2; ++d) {
      EXPECT_TRUE(asap.alive()[d][strongest[d].item<int64_t>()].item<bool>());
    }
    alive = now;
    for (const auto& [d, m] : net.mixed_ops()) m->reset_calls();
    for (int64_t i = 0; i < h->train->batches(); ++i) {
      asap.step(h->train->batch(e, i), h->val->batch(e, i));
    }
    const auto live = asap.alive();
    for (const auto& [d, m] : net.mixed_ops()) {
      for (int64_t k = 1; k < 5; ++k) {  // column 0 is `none`, never computed
        if (!live[d][k].item<bool>()) {
          EXPECT_EQ(m->calls()[static_cast<size_t>(k)], 0) << "epoch " << e << " op " << k;
        } else {
          EXPECT_GT(m->calls()[static_cast<size_t>(k)], 0) << "epoch " << e << " op " << k;
        }
      }
    }
  }
  EXPECT_LT(alive, 2 * 5);
  const auto p = asap.probabilities();
  for (int64_t d = 0; d < 2; ++d) {
    EXPECT_TRUE(asap.alive()[d][p[d].argmax().item<int64_t>()].item<bool>()) << d;
  }
  EXPECT_EQ(p.masked_select(asap.alive().logical_not()).abs().sum().item<double>(), 0.0);
  EXPECT_THROW(registry().create("asap", {{"prune_threshold", 1.5}}), ConfigError);
}

}  // namespace
}  // namespace nas::strategies
