// Behaviour pinned by the reference-fidelity pass: each strategy as its
// authors' code runs it (ALGORITHMS.md; SNAS-Series, proxylessnas,
// randomNAS_release, AutoDL-Projects).
#include <gtest/gtest.h>

#include <array>
#include <torch/torch.h>

#include "hardware/snas_cost.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
#include "strategies/alpha_optimizer.h"
#include "strategies/gdas.h"
#include "strategies/proxyless.h"
#include "strategies/random_ws.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

// The per-row alpha optimizer is torch.optim.Adam when every row steps, and
// a skipped row keeps its value and state (its own step count).
TEST(AlphaOptimizer, EqualsTorchAdamAndSkipsRowsExactly) {
  torch::manual_seed(3);
  const nlohmann::json o = {{"alpha_lr", 0.01}, {"alpha_beta1", 0.5}, {"alpha_beta2", 0.9},
                            {"alpha_weight_decay", 1e-3}, {"alpha_eps", 1e-8}};
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 4; ++i) grads.push_back(torch::randn({2, 3}, torch::kFloat64));
  auto alpha = torch::randn({2, 3}, torch::kFloat64);
  auto ours = alpha.clone();
  AlphaOptimizer opt(o, ours);
  // Reference: one torch Adam per row; row 0 skips step 2.
  std::vector<torch::Tensor> rows = {alpha[0].clone().requires_grad_(true),
                                     alpha[1].clone().requires_grad_(true)};
  auto adam = [&](torch::Tensor& p) {
    return torch::optim::Adam({p}, torch::optim::AdamOptions(0.01).betas({0.5, 0.9}).weight_decay(1e-3).eps(1e-8));
  };
  auto a0 = adam(rows[0]);
  auto a1 = adam(rows[1]);
  for (int i = 0; i < 4; ++i) {
    const bool skip0 = i == 2;
    opt.step(ours, grads[i], skip0 ? torch::tensor({false, true}) : torch::Tensor());
    if (!skip0) {
      rows[0].mutable_grad() = grads[i][0].clone();
      a0.step();
    }
    rows[1].mutable_grad() = grads[i][1].clone();
    a1.step();
  }
  EXPECT_TRUE(ours[0].allclose(rows[0].detach(), 1e-12, 1e-14));
  EXPECT_TRUE(ours[1].allclose(rows[1].detach(), 1e-12, 1e-14));
}

/// dL/dg_k = <dL/dlogits, W o_k(x)> by hand for the 3-op toy decision
/// (none, block1, block2) whose output is head(o_active(x)); L is the mean
/// cross-entropy with label smoothing `smoothing`.
std::array<double, 3> toy_gate_gradients(Harness& h, const Batch& val, int64_t active,
                                         double smoothing) {
  auto& net = *h.ctx.supernet;
  net.train();
  auto& mixed = *net.mixed_ops()[0].second;
  torch::Tensor o[3];
  o[1] = mixed.op(1).forward(val.x).detach();
  o[2] = mixed.op(2).forward(val.x).detach();
  const auto w = net.named_parameters()["head.weight"].detach();
  const auto b = net.named_parameters()["head.bias"].detach();
  const auto p = torch::softmax(torch::matmul(o[active], w.t()) + b, 1);
  const auto onehot = torch::zeros_like(p).scatter_(1, val.y.unsqueeze(1), 1.0);
  const auto target = (1 - smoothing) * onehot + smoothing / p.size(1);
  const auto logits_grad = (p - target) / val.size();
  return {0.0, (logits_grad * torch::matmul(o[1], w.t())).sum().item<double>(),
          (logits_grad * torch::matmul(o[2], w.t())).sum().item<double>()};
}

Proxyless& proxyless_with_alpha(Harness& h, const torch::Tensor& alpha) {
  auto& px = static_cast<Proxyless&>(*h.strategy);
  px.new_epoch(0);
  torch::NoGradGuard guard;
  const_cast<torch::Tensor&>(px.alpha()).copy_(alpha);
  return px;
}

