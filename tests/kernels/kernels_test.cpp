// The fused ReLU-conv-BN chains and the depthwise kernel against the unfused
// LibTorch modules: same outputs, same running statistics, same gradients
// (double precision, every parameter and the op weight), and a
// finite-difference check of the op-weight gradient.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/depthwise.h"
#include "kernels/pointwise.h"
#include "kernels/pool.h"
#include "kernels/relu_conv_bn.h"
#include "kernels/weighted_sum.h"

namespace nas::kernels {
namespace {

namespace nn = torch::nn;

nn::BatchNorm2d make_bn(int64_t c, bool affine, bool track) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).affine(affine).track_running_stats(track));
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what,
                  double tol = 1e-10) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what << ": max |difference| " << err;
}

TEST(Depthwise, MatchesConv2dForwardAndBackward) {
  torch::manual_seed(0);
  struct Case {
    int64_t n, c, h, w;
    DepthwiseGeometry g;
  };
  const std::vector<Case> cases = {{2, 3, 8, 8, {3, 1, 1, 1}}, {2, 3, 9, 7, {5, 1, 2, 1}},
                                   {3, 4, 8, 8, {3, 2, 1, 1}}, {2, 3, 7, 9, {5, 2, 2, 1}},
                                   {2, 2, 8, 8, {3, 1, 2, 2}}, {2, 2, 9, 9, {5, 2, 4, 2}},
                                   {1, 5, 6, 6, {3, 1, 0, 1}}, {2, 3, 5, 5, {7, 1, 3, 1}}};
  for (const auto& k : cases) {
    for (bool relu : {false, true}) {
      const std::string what = fmt::format("k{} s{} d{}{}", k.g.kernel, k.g.stride,
                                           k.g.dilation, relu ? " relu" : "");
      auto x = torch::randn({k.n, k.c, k.h, k.w}, torch::kDouble).requires_grad_();
      auto w = torch::randn({k.c, 1, k.g.kernel, k.g.kernel}, torch::kDouble).requires_grad_();
      auto ref = torch::conv2d(relu ? torch::relu(x) : x, w, {}, k.g.stride, k.g.padding,
                               k.g.dilation, k.c);
      const auto y = depthwise_conv(x.detach(), w.detach(), k.g, relu);
      expect_close(y, ref.detach(), what + " forward");
      const auto g = torch::randn_like(ref);
      const auto grads = torch::autograd::grad({ref}, {x, w}, {g});
      const auto [gx, gw] =
          depthwise_conv_backward(g, x.detach(), w.detach(), k.g, relu, true, true);
      expect_close(gx, grads[0], what + " input gradient");
      expect_close(gw, grads[1], what + " weight gradient");
      const auto only_w =
          depthwise_conv_backward(g, x.detach(), w.detach(), k.g, relu, false, true);
      EXPECT_FALSE(only_w.first.defined());
      expect_close(only_w.second, grads[1], what + " weight gradient alone");
    }
  }
}

TEST(Depthwise, RejectsMismatchedWeights) {
  const auto x = torch::randn({1, 3, 8, 8});
  EXPECT_THROW(depthwise_conv(x, torch::randn({4, 1, 3, 3}), {3, 1, 1, 1}, false), c10::Error);
  EXPECT_THROW(depthwise_conv(x, torch::randn({3, 1, 5, 5}), {3, 1, 1, 1}, false), c10::Error);
  EXPECT_THROW(depthwise_conv(torch::randn({3, 8, 8}), torch::randn({3, 1, 3, 3}), {}, false),
               c10::Error);
}

