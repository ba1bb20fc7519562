// Single-Path NAS's superkernel: every candidate is a part of one block's
// weights, and the indicators pick which.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/superkernel.h"

namespace nas::search_space {
namespace {

const std::vector<std::string> kProxyless = {"mb3_k3", "mb6_k3", "mb3_k5", "mb6_k5",
                                             "mb3_k7", "mb6_k7", "zero"};

/// A superkernel with random conv weights and BatchNorm scales (shifts and
/// running means 0, so a zeroed channel contributes exactly 0), eval mode.
Superkernel random_superkernel(int64_t c, const ChainMacro& m) {
  auto sk = std::make_shared<SuperkernelImpl>(c, c, 1, superkernel_layout(kProxyless, true, "t"),
                                              m);
  torch::NoGradGuard g;
  for (auto& p : sk->named_parameters()) {
    if (p.key().find("bn.weight") != std::string::npos) {
      p.value().uniform_(0.5, 1.5);
    } else if (p.key().find("bn.bias") == std::string::npos) {
      p.value().normal_(0, 0.3);
    }
  }
  sk->eval();
  return sk;
}

// The k x k / expansion-e candidate through the superkernel is the MBConv
// of its inner k x k kernel and first e * C channels.
TEST(Superkernel, EveryCandidateIsTheNestedMBConv) {
  torch::manual_seed(0);
  ChainMacro m;
  const int64_t c = 4;
  auto sk = random_superkernel(c, m);
  const auto x = torch::randn({2, c, 9, 9});
  const auto big = sk->named_parameters();
  for (int64_t col = 0; col < 6; ++col) {
    SCOPED_TRACE(kProxyless[static_cast<size_t>(col)]);
    const auto b = parse_block_op(kProxyless[static_cast<size_t>(col)]);
    MBConvImpl op(c, c, b, 1, m);
    op.eval();
    const int64_t mid = c * b.expansion, off = (7 - b.kernel) / 2;
    {
      torch::NoGradGuard g;
      for (auto& p : op.named_parameters()) {
        const auto& key = p.key();
        torch::Tensor src = key == "depthwise.weight" ? big["depthwise"] : big[key];
        if (key == "project.weight") {
          src = src.slice(1, 0, mid);
        } else if (key != "project_bn.weight" && key != "project_bn.bias") {
          src = src.slice(0, 0, mid);
        }
        if (key == "depthwise.weight") {
          src = src.slice(2, off, off + b.kernel).slice(3, off, off + b.kernel);
        }
        p.value().copy_(src);
      }
    }
    torch::NoGradGuard g;
    const auto got = sk->forward(x, sk->pattern(col));
    EXPECT_TRUE(torch::allclose(got, op.forward_modules(x), 1e-4, 1e-5))
        << (got - op.forward_modules(x)).abs().max().item<double>();
  }
  // zero: every channel dropped, the block adds nothing to its residual.
  torch::NoGradGuard g;
  EXPECT_EQ(sk->forward(x, sk->pattern(6)).abs().max().item<double>(), 0.0);
}

TEST(Superkernel, ThresholdsDecideKernelExpansionAndSkipWithAGradient) {
  torch::manual_seed(1);
  auto sk = random_superkernel(4, ChainMacro{});
  const auto& l = sk->layout();
  ASSERT_EQ(l.slots(), 4);  // 5x5 ring, 7x7 ring, expansion 6, the block
  auto select = [&](std::vector<double> t) {
    const auto d = sk->indicators(torch::tensor(t), 1.0);
    const auto s = sk->selection(d);
    EXPECT_EQ(s.sum().item<double>(), 1.0);
    return s.argmax().item<int64_t>();
  };
  EXPECT_EQ(select({0, 0, 0, 0}), 5);        // every part kept: mb6_k7
  EXPECT_EQ(select({1e3, 0, 0, 0}), 1);      // no 5x5 ring (so no 7x7): mb6_k3
  EXPECT_EQ(select({0, 1e3, 1e3, 0}), 2);    // 5x5, first half: mb3_k5
  EXPECT_EQ(select({0, 0, 0, 1e3}), 6);      // the block dropped: zero
  for (int64_t col = 0; col < 7; ++col) {
    EXPECT_EQ(sk->selection(sk->pattern(col)).argmax().item<int64_t>(), col);
  }
  auto t = torch::zeros({4}, torch::requires_grad());
  sk->selection(sk->indicators(t, 1.0))[5].backward();
  const auto g = t.grad();
  for (int64_t s = 0; s < 4; ++s) EXPECT_LT(g[s].item<double>(), 0) << s;
}

// The fused block equals its module calls, in training mode: outputs, and
// the gradients of the weights and of the thresholds through the masks.
TEST(Superkernel, FusedNodeMatchesModuleCallsWithGradients) {
  torch::manual_seed(2);
  ChainMacro m;
  m.activation = "relu";
  auto sk = std::make_shared<SuperkernelImpl>(4, 6, 2, superkernel_layout(kProxyless, false, "t"),
                                              m);
  sk->to(torch::kFloat64);
  sk->train();
  const auto x = torch::randn({3, 4, 9, 9}, torch::kFloat64);
  auto run = [&](bool fused) {
    auto t = torch::full({4}, 1.0, torch::dtype(torch::kFloat64).requires_grad(true));
    const auto d = sk->indicators(t, 1.0) * torch::tensor({1.0, 0.7, 1.0, 1.0}, torch::kFloat64);
    const auto y = fused ? sk->forward(x, d) : sk->forward_modules(x, d);
    const auto params = sk->parameters();
    std::vector<torch::Tensor> inputs(params.begin(), params.end());
    inputs.push_back(t);
    auto g = torch::autograd::grad({(y * y).sum()}, inputs);
    g.insert(g.begin(), y.detach());
    return g;
  };
  const auto fused = run(true), modules = run(false);
  ASSERT_EQ(fused.size(), modules.size());
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_TRUE(torch::allclose(fused[i], modules[i], 1e-8, 1e-10)) << i;
  }
  EXPECT_GT(fused.back().abs().sum().item<double>(), 0);  // the thresholds get a gradient
}

TEST(Superkernel, LayoutsNeedANestedGrid) {
  const auto l = superkernel_layout(kProxyless, false, "chain_proxyless");
  EXPECT_FALSE(l.skippable);
  EXPECT_EQ(l.columns.back().first, -2);  // zero not allowed here
  EXPECT_EQ(l.kernels, (std::vector<int64_t>{3, 5, 7}));
  EXPECT_EQ(l.expansions, (std::vector<int64_t>{3, 6}));
  EXPECT_THROW(superkernel_layout({"mb3_k3", "mb6_k5"}, true, "x"), ConfigError);
  EXPECT_THROW(superkernel_layout({"mb1_k3", "mb6_k3"}, true, "x"), ConfigError);
  EXPECT_THROW(superkernel_layout({"mb3_k3_g2", "mb6_k3"}, true, "x"), ConfigError);
  try {
    superkernel_layout({"mb3_k3", "mb6_k5", "mb3_k5"}, true, "chain_x");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("full grid"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nas::search_space
