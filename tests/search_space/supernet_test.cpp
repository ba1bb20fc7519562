#include <gtest/gtest.h>
#include <torch/torch.h>

#include "search_space/darts_space.h"
#include "tests/search_space/genotypes.h"

namespace nas::search_space {
namespace {

NetworkOptions tiny(const SearchSpace& s) {
  NetworkOptions o = s.search_defaults();
  o.C = 4;
  o.layers = 3;
  o.in_channels = 1;
  o.input_size = 8;
  return o;
}

TEST(Supernet, OnlyActiveOpsRun) {
  DartsSpace s(DartsSpace::default_options());
  auto net = s.build_supernet(tiny(s));
  const auto arch = s.parse(testing::kDartsV2);
  net->reset_calls();
  net->forward(torch::randn({2, 1, 8, 8}), s.path_of(arch));
  // Per cell, exactly the genotype's ops ran once, on their edges.
  int64_t total = 0;
  for (const auto& [decision, op] : net->mixed_ops()) {
    for (auto c : op->calls()) total += c;
  }
  EXPECT_EQ(total, 3 * 8);  // 3 cells x 8 genotype edges

  net->reset_calls();
  const auto w = torch::softmax(torch::randn({28, 8}), 1);
  net->forward(torch::randn({2, 1, 8, 8}), PathSpec::weighted_all(w));
  for (const auto& [decision, op] : net->mixed_ops()) {
    EXPECT_EQ(op->calls()[0], 0) << "none must never run";
    for (int64_t k = 1; k < 8; ++k) EXPECT_EQ(op->calls()[k], 1);
  }
}

// Pools + BN of one state are computed once per cell forward and shared by
// every edge that reads the state; each op's BatchNorm still keeps its own
// running statistics, as if it had run alone.
TEST(Supernet, SharedPoolsKeepEachOpsRunningStatistics) {
  DartsSpace s(DartsSpace::default_options());
  auto running_mean = [](MixedOpImpl& m) {
    return m.op(1).named_buffers()["bn.running_mean"].clone();  // max_pool_3x3
  };
  const auto x = torch::randn({2, 1, 8, 8});
  // Normal cell 0: edges 0, 2, 5, 9 read state 0.
  auto run = [&](const std::vector<int64_t>& pool_edges) {
    torch::manual_seed(0);
    auto net = s.build_supernet(tiny(s));
    PathSpec path;
    path.edges.resize(28);
    for (auto e : pool_edges) path.edges[e].ops = {1, 2};  // max and avg pool: a mixture
    net->train();
    net->forward(x, path);
    std::vector<torch::Tensor> means;
    for (int64_t e : {0, 2, 5, 9}) means.push_back(running_mean(*net->mixed_ops()[e].second));
    return means;
  };
  const auto alone = run({0});
  const auto shared = run({0, 2, 5});
  EXPECT_TRUE(torch::equal(shared[0], alone[0])) << "sharing changed the statistics";
  EXPECT_TRUE(torch::equal(shared[1], alone[0]));
  EXPECT_TRUE(torch::equal(shared[2], alone[0]));
  EXPECT_GT(alone[0].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(shared[3].abs().sum().item<double>(), 0.0) << "an op that did not run was updated";
  EXPECT_EQ(alone[1].abs().sum().item<double>(), 0.0);
}

// In eval mode the pooling of one state is shared, and each pool op's
// BatchNorm normalises it with its own running statistics.
TEST(Supernet, SharedPoolsInEvalModeUseEachOpsRunningStatistics) {
  DartsSpace s(DartsSpace::default_options());
  torch::manual_seed(0);
  auto net = s.build_supernet(tiny(s));
  net->eval();
  auto& a = *net->mixed_ops()[0].second;
  auto& b = *net->mixed_ops()[2].second;
  {
    torch::NoGradGuard no_grad;
    for (auto* m : {&a, &b}) {
      for (const int64_t k : {1, 2}) {  // max and avg pool
        auto buffers = m->op(k).named_buffers();
        buffers["bn.running_mean"].uniform_(-1, 1);
        buffers["bn.running_var"].uniform_(0.5, 2);
      }
    }
  }
  const auto x = torch::randn({2, 4, 8, 8});
  EdgeChoice pools;
  pools.ops = {1, 2};
  pools.weights = torch::tensor({0.4, 0.6});
  SharedResults shared;
  const auto ya = a.forward(x, pools, &shared), yb = b.forward(x, pools, &shared);
  EXPECT_EQ(shared.entries.size(), 2u) << "one max and one average pooling of x";
  EXPECT_TRUE(torch::allclose(ya, a.forward(x, pools), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(yb, b.forward(x, pools), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(ya, yb)) << "the ops' own statistics were not used";
}

TEST(Supernet, WeightedSumMatchesManualMixture) {
  DartsSpace s(DartsSpace::default_options());
  auto net = s.build_supernet(tiny(s));
  net->eval();
  auto& mixed = *net->mixed_ops().front().second;
  const auto x = torch::randn({2, 4, 8, 8});
  EdgeChoice all;
  all.ops = {0, 1, 4};
  all.weights = torch::tensor({0.5, 0.2, 0.3});
  const auto y = mixed.forward(x, all);
  const auto expected = 0.2 * mixed.op(1).forward(x) + 0.3 * mixed.op(4).forward(x);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-6));
  EdgeChoice only_none;
  only_none.ops = {0};
  EXPECT_FALSE(mixed.forward(x, only_none).defined());
}

TEST(Supernet, AlphaGetsGradientThroughWeights) {
  DartsSpace s(DartsSpace::default_options());
  auto net = s.build_supernet(tiny(s));
  auto alpha = (1e-3 * torch::randn({28, 8})).requires_grad_(true);
  auto out = net->forward(torch::randn({2, 1, 8, 8}),
                          PathSpec::weighted_all(torch::softmax(alpha, 1)));
  out.sum().backward();
  ASSERT_TRUE(alpha.grad().defined());
  EXPECT_GT(alpha.grad().abs().sum().item<double>(), 0.0);
  // Alpha is not a module parameter.
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.is_same(alpha));
}

}  // namespace
}  // namespace nas::search_space