TEST(Pointwise, MatchesConv2dForwardAndBackward) {
  torch::manual_seed(0);
  // Channel counts around the 4-row blocks, positions around the 16- and
  // 8-wide vectors (and their scalar tails), float and double.
  struct Case {
    int64_t n, ci, co, h, w;
  };
  const std::vector<Case> cases = {{2, 3, 4, 4, 4}, {3, 8, 8, 7, 7},  {2, 5, 7, 5, 3},
                                   {1, 16, 9, 2, 9}, {2, 24, 8, 4, 5}, {1, 1, 1, 1, 1}};
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
    for (const auto& k : cases) {
      const std::string what = fmt::format("{}->{} {}x{} {}", k.ci, k.co, k.h, k.w,
                                           dtype == torch::kDouble ? "double" : "float");
      auto x = torch::randn({k.n, k.ci, k.h, k.w}, dtype).requires_grad_();
      auto w = torch::randn({k.co, k.ci, 1, 1}, dtype).requires_grad_();
      auto ref = torch::conv2d(x, w);
      expect_close(pointwise_conv(x.detach(), w.detach()), ref.detach(), what + " forward", tol);
      const auto g = torch::randn_like(ref);
      const auto grads = torch::autograd::grad({ref}, {x, w}, {g});
      const auto [gx, gw] = pointwise_conv_backward(g, x.detach(), w.detach(), true, true);
      expect_close(gx, grads[0], what + " input gradient", tol);
      expect_close(gw, grads[1], what + " weight gradient", tol);
      const auto only_x = pointwise_conv_backward(g, x.detach(), w.detach(), true, false);
      EXPECT_FALSE(only_x.second.defined());
      expect_close(only_x.first, grads[0], what + " input gradient alone", tol);
    }
  }
  // Strided (non-contiguous) input: the same values as its contiguous copy.
  const auto x = torch::randn({2, 6, 5, 5}).transpose(2, 3);
  const auto w = torch::randn({4, 6, 1, 1});
  EXPECT_TRUE(torch::equal(pointwise_conv(x, w), pointwise_conv(x.contiguous(), w)));
}

TEST(Pointwise, RejectsMismatchedWeights) {
  const auto x = torch::randn({1, 3, 4, 4});
  EXPECT_THROW(pointwise_conv(x, torch::randn({4, 2, 1, 1})), c10::Error);
  EXPECT_THROW(pointwise_conv(x, torch::randn({4, 3, 3, 3})), c10::Error);
  EXPECT_THROW(pointwise_conv(torch::randn({3, 4, 4}), torch::randn({4, 3, 1, 1})), c10::Error);
}

torch::Tensor aten_pool(const torch::Tensor& x, int64_t stride, bool max) {
  return max ? torch::max_pool2d(x, {3, 3}, {stride, stride}, {1, 1})
             : torch::avg_pool2d(x, {3, 3}, {stride, stride}, {1, 1}, false, false);
}

TEST(Pool, MatchesAtenForwardAndBackward) {
  torch::manual_seed(0);
  // Sizes around the 8-wide vectors and their scalar tails, odd sizes at
  // stride 2, a single pixel; float and double.
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 3, 28, 28}, {3, 5, 7, 7}, {2, 4, 14, 14}, {1, 2, 5, 9}, {2, 3, 1, 1}, {1, 1, 2, 3}};
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-6;
    for (const auto& shape : shapes) {
      for (const int64_t stride : {1, 2}) {
        for (const bool max : {true, false}) {
          const std::string what = fmt::format("{} {} stride {} {}", max ? "max" : "avg",
                                               fmt::join(shape, "x"), stride,
                                               dtype == torch::kDouble ? "double" : "float");
          auto x = torch::randn(shape, dtype).requires_grad_();
          auto ref = aten_pool(x, stride, max);
          auto own = pool_3x3(x, stride, max);
          if (max) {
            EXPECT_TRUE(torch::equal(own, ref)) << what;
          } else {
            expect_close(own, ref, what + " forward", tol);
          }
          const auto g = torch::randn_like(ref);
          const auto want = torch::autograd::grad({ref}, {x}, {g})[0];
          const auto got = torch::autograd::grad({own}, {x}, {g})[0];
          expect_close(got, want, what + " gradient", tol);
        }
      }
    }
  }
}

