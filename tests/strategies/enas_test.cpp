// ENAS's controller and REINFORCE: valid samples on every space kind, the
// REINFORCE gradient against a hand computation, and the search on the toy
// space.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
#include "strategies/controller.h"
#include "strategies/enas.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

ControllerOptions lstm_options() { return ControllerOptions{}; }

// DARTS ("top2"): each node gets two distinct inputs and no `none`; the
// same stream gives the same sample; the greedy rollout is fixed.
TEST(Controller, SamplesDartsGenotypesWithTwoDistinctInputsPerNode) {
  const search_space::DartsSpace space(search_space::DartsSpace::default_options());
  core::Rng init(1);
  Controller c(space, lstm_options(), init);
  torch::NoGradGuard guard;
  core::Rng a(5), b(5);
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const auto s = c->sample(&a);
    const auto arch = c->architecture(s);
    EXPECT_EQ(space.format(arch), space.format(c->architecture(c->sample(&b))));
    seen.insert(space.format(arch));
    ASSERT_EQ(arch.cells.size(), 2u);
    for (const auto& cell : arch.cells) {
      for (const auto& node : cell.nodes) {
        ASSERT_EQ(node.size(), 2u);
        EXPECT_NE(node[0].input, node[1].input);
        for (const auto& e : node) EXPECT_NE(e.op, "none");
      }
    }
    // The kept edges are exactly those the sample chose.
    int64_t kept = 0;
    for (const auto op : s.ops) kept += op >= 0;
    EXPECT_EQ(kept, 2 * 2 * space.steps());
    EXPECT_TRUE(std::isfinite(s.log_prob.item<double>()));
    EXPECT_GT(s.entropy, 0);
  }
  EXPECT_GT(seen.size(), 15u);
  EXPECT_EQ(space.format(c->architecture(c->sample(nullptr))),
            space.format(c->architecture(c->sample(nullptr))));
  const auto p = c->greedy_probabilities();
  EXPECT_NEAR(p.sum().item<double>(), 2 * 2 * space.steps(), 1e-4);
}

// NB201: one op per edge, `none` among them (AutoDL's ENAS); the log
// probability is the sum of each choice's.
TEST(Controller, SamplesOneOpPerNb201EdgeAndScoresItsLogProbability) {
  const search_space::Nb201Space space(nlohmann::json::object());
  core::Rng init(2);
  ControllerOptions o;
  o.policy = "table";
  Controller c(space, o, init);
  core::Rng r(3);
  std::set<std::string> ops;
  double total = 0;
  for (int i = 0; i < 50; ++i) {
    const auto s = c->sample(&r);
    ASSERT_EQ(s.ops.size(), 6u);
    // A table policy's log p: the sum over edges of log softmax(row)[op].
    const auto table = c->named_parameters()["table"];
    double want = 0;
    for (size_t d = 0; d < 6; ++d) {
      want += torch::log_softmax(table[static_cast<int64_t>(d)], 0)[s.ops[d]].item<double>();
    }
    EXPECT_NEAR(s.log_prob.item<double>(), want, 1e-5);
    const auto arch = c->architecture(s);
    for (const auto& node : arch.cells[0].nodes) {
      for (const auto& e : node) ops.insert(e.op);
    }
    total += s.entropy;
  }
  EXPECT_EQ(ops.size(), 5u);  // none, skip, 1x1, 3x3, pool
  EXPECT_NEAR(total / 50, 6 * std::log(5.0), 1e-3);  // a near-uniform start
}

