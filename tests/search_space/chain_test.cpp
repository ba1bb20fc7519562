#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/error.h"
#include "hardware/cost.h"
#include "search_space/chain.h"

#include <torch/torch.h>

namespace nas::search_space {
namespace {

// The reference counts are torchvision's own `num_params` of each model
// builder (docs: pytorch.org/vision/stable/models), i.e.
// sum(p.numel() for p in model.parameters()) at 1000 classes: BatchNorm
// weight and bias included, running statistics not.

ChainMacro mobilenet_v2() {
  // torchvision MobileNetV2: stem 32, t=1 block -> 16, then (t, c, n, s)
  // (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1),
  // 1x1 conv -> 1280, dropout 0.2, linear.
  ChainMacro m;
  m.name = "mobilenet_v2";
  m.stages = {{24, 2, 2}, {32, 3, 2}, {64, 4, 2}, {96, 3, 1}, {160, 3, 2}, {320, 1, 1}};
  m.dropout = 0.2;
  return m;
}

ChainMacro mnasnet_b1(double alpha) {
  // torchvision MNASNet (v2 stem): conv 3x3 -> d0, separable conv (dw 3x3,
  // pw -> d1) = an MBConv of expansion 1, then stacks (kernel, expansion,
  // repeats, stride) (3,3,3,2) (5,3,3,2) (5,6,3,2) (3,6,2,1) (5,6,4,2)
  // (3,6,1,1), 1x1 conv -> 1280, ReLU. Depths [32,16,24,40,80,96,192,320]
  // rounded to multiples of 8 (`_round_to_multiple_of`, bias 0.9) — listed
  // here as they come out, since the table holds channels, not a rule.
  ChainMacro m;
  m.name = "mnasnet_b1";
  m.activation = "relu";
  m.bn_momentum = 1 - 0.9997;
  m.dropout = 0.2;
  if (alpha == 1.0) {
    m.stem = 32;
    m.first_channels = 16;
    m.stages = {{24, 3, 2}, {40, 3, 2}, {80, 3, 2}, {96, 2, 1}, {192, 4, 2}, {320, 1, 1}};
  } else {  // 0.5: [16, 8, 16, 24, 40, 48, 96, 160]
    m.stem = 16;
    m.first_channels = 8;
    m.stages = {{16, 3, 2}, {24, 3, 2}, {40, 3, 2}, {48, 2, 1}, {96, 4, 2}, {160, 1, 1}};
  }
  return m;
}

std::vector<std::string> mnasnet_ops() {
  std::vector<std::string> ops;
  const std::vector<std::pair<std::string, int>> stacks = {
      {"mb3_k3", 3}, {"mb3_k5", 3}, {"mb6_k5", 3}, {"mb6_k3", 2}, {"mb6_k5", 4}, {"mb6_k3", 1}};
  for (const auto& [op, n] : stacks) ops.insert(ops.end(), n, op);
  return ops;
}

NetworkOptions imagenet() {
  NetworkOptions o;
  o.num_classes = 1000;
  o.in_channels = 3;
  o.input_size = 224;
  return o;
}

int64_t params(const Network& net) { return hardware::count_parameters(*net); }

// ProxylessNAS's published nets as osmr/imgclsmob `pytorchcv/models/
// proxylessnas.py` defines them (its _test() asserts the counts used
// below): per block a kernel, an expansion and `residual` 0 where the
// searched op is zero (the block is skipped). Skeleton: stem, a fixed
// MBConv-1 3x3 first block, stages of 4, 4, 4, 4, 4 and 1 blocks, strides
// 2, 2, 2, 1, 2, 1.
struct ProxylessNet {
  int64_t stem, first, mix;
  std::vector<int64_t> widths;  // the six stages
  std::vector<int> kernels, expansions, residuals;  // the 21 searchable blocks
};

std::pair<ChainMacro, std::vector<std::string>> proxyless(const ProxylessNet& p) {
  ChainMacro m;
  m.name = "proxyless";
  m.stem = p.stem;
  m.first_channels = p.first;
  m.feature_mix = p.mix;
  const std::vector<int64_t> blocks = {4, 4, 4, 4, 4, 1}, strides = {2, 2, 2, 1, 2, 1};
  for (size_t i = 0; i < 6; ++i) m.stages.push_back({p.widths[i], blocks[i], strides[i]});
  std::vector<std::string> ops;
  for (size_t i = 0; i < p.kernels.size(); ++i) {
    ops.push_back(p.residuals[i] == 0 ? "zero"
                                      : fmt::format("mb{}_k{}", p.expansions[i], p.kernels[i]));
  }
  return {m, ops};
}

TEST(Chain, MobileNetV2HasTorchvisionsParameterCount) {
  const auto m = mobilenet_v2();
  const auto net = build_chain_network(m, std::vector<std::string>(16, "mb6_k3"), imagenet());
  EXPECT_EQ(params(net), 3504872);
  net->eval();
  const auto y = net->forward(torch::randn({2, 3, 224, 224}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 1000}));
}

TEST(Chain, MnasNetB1HasTorchvisionsParameterCounts) {
  EXPECT_EQ(params(build_chain_network(mnasnet_b1(1.0), mnasnet_ops(), imagenet())), 4383312);
  EXPECT_EQ(params(build_chain_network(mnasnet_b1(0.5), mnasnet_ops(), imagenet())), 2218512);
}

TEST(Chain, ProxylessNasNetsHaveTheReferenceParameterCounts) {
  const ProxylessNet mobile{32, 16, 1280, {32, 40, 80, 96, 192, 320},
                            {5, 3, 3, 3, 7, 3, 5, 5, 7, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7},
                            {3, 3, 3, 3, 3, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6, 6, 3, 3, 6},
                            {1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
  const ProxylessNet cpu{40, 24, 1432, {32, 48, 88, 104, 216, 360},
                         {3, 3, 3, 3, 3, 3, 3, 5, 3, 3, 3, 3, 5, 3, 3, 3, 5, 5, 5, 3, 5},
                         {6, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6},
                         {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};
  const ProxylessNet gpu{40, 24, 1728, {32, 56, 112, 128, 256, 432},
                         {5, 3, 3, 3, 7, 3, 3, 3, 7, 5, 5, 5, 5, 3, 3, 5, 7, 7, 7, 5, 7},
                         {3, 3, 3, 3, 3, 3, 3, 3, 6, 3, 3, 3, 6, 3, 3, 3, 6, 6, 6, 6, 6},
                         {1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1}};
  for (const auto& [net, count] : {std::pair{mobile, 4080512}, {cpu, 4361648}, {gpu, 7119848}}) {
    const auto [macro, ops] = proxyless(net);
    EXPECT_EQ(params(build_chain_network(macro, ops, imagenet())), count);
  }
}

TEST(Chain, WidthRoundingFollowsTheReference) {
  EXPECT_EQ(make_divisible(32 * 0.75), 24);
  EXPECT_EQ(make_divisible(24 * 0.35), 8);
  EXPECT_EQ(make_divisible(96 * 1.4), 136);
  EXPECT_EQ(make_divisible(20), 24);  // 16 would be under 90% of 20
  auto m = mobilenet_v2();
  m.width_mult = 0.5;
  // torchvision mobilenet_v2(width_mult=0.5): 1,968,680 parameters, counted
  // layer by layer after torchvision's MobileNetV2.__init__ (a script of
  // its channel arithmetic, which gives 3,504,872 at width 1.0).
  EXPECT_EQ(params(build_chain_network(m, std::vector<std::string>(16, "mb6_k3"), imagenet())),
            1968680);
}

// Multiply-adds of convolutions and the classifier, as a forward hook on
// every nn.Conv2d (out.numel() * in/groups * k * k) and nn.Linear counts
// them on torchvision 0.14 (Debian's python3-torchvision) at 1x3x224x224.
TEST(Chain, MultiplyAddsMatchTorchvision) {
  const auto mb2 = std::vector<std::string>(16, "mb6_k3");
  EXPECT_EQ(chain_macs(mobilenet_v2(), mb2, imagenet()), 300774272.0);
  auto half = mobilenet_v2();
  half.width_mult = 0.5;
  EXPECT_EQ(chain_macs(half, mb2, imagenet()), 97131840.0);
  EXPECT_EQ(chain_macs(mnasnet_b1(1.0), mnasnet_ops(), imagenet()), 314415872.0);
  EXPECT_EQ(chain_macs(mnasnet_b1(0.5), mnasnet_ops(), imagenet()), 104455968.0);
}

TEST(Chain, ZeroSkipsOnlyResidualBlocksAndBadOpsAreNamed) {
  const auto m = mobilenet_v2();
  auto ops = std::vector<std::string>(16, "mb6_k3");
  ops[1] = "zero";  // stage 1, second block: stride 1, 24 -> 24
  const auto skipped = build_chain_network(m, ops, imagenet());
  EXPECT_LT(params(skipped), 3504872);
  ops[0] = "zero";  // stride 2, 16 -> 24: no residual
  EXPECT_THROW(build_chain_network(m, ops, imagenet()), ConfigError);
  EXPECT_THROW(parse_block_op("mb6_k4"), ConfigError);
  EXPECT_THROW(build_chain_network(m, std::vector<std::string>(3, "mb6_k3"), imagenet()),
               ConfigError);
  EXPECT_EQ(parse_block_op("mb3_k7").kernel, 7);
  EXPECT_EQ(parse_block_op("mb1_k5_g2").groups, 2);
  EXPECT_TRUE(parse_block_op("skip").skip);
  EXPECT_THROW(parse_block_op("mb1_k5_g9"), ConfigError);
}

// FBNet's skip: the identity where the block keeps width and stride, a
// 1x1 conv -> BN -> ReLU otherwise; grouped MBConv shuffles the channels
// (ShuffleNet's view-transpose-reshape, as mobile-vision's ChannelShuffle).
TEST(Chain, SkipIsIdentityOrProjectionAndGroupsShuffle) {
  ChainMacro m = builtin_chain_tables().at("fbnet");
  EXPECT_EQ(make_block_op(parse_block_op("skip"), 16, 16, 1, m), nullptr);
  const auto proj = make_block_op(parse_block_op("skip"), 16, 24, 2, m);
  ASSERT_NE(proj, nullptr);
  EXPECT_EQ(hardware::count_parameters(*proj), 16 * 24 + 2 * 24);
  const auto y = proj->forward(torch::randn({2, 16, 8, 8}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 24, 4, 4}));
  EXPECT_GE(y.min().item<double>(), 0.0);
  // mb1_k3_g2 on 16 -> 16: no expansion, shuffle, depthwise (144 + 16),
  // projection in 2 groups (16 * 8), three BNs' affine (3 x 32 ... 2 x 32).
  const auto g2 = make_block_op(parse_block_op("mb1_k3_g2"), 16, 16, 1, m);
  EXPECT_EQ(hardware::count_parameters(*g2), 16 * 9 + 2 * 16 + 16 * 8 + 2 * 16);
  EXPECT_THROW(make_block_op(parse_block_op("mb1_k3_g2"), 15, 16, 1, m), ConfigError);
  g2->eval();
  const auto x = torch::randn({1, 16, 5, 5});
  EXPECT_EQ(g2->forward(x).sizes(), x.sizes());
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  EXPECT_LE(err, 1e-10 * std::max(1.0, b.abs().max().item<double>())) << what << ": " << err;
}

// MBConv runs as one fused node (`forward_scaled`, `forward`); it must be
// its modules' calls times the op weight: outputs, running
// statistics and every gradient, for each kernel/expansion/stride, both
// activations, in training and eval mode.
TEST(Chain, FusedMBConvMatchesItsModules) {
  for (const auto* act : {"relu6", "relu"}) {
    ChainMacro m;
    m.activation = act;
    for (const int64_t e : {1, 3, 6}) {
      for (const int64_t k : {3, 5, 7}) {
        for (const int64_t stride : {1, 2}) {
          for (const bool training : {true, false}) {
            const auto what = fmt::format("{} mb{}_k{} stride {} {}", act, e, k, stride,
                                          training ? "train" : "eval");
            const BlockOp op{e, k, 1, false};
            MBConvImpl a(4, 6, op, stride, m), b(4, 6, op, stride, m);
            a.to(torch::kDouble);
            b.to(torch::kDouble);
            {
              torch::NoGradGuard no_grad;
              for (auto& p : a.named_parameters()) {  // BN outputs past ReLU6's 6 too
                if (p.key().find("bn.weight") != std::string::npos) p.value().uniform_(0.5, 3);
                if (p.key().find("bn.bias") != std::string::npos) p.value().uniform_(-2, 5);
              }
              for (auto& t : a.named_buffers()) {
                if (t.key().find("running_var") != std::string::npos) t.value().fill_(1.7);
              }
              for (auto& p : b.named_parameters()) p.value().copy_(a.named_parameters()[p.key()]);
              for (auto& t : b.named_buffers()) t.value().copy_(a.named_buffers()[t.key()]);
            }
            a.train(training);
            b.train(training);
            const auto x = torch::randn({3, 4, 9, 9}, torch::kDouble) * 3;
            auto xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
            auto wa = torch::full({}, 0.6, torch::kDouble).requires_grad_();
            auto wb = wa.detach().clone().requires_grad_();
            const auto ref = a.forward_modules(xa) * wa;
            const auto out = b.forward_scaled(xb, wb);
            expect_close(out, ref.detach(), what + " output");
            const auto g = torch::randn_like(ref);
            (ref * g).sum().backward();
            (out * g).sum().backward();
            expect_close(xb.grad(), xa.grad(), what + " input gradient");
            expect_close(wb.grad(), wa.grad(), what + " op-weight gradient");
            const auto pa = a.named_parameters(), pb = b.named_parameters();
            for (const auto& p : pa) expect_close(pb[p.key()].grad(), p.value().grad(), what + " " + p.key());
            const auto ba = a.named_buffers(), bb = b.named_buffers();
            for (const auto& t : ba) expect_close(bb[t.key()], t.value(), what + " " + t.key());
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace nas::search_space