TEST(Pool, TiesAndNonFiniteValuesAsAten) {
  // A constant plane: every window ties, and the gradient goes to the first
  // tap inside the plane in row-major order, as ATen's does (the sums of
  // the gradients that meet on one input differ only in their order).
  for (const int64_t stride : {1, 2}) {
    auto x = torch::ones({1, 2, 6, 5}, torch::kDouble).requires_grad_();
    auto ref = aten_pool(x, stride, true);
    auto own = pool_3x3(x, stride, true);
    const auto g = torch::randn_like(ref);
    expect_close(torch::autograd::grad({own}, {x}, {g})[0],
                 torch::autograd::grad({ref}, {x}, {g})[0],
                 fmt::format("ties, stride {}", stride), 1e-12);
  }
  // A NaN in a window makes its maximum NaN; -inf stays -inf.
  auto x = torch::randn({1, 1, 4, 4});
  x[0][0][1][1] = std::numeric_limits<float>::quiet_NaN();
  x[0][0][3][3] = -std::numeric_limits<float>::infinity();
  const auto own = pool_3x3(x, 1, true), ref = aten_pool(x, 1, true);
  EXPECT_TRUE(torch::equal(own.isnan(), ref.isnan()));
  EXPECT_TRUE(torch::equal(own.nan_to_num(0), ref.nan_to_num(0)));
  // Non-contiguous input: the values of its contiguous copy.
  const auto t = torch::randn({2, 3, 6, 7}).transpose(2, 3);
  EXPECT_TRUE(torch::equal(pool_3x3(t, 2, false), pool_3x3(t.contiguous(), 2, false)));
  EXPECT_THROW(pool_3x3(t, 3, true), c10::Error);
}

// Terms of a mixture (weighted and unweighted, one non-contiguous) against
// the same sum in LibTorch ops: the same values, the same gradients.
TEST(WeightedSum, MatchesMulAndAddForwardAndBackward) {
  torch::manual_seed(0);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const std::vector<int64_t> shape{3, 5, 7, 9};  // 945 elements: blocks and tails
    std::vector<torch::Tensor> values, weights;
    std::vector<SumTerm> terms;
    for (int k = 0; k < 6; ++k) {
      values.push_back(k == 4 ? torch::randn({3, 5, 9, 7}, dtype).transpose(2, 3).requires_grad_()
                              : torch::randn(shape, dtype).requires_grad_());
      weights.push_back(k % 3 == 1 ? torch::Tensor() : torch::rand({}, dtype).requires_grad_());
      terms.push_back({values[k], weights[k]});
    }
    torch::Tensor ref;
    for (const auto& t : terms) {
      const auto v = t.weight.defined() ? t.value * t.weight : t.value;
      ref = ref.defined() ? ref + v : v;
    }
    const auto own = weighted_sum(terms);
    EXPECT_TRUE(torch::equal(own, ref)) << "the same operations in the same order";
    std::vector<torch::Tensor> inputs = values;
    for (const auto& w : weights) {
      if (w.defined()) inputs.push_back(w);
    }
    const auto g = torch::randn(shape, dtype);
    const auto want = torch::autograd::grad({ref}, inputs, {g});
    const auto got = torch::autograd::grad({own}, inputs, {g});
    for (size_t i = 0; i < inputs.size(); ++i) {
      expect_close(got[i], want[i], fmt::format("input {}", i),
                   dtype == torch::kDouble ? 1e-12 : 1e-5);
    }
    // The weights' gradients do not depend on the number of threads.
    const int threads = torch::get_num_threads();
    torch::set_num_threads(1);
    const auto one = torch::autograd::grad({weighted_sum(terms)}, {weights[0]}, {g});
    torch::set_num_threads(2);
    const auto two = torch::autograd::grad({weighted_sum(terms)}, {weights[0]}, {g});
    torch::set_num_threads(threads);
    EXPECT_TRUE(torch::equal(one[0], two[0]));
  }
  EXPECT_FALSE(weighted_sum({}).defined());
  const auto x = torch::randn({2, 3});
  EXPECT_TRUE(weighted_sum({{x, {}}}).is_same(x)) << "a single unweighted term is itself";
}

/// A unit's modules, and the unfused forward of the same chain.
struct UnitModules {
  nn::Conv2d dw{nullptr}, conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  DepthwiseGeometry g;
  int64_t stride = 1, padding = 0;

  torch::Tensor unfused(const torch::Tensor& h) const {
    auto r = torch::relu(h);
    if (dw) r = dw.ptr()->forward(r);
    return bn.ptr()->forward(conv.ptr()->forward(r));
  }
  ConvBnUnit fused() const { return conv_bn_unit(conv, stride, padding, bn, dw, g); }
  std::vector<torch::Tensor> params() const {
    std::vector<torch::Tensor> p;
    for (const auto& m : {dw ? dw->parameters() : std::vector<torch::Tensor>{}, conv->parameters(),
                          bn->parameters()}) {
      p.insert(p.end(), m.begin(), m.end());
    }
    return p;
  }
};