// The REINFORCE step by hand: a table policy on one decision of four ops,
// two samples aggregated. The first reward sets the baseline (advantage 0);
// the second's gradient is -(r2 - b2) / aggregate * (onehot(a2) - p), b2 the
// debiased average of r1 and r2. Then Adam's first step moves each logit by
// -lr * g / (|g| + eps).
TEST(Reinforce, GradientAndStepMatchAHandComputation) {
  testing::ToySpace space(1, 4);
  core::Rng init(4);
  ControllerOptions o;
  o.policy = "table";
  Controller c(space, o, init);
  ReinforceOptions ro;
  ro.aggregate = 3;
  ro.baseline_decay = 0.9;
  ro.entropy_weight = 0;
  ro.controller_grad_clip = 0;
  ro.controller_beta1 = 0.0;
  ro.controller_eps = 1e-3;
  ro.controller_lr = 0.01;
  Reinforce learner(c, ro);
  core::Rng r(6);
  const auto table = c->named_parameters()["table"];
  const auto p = torch::softmax(table[0].detach(), 0).to(torch::kFloat64);
  const auto s1 = c->sample(&r);
  const auto s2 = c->sample(&r);
  learner.learn(s1, 0.3);
  learner.learn(s2, 0.8);
  const double b2 = (0.9 * 0.1 * 0.3 + 0.1 * 0.8) / (0.9 * 0.1 + 0.1);
  EXPECT_NEAR(learner.baseline(), b2, 1e-12);
  auto onehot = torch::zeros({4}, torch::kFloat64);
  onehot[s2.ops[0]] = 1;
  const auto want = -(0.8 - b2) / 3 * (onehot - p);
  EXPECT_TRUE(torch::allclose(table.grad()[0].to(torch::kFloat64), want, 1e-6, 1e-7))
      << table.grad() << want;
  const auto before = table.detach().clone().to(torch::kFloat64);
  const auto s3 = c->sample(&r);
  const double b3 = (0.9 * (0.9 * 0.1 * 0.3 + 0.1 * 0.8) + 0.1 * 0.5) /
                    (0.9 * (0.9 * 0.1 + 0.1) + 0.1);
  onehot.zero_();
  onehot[s3.ops[0]] = 1;
  const auto g = want - (0.5 - b3) / 3 * (onehot - p);
  learner.learn(s3, 0.5);  // the third sample: Adam steps
  const auto moved = table.detach().to(torch::kFloat64) - before;
  EXPECT_TRUE(torch::allclose(moved[0], -0.01 * g / (g.abs() + 1e-3), 1e-5, 1e-7))
      << moved << g;
  EXPECT_EQ(learner.samples(), 3);
}

// State round trip: tensors and JSON give the same next update.
TEST(Reinforce, StateRoundTripsThroughJson) {
  const search_space::Nb201Space space(nlohmann::json::object());
  auto make = [&] {
    core::Rng init(8);
    return Controller(space, lstm_options(), init);
  };
  ReinforceOptions ro;
  ro.aggregate = 2;
  auto a = make();
  Reinforce la(a, ro);
  core::Rng r(1);
  for (int i = 0; i < 3; ++i) la.learn(a->sample(&r), 0.1 * i);  // one pending gradient
  auto b = make();
  Reinforce lb(b, ro);
  lb.set_state_json(nlohmann::json::parse(la.state_json().dump()));
  core::Rng ra(9), rb(9);
  la.learn(a->sample(&ra), 0.7);
  lb.learn(b->sample(&rb), 0.7);
  for (const auto& [name, t] : la.state()) {
    const auto other = lb.state();
    const auto it = std::find_if(other.begin(), other.end(),
                                 [&](const auto& e) { return e.first == name; });
    ASSERT_NE(it, other.end());
    EXPECT_TRUE(torch::equal(t, it->second)) << name;
  }
}

// ENAS on the toy space: the controller's greedy rollout and the answer
// find the planted op.
TEST(Enas, FindsThePlantedOp) {
  auto toy = std::make_unique<testing::ToySpace>(1, 5);
  auto data = toy->make_data(1024, 3, 3);
  const auto* t = toy.get();
  Harness h("enas",
            {{"controller_steps", 20}, {"aggregate", 5}, {"controller_lr", 0.05},
             {"select_archs", 20}},
            std::move(toy), {}, std::move(data), 6);
  h.run();
  EXPECT_EQ(t->to_ops(h.strategy->best())[0], 3);
  const auto p = h.strategy->op_probabilities();
  EXPECT_GT(p[0][3].item<double>(), 0.5) << p;
}

TEST(Enas, RejectsBadOptionsNamingTheKey) {
  try {
    registry().create("enas", {{"policy", "gru"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("policy"), std::string::npos) << e.what();
  }
  EXPECT_THROW(registry().create("enas", {{"aggregate", 0}}), ConfigError);
  EXPECT_THROW(registry().create("enas", {{"baseline_decay", 1.0}}), ConfigError);
}

}  // namespace
}  // namespace nas::strategies
