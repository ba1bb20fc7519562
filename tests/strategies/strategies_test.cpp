// The contract every one-shot strategy shares, on the toy space with a known
// optimum and on the real spaces, plus each strategy's own mechanics.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
#include "strategies/fairnas.h"
#include "strategies/fbnet.h"
#include "strategies/gdas.h"
#include "strategies/proxyless.h"
#include "strategies/random_ws.h"
#include "strategies/snas.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

int64_t toy_search(const std::string& name, nlohmann::json options,
                   int64_t planted, int64_t epochs) {
  auto toy = std::make_unique<testing::ToySpace>(1, 5);
  auto data = toy->make_data(1024, planted, 3);
  const auto* t = toy.get();
  Harness h(name, std::move(options), std::move(toy), {}, std::move(data), epochs);
  h.run();
  return t->to_ops(h.strategy->best())[0];
}

// Each strategy finds the one useful op of the toy space.
TEST(Strategies, SnasFindsPlantedOp) {
  EXPECT_EQ(toy_search("snas", {{"alpha_lr", 3e-3}}, 2, 20), 2);
}
TEST(Strategies, GdasFindsPlantedOp) {
  EXPECT_EQ(toy_search("gdas", {{"alpha_lr", 3e-3}, {"tau_max", 2.0}}, 3, 20), 3);
}
TEST(Strategies, FbnetFindsPlantedOp) {
  EXPECT_EQ(toy_search("fbnet", {{"alpha_lr", 1e-2}, {"warmup_epochs", 1}, {"tau_max", 1.0}}, 3,
                       20),
            3);
}

// FBNet: theta stays put through the warm-up; the temperature starts
// annealing when theta starts training, by tau_decay a epoch.
TEST(Fbnet, WarmUpTrainsWeightsOnlyThenTemperatureAnneals) {
  Harness h("fbnet", {{"warmup_epochs", 2}},
            std::make_unique<search_space::Nb201Space>(nlohmann::json::object()),
            tiny_nb201(), synthetic(), 6, 16);
  auto& fb = static_cast<Fbnet&>(*h.strategy);
  const auto before = fb.alpha().clone();
  for (int64_t e = 0; e < 2; ++e) {
    fb.new_epoch(e);
    EXPECT_DOUBLE_EQ(fb.tau(), 5.0);
    EXPECT_FALSE(fb.theta_phase());
    fb.step(h.train->batch(0, 1), h.val->batch(0, 0));
  }
  EXPECT_TRUE(torch::equal(fb.alpha(), before));
  EXPECT_TRUE(torch::equal(fb.alpha(), torch::zeros_like(before)));  // uniform theta
  fb.new_epoch(4);
  EXPECT_NEAR(fb.tau(), 5.0 * std::exp(-0.045 * 2), 1e-12);
  fb.step(h.train->batch(0, 1), h.val->batch(0, 0));
  EXPECT_FALSE(torch::equal(fb.alpha(), before));
}

TEST(Strategies, ProxylessFindsPlantedOp) {
  EXPECT_EQ(toy_search("proxyless",
                       {{"alpha_lr", 1e-2}, {"warmup_epochs", 1}, {"arch_update_every", 1}},
                       4, 20),
            4);
}
TEST(Strategies, FairNasFindsPlantedOp) {
  EXPECT_EQ(toy_search("fairnas", {{"eval_archs", 20}, {"top_k", 3}}, 1, 10), 1);
}
TEST(Strategies, RandomWsFindsPlantedOp) {
  EXPECT_EQ(toy_search("random_ws", {{"eval_archs", 20}, {"top_k", 3}}, 2, 20), 2);
}

