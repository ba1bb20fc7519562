// Cost objectives reach every strategy: on the toy space, the accurate op
// is expensive and another op cheap; with a latency weight that matters
// each strategy moves to the cheap op, each in its own way (alpha's loss for
// DARTS, SNAS, GDAS and ProxylessNAS; the final selection for FairNAS and
// random_ws).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hardware/objective.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

constexpr int64_t kPlanted = 2;  // the op the labels depend on: slow
constexpr int64_t kCheap = 3;    // the fast op

hardware::CostTerm latency_term(const search_space::SearchSpace& space, double lambda,
                                const std::string& mode, double beta) {
  hardware::CostTerm t;
  t.name = "latency";
  t.table.space = space.name();
  for (const auto& d : space.decisions()) t.table.decisions.push_back(d.name);
  t.table.candidates = space.decisions().front().candidates;
  // none, block1 .. block4: block2 (planted) costs 10 ms, block3 1 ms.
  t.table.cost = {{5.0, 5.0, 10.0, 1.0, 5.0}};
  t.lambda = lambda;
  t.mode = mode;
  t.target = 5.0;
  t.beta = beta;
  return t;
}

struct Outcome {
  int64_t op;
  double p_cheap;  // probability of the cheap op (alpha strategies)
};

Outcome toy_search(const std::string& name, nlohmann::json options, int64_t epochs,
                   double lambda, const std::string& mode = "additive", double beta = 0.3) {
  auto toy = std::make_unique<testing::ToySpace>(1, 5);
  auto data = toy->make_data(1024, kPlanted, 3);
  const auto* t = toy.get();
  Harness h(name, std::move(options), std::move(toy), {}, std::move(data), epochs);
  const auto objective =
      hardware::CostObjective::from_terms(*t, {latency_term(*t, lambda, mode, beta)});
  if (objective.trains()) {
    h.ctx.objective.loss = [&](const torch::Tensor& loss, const torch::Tensor& probs) {
      return objective.apply(loss, probs);
    };
    h.ctx.objective.penalty = [&](const search_space::Architecture& arch) {
      return objective.penalty(arch);
    };
  }
  h.run();
  const auto probs = h.strategy->op_probabilities();
  return {t->to_ops(h.strategy->best())[0],
          probs.defined() ? probs[0][kCheap].item<double>() : 0.0};
}

void expect_moves_to_cheap_op(const std::string& name, const nlohmann::json& options,
                              int64_t epochs, double lambda, const std::string& mode,
                              double beta = 0.3) {
  const auto free = toy_search(name, options, epochs, 0.0, mode, beta);
  const auto costly = toy_search(name, options, epochs, lambda, mode, beta);
  EXPECT_EQ(free.op, kPlanted) << name << " without a latency term";
  EXPECT_EQ(costly.op, kCheap) << name << " with lambda " << lambda;
  if (name != "fairnas" && name != "random_ws") {
    EXPECT_GT(costly.p_cheap, free.p_cheap + 0.2) << name;
  }
}

TEST(Latency, DartsMovesToTheCheapOp) {
  expect_moves_to_cheap_op("darts", {{"alpha_lr", 3e-3}}, 10, 0.5, "additive");
}
TEST(Latency, SnasMovesToTheCheapOp) {
  expect_moves_to_cheap_op("snas", {{"alpha_lr", 3e-3}}, 20, 0.5, "additive");
}
TEST(Latency, GdasMovesToTheCheapOp) {
  expect_moves_to_cheap_op("gdas", {{"alpha_lr", 3e-3}, {"tau_max", 2.0}}, 20, 0.5, "additive");
}
TEST(Latency, ProxylessMovesToTheCheapOpInItsMultiplicativeForm) {
  expect_moves_to_cheap_op(
      "proxyless", {{"alpha_lr", 1e-2}, {"warmup_epochs", 1}, {"arch_update_every", 1}}, 20,
      20.0, "proxyless");
}
// FBNet's CE * a * (log LAT)^b: the factor `a` alone does not move an Adam
// step, the exponent does (b = 6 here, as ProxylessNAS's test's 20 * 0.3).
TEST(Latency, FbnetMovesToTheCheapOpInItsMultiplicativeForm) {
  expect_moves_to_cheap_op("fbnet", {{"alpha_lr", 1e-2}, {"warmup_epochs", 1}, {"tau_max", 1.0}},
                           20, 0.2, "fbnet", 6.0);
}
TEST(Latency, FairNasSelectsTheCheapOp) {
  expect_moves_to_cheap_op("fairnas", {{"eval_archs", 20}, {"top_k", 3}}, 10, 0.5, "additive");
}
TEST(Latency, RandomWsSelectsTheCheapOp) {
  expect_moves_to_cheap_op("random_ws", {{"eval_archs", 20}, {"top_k", 3}}, 20, 0.5,
                           "additive");
}

}  // namespace
}  // namespace nas::strategies