// ProxylessNAS full_v2 (the reference default): every candidate's gate gets
// dL/dg_j = <dL/dy, o_j(x)>, and dL/dalpha_i = sum_j dg_j p_j (delta_ij - p_i)
// over the full softmax (Eq. 4), with the reference's label smoothing 0.1.
TEST(Proxyless, FullV2GradientMatchesTheFormula) {
  Harness h("proxyless", {{"warmup_epochs", 0}}, std::make_unique<testing::ToySpace>(1, 3),
            {}, testing::ToySpace(1, 3).make_data(64, 1, 0), 2);
  auto& px = proxyless_with_alpha(h, torch::tensor({{0.3, -0.2, 0.5}}));
  const auto alpha_before = px.alpha().detach().clone();
  const auto val = h.val->batch(0, 0);
  const auto dg = toy_gate_gradients(h, val, 2, 0.1);
  const auto p = torch::softmax(alpha_before[0], 0);
  StepStats stats;
  const auto grad = px.alpha_step(val, {{2, {0, 1, 2}}}, stats);
  for (int i = 0; i < 3; ++i) {
    double expect = 0;
    for (int j = 0; j < 3; ++j) {
      expect += dg[j] * p[j].item<double>() * ((i == j) - p[i].item<double>());
    }
    EXPECT_NEAR(grad[0][i].item<double>(), expect, 1e-6) << "alpha " << i;
  }
  EXPECT_NE(grad[0][0].item<double>(), 0.0) << "full mode: `none`'s alpha moves too";
  // An active `none`: no update of alpha, even with an objective term.
  h.ctx.objective.loss = [](const torch::Tensor& loss, const torch::Tensor& probs) {
    return loss + probs.select(1, 2).sum();
  };
  const auto before = px.alpha().detach().clone();
  const auto g0 = px.alpha_step(val, {{0, {0, 1, 2}}}, stats);
  EXPECT_EQ(g0.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(px.alpha().detach().equal(before));
}

// Two mode: Eq. 4 on the renormalised pair, then the pair is shifted so the
// unsampled op keeps its probability.
TEST(Proxyless, TwoModeGradientMatchesTheFormula) {
  Harness h("proxyless",
            {{"warmup_epochs", 0}, {"binary_mode", "two"}, {"label_smoothing", 0.0}},
            std::make_unique<testing::ToySpace>(1, 3), {},
            testing::ToySpace(1, 3).make_data(64, 1, 0), 2);
  auto& px = proxyless_with_alpha(h, torch::tensor({{0.3, -0.2, 0.5}}));
  const auto alpha_before = px.alpha().detach().clone();
  const auto val = h.val->batch(0, 0);
  const auto dg = toy_gate_gradients(h, val, 1, 0.0);
  const auto pair = torch::softmax(alpha_before[0].narrow(0, 1, 2), 0);
  const double p1 = pair[0].item<double>(), p2 = pair[1].item<double>();
  StepStats stats;
  const auto grad = px.alpha_step(val, {{1, {1, 2}}}, stats);
  EXPECT_NEAR(grad[0][1].item<double>(), dg[1] * p1 * (1 - p1) + dg[2] * p2 * (0 - p1), 1e-6);
  EXPECT_NEAR(grad[0][2].item<double>(), dg[1] * p1 * (0 - p2) + dg[2] * p2 * (1 - p2), 1e-6);
  EXPECT_EQ(grad[0][0].item<double>(), 0.0);
  EXPECT_NEAR(torch::softmax(px.alpha().detach(), 1)[0][0].item<double>(),
              torch::softmax(alpha_before, 1)[0][0].item<double>(), 1e-6);
  EXPECT_FALSE(px.alpha().detach().equal(alpha_before));
}

// In two mode the objective sees the renormalised pair only (the
// reference's current_prob_over_ops), so the unsampled op's alpha gets no
// gradient from it.
TEST(Proxyless, TwoModeObjectiveUsesThePairOnly) {
  Harness h("proxyless", {{"warmup_epochs", 0}, {"binary_mode", "two"}},
            std::make_unique<testing::ToySpace>(1, 3), {},
            testing::ToySpace(1, 3).make_data(64, 1, 0), 2);
  auto& px = static_cast<Proxyless&>(*h.strategy);
  px.new_epoch(0);
  h.ctx.objective.loss = [](const torch::Tensor& loss, const torch::Tensor& probs) {
    return loss + (probs * torch::tensor({{5.0, 1.0, 2.0}}, probs.options())).sum();
  };
  StepStats stats;
  const auto grad = px.alpha_step(h.val->batch(0, 0), {{1, {1, 2}}}, stats);
  EXPECT_EQ(grad[0][0].item<double>(), 0.0);
  EXPECT_NE(grad[0][1].item<double>(), 0.0);
}

// SNAS's operations.py formulas, computed by hand.
TEST(SnasCost, ReferenceFormulas) {
  using hardware::snas_op_cost;
  auto sep = snas_op_cost("sep_conv_3x3", 16, 32, 1);
  EXPECT_EQ(sep.size, 2 * 16 * 9 + 32 * 16);
  EXPECT_EQ(sep.flops, 800.0 * 1024);
  EXPECT_EQ(sep.mac, 1024.0 * (7 * 16 + 16) + 800);
  EXPECT_EQ(snas_op_cost("sep_conv_3x3", 16, 32, 2).mac, 256.0 * (10 * 16 + 16) + 800);
  EXPECT_EQ(snas_op_cost("skip_connect", 16, 32, 1).mac, 2.0 * 16 * 1024);
  EXPECT_EQ(snas_op_cost("skip_connect", 16, 32, 1).flops, 0.0);
  const auto fr = snas_op_cost("skip_connect", 16, 32, 2);  // FactorizedReduce
  EXPECT_EQ(fr.size, 256.0);
  EXPECT_EQ(fr.flops, 256.0 * 256);
  EXPECT_EQ(fr.mac, 2.0 * 256 * (4 * 16 + 8) + 256);
  const auto pool = snas_op_cost("max_pool_3x3", 16, 32, 2);
  EXPECT_EQ(pool.flops, 9.0 * 256 * 16);
  EXPECT_EQ(pool.mac, 5.0 * 256 * 16);
  EXPECT_EQ(snas_op_cost("avg_pool_3x3", 16, 32, 1).mac, 2.0 * 1024 * 16);
  const auto dil = snas_op_cost("dil_conv_5x5", 16, 8, 1);
  EXPECT_EQ(dil.size, 16.0 * 25 + 256);
  EXPECT_EQ(dil.mac, 64.0 * (3 * 16 + 16) + 656);
  EXPECT_EQ(snas_op_cost("nor_conv_3x3", 8, 16, 1).mac, 256.0 * 16 + 576);
  EXPECT_EQ(snas_op_cost("none", 16, 32, 2).mac, 0.0);
  EXPECT_EQ(snas_op_cost("sep_conv_3x3", 16, 7, 2).flops, 800.0 * 9);  // y = 7 // 2
  EXPECT_THROW(snas_op_cost("conv_7x1_1x7", 16, 32, 1), ConfigError);
  // MBConv 16 -> 24, e = 6 (M = 96), k = 3, stride 2 at 32x32 (y = 16):
  // weights 16*96 + 96*9 + 96*24; multiply-adds 32^2*16*96 + 16^2*(96*9 + 96*24).
  const auto mb = snas_op_cost("mb6_k3", 16, 32, 2, 24);
  EXPECT_EQ(mb.size, 4704.0);
  EXPECT_EQ(mb.flops, 1024.0 * 1536 + 256.0 * (864 + 2304));
  EXPECT_EQ(snas_op_cost("mb1_k5", 16, 8, 1).size, 16.0 * 25 + 16 * 16);  // no expansion conv
  EXPECT_EQ(snas_op_cost("zero", 16, 8, 1).flops, 0.0);
}

// Random search with weight sharing draws `none` as Li & Talwalkar do; the
// selection is theirs on the DARTS space and AutoDL's on NB201.
TEST(RandomWs, SamplesNoneAndPicksTheReferenceSelection) {
  const search_space::DartsSpace space(search_space::DartsSpace::default_options());
  core::Rng rng(5);
  int with_none = 0, without = 0;
  for (int i = 0; i < 50; ++i) {
    const auto a = space.sample(rng, true), b = space.sample(rng, false);
    for (const auto& e : a.cells[0].nodes[0]) with_none += e.op == "none";
    for (const auto& e : b.cells[0].nodes[0]) without += e.op == "none";
  }
  EXPECT_GT(with_none, 3);  // about 100 / 8
  EXPECT_EQ(without, 0);
  EXPECT_EQ(RandomWs::default_options()["sample_none"], true);

  Harness d("random_ws", nlohmann::json::object(),
            std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(), synthetic(), 3, 16);
  const auto sd = static_cast<RandomWs&>(*d.strategy).selection();
  EXPECT_EQ(sd.rounds, 1);
  EXPECT_EQ(sd.samples, 1000);
  EXPECT_EQ(sd.options.batches, 10);
  EXPECT_EQ(sd.top_k, 10);
  Harness n("random_ws", nlohmann::json::object(),
            std::make_unique<search_space::Nb201Space>(nlohmann::json::object()),
            tiny_nb201(), synthetic(), 3, 16);
  const auto sn = static_cast<RandomWs&>(*n.strategy).selection();
  EXPECT_EQ(sn.samples, 100);
  EXPECT_EQ(sn.options.batches, 512 / 16);  // one batch of 512 images
  EXPECT_EQ(sn.top_k, 0);
}

// GDAS picks AutoDL's variant per space.
TEST(Gdas, VariantFollowsTheSpace) {
  for (const std::string space : {"darts", "nb201"}) {
    std::unique_ptr<search_space::SearchSpace> s;
    if (space == "darts") {
      s = std::make_unique<search_space::DartsSpace>(search_space::DartsSpace::default_options());
    } else {
      s = std::make_unique<search_space::Nb201Space>(nlohmann::json::object());
    }
    Harness h("gdas", nlohmann::json::object(), std::move(s),
              space == "darts" ? tiny_darts() : tiny_nb201(), synthetic(), 2, 16);
    auto& gdas = static_cast<Gdas&>(*h.strategy);
    gdas.new_epoch(0);
    const auto path = gdas.sample_path(gdas.alpha().detach().clone().requires_grad_(true));
    EXPECT_EQ(path.edges[0].offset.defined(), space == "nb201") << space;
  }
}

}  // namespace
}  // namespace nas::strategies
