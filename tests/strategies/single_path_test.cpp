// Single-Path NAS on a chain: the thresholds train with the weights, and a
// latency term raises them until the blocks choose cheaper candidates.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "hardware/objective.h"
#include "search_space/chain_space.h"
#include "strategies/single_path.h"
#include "tests/strategies/harness.h"

namespace nas::strategies {
namespace {

std::unique_ptr<search_space::SearchSpace> chain(const std::string& name) {
  search_space::SpaceRegistry r("space");
  search_space::register_builtin_spaces(r);
  return r.create(name, nlohmann::json::object());
}

search_space::NetworkOptions tiny_chain() {
  search_space::NetworkOptions o;
  o.width_mult = 0.05;  // 8 channels a block
  o.in_channels = 1;
  o.input_size = 8;
  o.affine = true;
  return o;
}

/// A latency table where a candidate costs kernel^2 * expansion / 100 ms
/// (zero: nothing) on every block, 1 ms fixed.
hardware::CostTerm cost_by_size(const search_space::SearchSpace& space, double lambda) {
  hardware::CostTerm t;
  t.name = "latency";
  t.table.space = space.name();
  const auto decisions = space.decisions();
  for (const auto& d : decisions) t.table.decisions.push_back(d.name);
  t.table.candidates = decisions.front().candidates;
  std::vector<double> row;
  for (const auto& c : t.table.candidates) {
    const auto b = search_space::parse_block_op(c);
    row.push_back(static_cast<double>(b.kernel * b.kernel * b.expansion) / 100.0);
  }
  t.table.cost.assign(decisions.size(), row);
  t.table.fixed = 1.0;
  t.lambda = lambda;
  t.mode = "single_path";
  return t;
}

struct Outcome {
  double latency;          // the answer's, from the table
  double mean_threshold;
};

Outcome search(double lambda) {
  auto space = chain("chain_proxyless");
  const auto* s = space.get();
  data::SyntheticOptions d;
  d.train_size = 512;
  d.channels = 1;
  d.size = 8;
  Harness h("single_path", {{"warmup_epochs", 1}, {"alpha_lr", 0.5}}, std::move(space),
            tiny_chain(), data::make_synthetic(d), 6);
  const auto objective = hardware::CostObjective::from_terms(*s, {cost_by_size(*s, lambda)});
  h.ctx.objective.loss = [&](const torch::Tensor& loss, const torch::Tensor& probs) {
    return objective.apply(loss, probs);
  };
  h.run();
  const auto& sp = dynamic_cast<const SinglePath&>(*h.strategy);
  const auto cost = cost_by_size(*s, lambda).table;
  return {cost.predict(*s, h.strategy->best()), sp.thresholds().mean().item<double>()};
}

TEST(SinglePath, LatencyTermRaisesThresholdsToCheaperCandidates) {
  const auto free = search(0.0);
  const auto costly = search(20.0);
  EXPECT_GT(costly.mean_threshold, free.mean_threshold + 0.5);
  EXPECT_LT(costly.latency, 0.7 * free.latency) << free.latency;
}

TEST(SinglePath, NeedsAChainWhoseCandidatesNest) {
  auto r = registry();
  const auto s = r.create("single_path", nlohmann::json::object());
  search_space::NetworkOptions o;
  for (const char* name : {"darts", "nb201", "chain_fbnet"}) {
    EXPECT_THROW(s->configure_supernet(*chain(name), o), ConfigError) << name;
  }
  EXPECT_FALSE(o.superkernel);
  s->configure_supernet(*chain("chain_fairnas"), o);
  EXPECT_TRUE(o.superkernel);
  EXPECT_EQ(chain("chain_fairnas")->build_supernet([&] {
    auto t = tiny_chain();
    t.superkernel = true;
    return t;
  }())->superkernel_slots(), 4);  // 5x5 and 7x7 rings, expansion 6, the block (kept)
}

}  // namespace
}  // namespace nas::strategies
