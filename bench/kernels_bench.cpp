// naskit's own CPU kernels against ATen's at the DARTS search sizes (one
// thread pair, batch 32): `kernels_bench --benchmark_filter=BM_Pool`.
#include <vector>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "kernels/depthwise.h"
#include "kernels/pointwise.h"
#include "kernels/pool.h"
#include "kernels/weighted_sum.h"

namespace {

// One depthwise conv forward+backward at the DARTS search sizes: naskit's
// kernel vs ATen's convolution (oneDNN), batch 32, output 224/C pixels
// square; bwd 0 = forward, 1 = input
// and weight gradients, 2 = input gradient alone, 3 = weight gradient alone.
void BM_DepthwiseConv(benchmark::State& state) {
  torch::set_num_threads(2);
  // Stride 2 at a reduction cell's input size (twice its output's).
  const int64_t s = state.range(3);
  const int64_t c = state.range(0), hw = 224 * s / c, k = state.range(1), d = state.range(2);
  const bool own = state.range(4) == 1;
  const nas::kernels::DepthwiseGeometry g{k, s, d * (k - 1) / 2, d};
  const auto x = torch::randn({32, c, hw, hw});
  const auto w = torch::randn({c, 1, k, k});
  const auto grad = torch::randn({32, c, (hw - 1) / s + 1, (hw - 1) / s + 1});
  const int64_t bwd = state.range(5);
  const bool fwd = bwd == 0;
  const auto r = torch::relu(x);
  for (auto _ : state) {
    if (own) {
      if (fwd) benchmark::DoNotOptimize(nas::kernels::depthwise_conv(x, w, g, true));
      else benchmark::DoNotOptimize(nas::kernels::depthwise_conv_backward(grad, x, w, g, true,
                                                                          bwd != 3, bwd != 2));
    } else {
      if (fwd) benchmark::DoNotOptimize(torch::conv2d(torch::relu(x), w, {}, s, g.padding, d, c));
      else benchmark::DoNotOptimize(at::convolution_backward(grad, r, w, c10::nullopt, {s, s},
                                                        {g.padding, g.padding}, {d, d}, false,
                                                        {0, 0}, c, {true, true, false}));
    }
  }
  state.SetLabel(own ? "naskit kernel" : "ATen/oneDNN");
}
BENCHMARK(BM_DepthwiseConv)
    ->ArgNames({"C", "k", "dil", "stride", "own", "bwd"})
    ->ArgsProduct({{8, 16, 32}, {3, 5}, {1, 2}, {1, 2}, {0, 1}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One 3x3 pooling (padding 1) of the DARTS search cells at C channels,
// 224/C pixels square, batch 32: kind 0 = max, 1 = average (without the
// padding in the count); bwd 0 = forward without autograd, 1 = forward and
// backward; naskit's kernel (`pool_3x3`) vs ATen's pools.
void BM_Pool(benchmark::State& state) {
  torch::set_num_threads(2);
  const int64_t c = state.range(0), s = state.range(2), hw = 224 * s / c;
  const bool max = state.range(1) == 0, bwd = state.range(3) == 1, own = state.range(4) == 1;
  const auto x = torch::randn({32, c, hw, hw}).requires_grad_(bwd);
  const auto grad = torch::randn({32, c, (hw - 1) / s + 1, (hw - 1) / s + 1});
  for (auto _ : state) {
    torch::AutoGradMode mode(bwd);
    auto y = own   ? nas::kernels::pool_3x3(x, s, max)
             : max ? torch::max_pool2d(x, {3, 3}, {s, s}, {1, 1})
                   : torch::avg_pool2d(x, {3, 3}, {s, s}, {1, 1}, false, false);
    if (bwd) y.backward(grad);
    benchmark::DoNotOptimize(y);
  }
  state.SetLabel(own ? "naskit kernel" : "ATen");
}
BENCHMARK(BM_Pool)
    ->ArgNames({"C", "avg", "stride", "bwd", "own"})
    ->ArgsProduct({{8, 16, 32}, {0, 1}, {1, 2}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The sum of one DARTS mixture edge's 7 op outputs (3 of them weighted:
// the pools and skip_connect), batch 32, C channels, 224/C pixels square:
// `weighted_sum` in one pass vs LibTorch's mul and add per term; bwd 1 adds
// the backward (the weights' gradients and the weighted terms').
void BM_WeightedSum(benchmark::State& state) {
  torch::set_num_threads(2);
  const int64_t c = state.range(0), hw = 224 / c;
  const bool own = state.range(1) == 1, bwd = state.range(2) == 1;
  std::vector<nas::kernels::SumTerm> terms;
  for (int k = 0; k < 7; ++k) {
    terms.push_back({torch::randn({32, c, hw, hw}).requires_grad_(bwd),
                     k < 3 ? torch::rand({}).requires_grad_(bwd) : torch::Tensor()});
  }
  const auto grad = torch::randn({32, c, hw, hw});
  for (auto _ : state) {
    torch::Tensor y;
    if (own) {
      y = nas::kernels::weighted_sum(terms);
    } else {
      for (const auto& t : terms) {
        const auto v = t.weight.defined() ? t.value * t.weight : t.value;
        y = y.defined() ? y + v : v;
      }
    }
    if (bwd) y.backward(grad);
    benchmark::DoNotOptimize(y);
  }
  state.SetLabel(own ? "weighted_sum" : "mul + add");
}
BENCHMARK(BM_WeightedSum)
    ->ArgNames({"C", "own", "bwd"})
    ->ArgsProduct({{8, 16, 32}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One 1x1 convolution at the DARTS search sizes (C channels in and out,
// 224/C pixels square, batch 32): naskit's kernel vs ATen's (oneDNN);
// bwd 0 = forward, 1 = input and weight gradients, 2 = input gradient alone.
void BM_PointwiseConv(benchmark::State& state) {
  torch::set_num_threads(2);
  const int64_t c = state.range(0), hw = 224 / c;
  const bool own = state.range(1) == 1;
  const int64_t bwd = state.range(2);
  const auto x = torch::randn({32, c, hw, hw});
  const auto w = torch::randn({c, c, 1, 1});
  const auto grad = torch::randn({32, c, hw, hw});
  for (auto _ : state) {
    if (bwd == 0) {
      benchmark::DoNotOptimize(own ? nas::kernels::pointwise_conv(x, w) : torch::conv2d(x, w));
    } else if (own) {
      benchmark::DoNotOptimize(nas::kernels::pointwise_conv_backward(grad, x, w, true, bwd == 1));
    } else {
      benchmark::DoNotOptimize(at::convolution_backward(grad, x, w, c10::nullopt, {1, 1}, {0, 0},
                                                        {1, 1}, false, {0, 0}, 1,
                                                        {true, bwd == 1, false}));
    }
  }
  state.SetLabel(own ? "naskit kernel" : "ATen/oneDNN");
}
BENCHMARK(BM_PointwiseConv)
    ->ArgNames({"C", "own", "bwd"})
    ->ArgsProduct({{8, 16, 32}, {0, 1}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