UnitModules make_unit(int64_t c_in, int64_t c_out, bool depthwise, int64_t k, int64_t stride,
                      int64_t dilation, bool bias, bool affine, bool track) {
  UnitModules u;
  if (depthwise) {
    u.g = {k, stride, dilation * (k - 1) / 2, dilation};
    u.dw = nn::Conv2d(nn::Conv2dOptions(c_in, c_in, k)
                          .stride(stride)
                          .padding(u.g.padding)
                          .dilation(dilation)
                          .groups(c_in)
                          .bias(false));
    u.conv = nn::Conv2d(nn::Conv2dOptions(c_in, c_out, 1).bias(bias));
  } else {
    u.stride = stride;
    u.padding = k / 2;
    u.conv = nn::Conv2d(nn::Conv2dOptions(c_in, c_out, k).stride(stride).padding(k / 2).bias(bias));
  }
  u.bn = make_bn(c_out, affine, track);
  for (auto* m : {static_cast<nn::Module*>(u.conv.get()), static_cast<nn::Module*>(u.bn.get())}) {
    m->to(torch::kDouble);
  }
  if (u.dw) u.dw->to(torch::kDouble);
  if (affine) {
    torch::NoGradGuard no_grad;
    u.bn->weight.uniform_(0.5, 1.5);
    u.bn->bias.uniform_(-0.5, 0.5);
  }
  return u;
}

/// Runs the chain fused and unfused on twin modules; compares outputs,
/// running statistics and every gradient.
void check_chain(const std::vector<UnitModules>& a, const std::vector<UnitModules>& b,
                 bool training, bool scaled, const std::string& what) {
  for (const auto* units : {&a, &b}) {
    for (const auto& u : *units) {
      if (u.dw) u.dw.ptr()->train(training);
      u.conv.ptr()->train(training);
      u.bn.ptr()->train(training);
    }
  }
  const int64_t c_in = a[0].dw ? a[0].dw->options.in_channels() : a[0].conv->options.in_channels();
  const auto x = torch::randn({4, c_in, 9, 9}, torch::kDouble);
  auto xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
  auto sa = torch::full({}, 0.7, torch::kDouble).requires_grad_();
  auto sb = sa.detach().clone().requires_grad_();

  torch::Tensor ref = xa;
  for (const auto& u : a) ref = u.unfused(ref);
  if (scaled) ref = ref * sa;
  std::vector<ConvBnUnit> fused_units;
  for (const auto& u : b) fused_units.push_back(u.fused());
  const auto out = relu_conv_bn(xb, fused_units, training, scaled ? sb : torch::Tensor());
  expect_close(out, ref.detach(), what + " output");
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].bn->running_mean.defined()) {
      expect_close(b[i].bn->running_mean, a[i].bn->running_mean, what + " running mean");
      expect_close(b[i].bn->running_var, a[i].bn->running_var, what + " running var");
      EXPECT_EQ(b[i].bn->num_batches_tracked.item<int64_t>(),
                a[i].bn->num_batches_tracked.item<int64_t>());
    }
  }
  const auto g = torch::randn_like(ref);
  (ref * g).sum().backward();
  (out * g).sum().backward();
  expect_close(xb.grad(), xa.grad(), what + " input gradient");
  if (scaled) expect_close(sb.grad(), sa.grad(), what + " op-weight gradient");
  for (size_t i = 0; i < a.size(); ++i) {
    const auto pa = a[i].params(), pb = b[i].params();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t k = 0; k < pa.size(); ++k) {
      expect_close(pb[k].grad(), pa[k].grad(), what + " parameter " + std::to_string(k));
    }
  }
}

struct ChainCase {
  std::string name;
  std::vector<std::tuple<bool, int64_t, int64_t, int64_t>> units;  // dw, k, stride, dilation
  bool bias;
};