TEST(Gdas, OnlyTheSampledOpRunsAndEveryAlphaGetsGradient) {
  Harness h("gdas", nlohmann::json::object(),
            std::make_unique<search_space::Nb201Space>(nlohmann::json::object()),
            tiny_nb201(), synthetic(), 2, 16);
  auto& gdas = static_cast<Gdas&>(*h.strategy);
  gdas.new_epoch(0);
  auto alpha = gdas.alpha().detach().clone().requires_grad_(true);
  const auto path = gdas.sample_path(alpha);
  h.ctx.supernet->reset_calls();
  auto out = h.ctx.supernet->forward(h.train->batch(0, 0).x, path);
  for (auto n : calls_per_edge(*h.ctx.supernet)) EXPECT_LE(n, 1);
  // Exactly one op per edge unless the sample was `none` (never computed).
  for (const auto& [d, m] : h.ctx.supernet->mixed_ops()) {
    const int64_t chosen = path.edges[d].ops.at(0);
    EXPECT_EQ(m->calls()[chosen], chosen == 0 ? 0 : 1);
  }
  torch::nn::functional::cross_entropy(out, h.train->batch(0, 0).y).backward();
  EXPECT_EQ(alpha.grad().ne(0).sum().item<int64_t>(), alpha.numel())
      << "the AutoDL variant gives every alpha a gradient";
  // A whole step runs one op per edge in both of its passes.
  h.ctx.supernet->reset_calls();
  gdas.step(h.train->batch(0, 1), h.val->batch(0, 0));
  for (auto n : calls_per_edge(*h.ctx.supernet)) EXPECT_LE(n, 2);
  EXPECT_DOUBLE_EQ(gdas.tau(), 10.0);
  gdas.new_epoch(1);
  EXPECT_NEAR(gdas.tau(), 0.1, 1e-12);
}

TEST(RandomWs, OneOpPerEdgePerForward) {
  Harness h("random_ws", nlohmann::json::object(),
            std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(),
            synthetic(), 1, 16);
  h.strategy->new_epoch(0);
  for (int i = 0; i < 3; ++i) {
    h.ctx.supernet->reset_calls();
    h.strategy->step(h.train->batch(0, i % h.train->batches()), h.val->batch(0, 0));
    int64_t total = 0;
    for (auto n : calls_per_edge(*h.ctx.supernet)) {
      EXPECT_LE(n, 1);
      total += n;
    }
    EXPECT_LE(total, 3 * 8);  // 3 cells x (4 nodes x 2 inputs), `none` never runs
  }
}

TEST(FairNas, EveryCandidateTrainedExactlyOncePerStep) {
  Harness h("fairnas", nlohmann::json::object(),
            std::make_unique<search_space::Nb201Space>(nlohmann::json::object()),
            tiny_nb201(), synthetic(), 1, 16);
  h.strategy->new_epoch(0);
  for (int i = 0; i < 2; ++i) {
    h.ctx.supernet->reset_calls();
    h.strategy->step(h.train->batch(0, i), h.val->batch(0, 0));
    for (const auto& [d, m] : h.ctx.supernet->mixed_ops()) {
      EXPECT_EQ(m->calls()[0], 0);  // `none` is not a FairNAS candidate
      for (int64_t k = 1; k < m->size(); ++k) EXPECT_EQ(m->calls()[k], 1);
    }
  }
  // The permutations really are permutations on every decision.
  auto& fair = static_cast<FairNas&>(*h.strategy);
  const auto paths = fair.fair_paths();
  ASSERT_EQ(paths.size(), 4u);
  for (size_t d = 0; d < paths[0].edges.size(); ++d) {
    std::set<int64_t> seen;
    for (const auto& p : paths) seen.insert(p.edges[d].ops.at(0));
    EXPECT_EQ(seen.size(), 4u);
  }
}

// On the DARTS space every FairNAS path is a two-input genotype: the same
// sampled structure for the m paths, each op once per used edge.
TEST(FairNas, PathsAreGenotypesOfTheScoredDistribution) {
  Harness h("fairnas", nlohmann::json::object(),
            std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(), synthetic(), 1, 16);
  h.strategy->new_epoch(0);
  auto& fair = static_cast<FairNas&>(*h.strategy);
  const auto paths = fair.fair_paths();
  ASSERT_EQ(paths.size(), 7u);  // the 7 non-`none` DARTS ops
  const auto decisions = h.space->decisions();
  int64_t used = 0;
  for (size_t d = 0; d < decisions.size(); ++d) {
    std::set<int64_t> seen;
    for (const auto& p : paths) {
      for (auto k : p.edges[d].ops) seen.insert(k);
    }
    if (seen.empty()) continue;
    ++used;
    EXPECT_EQ(seen.size(), 7u);
    EXPECT_EQ(seen.count(0), 0u);  // `none`
  }
  EXPECT_EQ(used, 2 * 4 * 2);  // 2 cell types x 4 nodes x 2 inputs
}