TEST(ReluConvBn, MatchesUnfusedModules) {
  const std::vector<ChainCase> chains = {
      {"dil_conv_5x5 stride 2", {{true, 5, 2, 2}}, false},
      {"dil_conv_3x3", {{true, 3, 1, 2}}, false},
      {"sep_conv_3x3", {{true, 3, 1, 1}, {true, 3, 1, 1}}, false},
      {"sep_conv_5x5 stride 2", {{true, 5, 2, 1}, {true, 5, 1, 1}}, false},
      {"nor_conv_3x3 with bias", {{false, 3, 1, 1}}, true},
      {"preprocess 1x1", {{false, 1, 1, 1}}, false}};
  for (const auto& chain : chains) {
    for (bool affine : {false, true}) {
      for (bool track : {true, false}) {
        for (bool training : {true, false}) {
          for (bool scaled : {false, true}) {
            const std::string what = chain.name + (affine ? " affine" : "") +
                                     (track ? " tracked" : "") + (training ? " train" : " eval") +
                                     (scaled ? " scaled" : "");
            std::vector<UnitModules> a, b;
            for (const auto& [dw, k, stride, dilation] : chain.units) {
              const int64_t c_in = 3, c_out = dw ? 3 : 5;
              torch::manual_seed(static_cast<uint64_t>(a.size()) + 1);
              a.push_back(
                  make_unit(c_in, c_out, dw, k, stride, dilation, chain.bias, affine, track));
              torch::manual_seed(static_cast<uint64_t>(b.size()) + 1);
              b.push_back(
                  make_unit(c_in, c_out, dw, k, stride, dilation, chain.bias, affine, track));
              if (track && !training) {
                torch::NoGradGuard no_grad;
                for (auto* u : {&a.back(), &b.back()}) {
                  u->bn->running_mean.fill_(0.1);
                  u->bn->running_var.fill_(1.7);
                }
              }
            }
            check_chain(a, b, training, scaled, what);
          }
        }
      }
    }
  }
}

TEST(ReluConvBn, OpWeightGradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto u = make_unit(3, 3, true, 3, 1, 1, false, false, false);
  const std::vector<ConvBnUnit> units{u.fused(), u.fused()};
  const auto x = torch::randn({2, 3, 6, 6}, torch::kDouble);
  const auto g = torch::randn({2, 3, 6, 6}, torch::kDouble);
  auto loss = [&](double s) {
    torch::NoGradGuard no_grad;
    return (relu_conv_bn(x, units, true, torch::full({}, s, torch::kDouble)) * g)
        .sum()
        .item<double>();
  };
  auto s = torch::full({}, 0.3, torch::kDouble).requires_grad_();
  (relu_conv_bn(x, units, true, s) * g).sum().backward();
  const double h = 1e-6, fd = (loss(0.3 + h) - loss(0.3 - h)) / (2 * h);
  EXPECT_NEAR(s.grad().item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd)));
}

// BN recalibration sets momentum to none (cumulative average): the fused
// chain keeps the same running statistics as BatchNorm2d over several batches.
TEST(ReluConvBn, CumulativeAverageMatchesBatchNorm) {
  torch::manual_seed(5);
  auto a = make_unit(3, 3, true, 3, 1, 1, false, false, true);
  torch::manual_seed(5);
  auto b = make_unit(3, 3, true, 3, 1, 1, false, false, true);
  a.bn->options.momentum(c10::nullopt);
  b.bn->options.momentum(c10::nullopt);
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) {
    const auto x = torch::randn({4, 3, 6, 6}, torch::kDouble);
    a.unfused(x);
    relu_conv_bn(x, {b.fused()}, true);
  }
  expect_close(b.bn->running_mean, a.bn->running_mean, "cumulative running mean");
  expect_close(b.bn->running_var, a.bn->running_var, "cumulative running var");
  EXPECT_EQ(b.bn->num_batches_tracked.item<int64_t>(), 3);
}

TEST(ReluConvBn, RefusesSecondDerivatives) {
  auto u = make_unit(3, 3, true, 3, 1, 1, false, false, false);
  auto x = torch::randn({2, 3, 6, 6}, torch::kDouble).requires_grad_();
  auto y = relu_conv_bn(x, {u.fused()}, true).pow(2).sum();
  EXPECT_THROW(torch::autograd::grad({y}, {x}, {}, true, /*create_graph=*/true), c10::Error);
}

}  // namespace
}  // namespace nas::kernels