TEST(Snas, TemperatureScheduleAndPenaltyOnAKnownCase) {
  Harness h("snas", nlohmann::json::object(), std::make_unique<testing::ToySpace>(1, 3),
            {}, testing::ToySpace(1, 3).make_data(64, 1, 0), 150);
  auto& snas = static_cast<Snas&>(*h.strategy);
  // Temp_Scheduler: epoch e uses t = e + 1 over 150 epochs.
  snas.new_epoch(0);
  EXPECT_NEAR(snas.tau(), (1 - 1.0 / 150) * 0.97 + 0.03, 1e-12);
  snas.new_epoch(74);
  EXPECT_NEAR(snas.tau(), 0.5 * 0.97 + 0.03, 1e-12);
  snas.new_epoch(149);
  EXPECT_NEAR(snas.tau(), 0.03, 1e-12);

  // Two MixedOps sharing decision 0 (weights 1/2 each). z = (0, 1, 0):
  // the expected costs are op 1's, (e, e^2, e^3) -> mean log = 2; a cost
  // below 1 is clamped to 1 (log 0).
  const auto z = torch::tensor({{0.0, 1.0, 0.0}}, torch::kFloat64);
  auto costs = torch::zeros({2, 3, 3}, torch::kFloat64);
  costs[0][1] = torch::tensor({std::exp(1.0), std::exp(2.0), std::exp(3.0)}, torch::kFloat64);
  costs[1][1] = torch::tensor({0.5, std::exp(3.0), 1.0}, torch::kFloat64);
  const auto rows = torch::tensor({0, 0}, torch::kInt64);
  const auto weights = torch::tensor({0.5, 0.5}, torch::kFloat64);
  EXPECT_NEAR(Snas::resource_penalty(z, costs, rows, weights).item<double>(),
              0.5 * 2.0 + 0.5 * 1.0, 1e-12);
  // A soft sample mixes the costs before the log.
  const auto zs = torch::tensor({{0.0, 0.5, 0.5}}, torch::kFloat64);
  costs[0][2] = torch::tensor({std::exp(1.0), std::exp(2.0), std::exp(3.0)}, torch::kFloat64);
  EXPECT_NEAR(Snas::resource_penalty(zs, costs.narrow(0, 0, 1), rows.narrow(0, 0, 1),
                                     torch::ones({1}, torch::kFloat64))
                  .item<double>(),
              2.0, 1e-12);
}

TEST(Snas, DerivesEdgeAllGenotypes) {
  Harness h("snas", nlohmann::json::object(),
            std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(),
            synthetic(), 1, 16);
  const auto arch = h.strategy->best();
  EXPECT_EQ(arch.cells[0].nodes[3].size(), 5u);  // node 3 keeps all 5 edges
  EXPECT_EQ(h.space->parse(h.space->format(arch)), arch);
}

// Every strategy: same seed, same answer; checkpoint + load continues
// exactly (the shared contract, on the toy space).
TEST(Strategies, SaveLoadContinuesExactly) {
  for (const auto& name : registry().names()) {
    SCOPED_TRACE(name);
    // Superkernels exist on chains only: the conformance suite resumes
    // single_path there (SuperkernelSpaces/Conformance).
    if (name == "single_path") continue;
    auto make = [&] {
      return std::make_unique<Harness>(
          name, nlohmann::json::object(), std::make_unique<testing::ToySpace>(1, 4),
          search_space::NetworkOptions{}, testing::ToySpace(1, 4).make_data(256, 2, 0), 4);
    };
    auto b = make();
    b->strategy->new_epoch(0);
    for (int i = 0; i < 3; ++i) {
      b->strategy->step(b->train->batch(0, i), b->val->batch(0, i));
    }
    // Save b (supernet, strategy, rng), restore into a fresh c.
    torch::serialize::OutputArchive out;
    b->strategy->save(out);
    torch::serialize::OutputArchive net_out;
    b->ctx.supernet->save(net_out);
    std::stringstream s1, s2;
    out.save_to(s1);
    net_out.save_to(s2);
    auto c = make();
    torch::serialize::InputArchive in, net_in;
    in.load_from(s1);
    net_in.load_from(s2);
    c->ctx.supernet->load(net_in);
    c->strategy->load(in);
    c->rng.set_state(b->rng.state());
    c->strategy->new_epoch(0);
    auto torch_state = at::detail::getDefaultCPUGenerator().get_state();
    const auto sa = b->strategy->step(b->train->batch(0, 3), b->val->batch(0, 3));
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      gen.set_state(torch_state);
    }
    const auto sc = c->strategy->step(c->train->batch(0, 3), c->val->batch(0, 3));
    EXPECT_EQ(sa.train_loss, sc.train_loss);
    EXPECT_EQ(sa.val_loss, sc.val_loss);
  }
}

}  // namespace
}  // namespace nas::strategies
