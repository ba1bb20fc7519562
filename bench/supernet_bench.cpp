// Hot paths of a search step, side by side in one run:
//   - one forward+backward of the DARTS supernet with every op weighted
//     (DARTS, SNAS) vs. one sampled path (GDAS, FairNAS, random search WS);
//   - one DARTS step, first vs. second order;
//   - one augmented batch from the loader.
// Run: ./build/bench/nas_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "core/rng.h"
#include "data/source.h"
#include "search_space/darts_space.h"
#include "search_space/depthwise.h"
#include "strategies/darts.h"

namespace {

using nas::search_space::DartsSpace;
using nas::search_space::NetworkOptions;
using nas::search_space::PathSpec;

NetworkOptions sizes(int64_t C) {
  NetworkOptions o = DartsSpace(DartsSpace::default_options()).search_defaults();
  o.C = C;
  o.layers = 5;
  o.in_channels = 1;
  o.input_size = 28;
  return o;
}

void BM_SupernetForwardBackward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(2)));
  torch::manual_seed(0);
  DartsSpace space(DartsSpace::default_options());
  auto net = space.build_supernet(sizes(state.range(0)));
  const bool weighted = state.range(1) == 1;
  nas::core::Rng rng(0);
  const auto x = torch::randn({32, 1, 28, 28});
  const auto y = torch::randint(10, {32});
  const auto alpha = torch::softmax(torch::randn({28, 8}), 1);
  // NAS_PROFILE=trace.json: LibTorch's op-level trace of the timed passes
  // (chrome://tracing format; bench/profile_summary.py sums it per op).
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (const char* file = std::getenv("NAS_PROFILE")) {
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(file);
  }
  for (auto _ : state) {
    const auto path = weighted ? PathSpec::weighted_all(alpha)
                               : space.path_of(space.sample(rng, false));
    net->zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x, path), y).backward();
  }
  state.counters["images/s"] =
      benchmark::Counter(32.0 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(weighted ? "all ops weighted" : "one sampled path");
}
BENCHMARK(BM_SupernetForwardBackward)
    ->ArgNames({"C", "weighted", "threads"})
    ->Args({4, 1, 2})
    ->Args({4, 0, 2})
    ->Args({8, 1, 2})
    ->Args({8, 0, 2})
    ->Args({8, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_DartsStep(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  DartsSpace space(DartsSpace::default_options());
  nas::core::Rng rng(0);
  nas::strategies::SearchContext ctx;
  ctx.space = &space;
  ctx.supernet = space.build_supernet(sizes(4));
  ctx.rng = &rng;
  ctx.epochs = 10;
  auto o = nas::strategies::Darts::default_options();
  o["order"] = state.range(0);
  nas::strategies::Darts darts(o);
  darts.attach(ctx);
  darts.new_epoch(0);
  nas::Batch train{torch::randn({32, 1, 28, 28}), torch::randint(10, {32})};
  nas::Batch val{torch::randn({32, 1, 28, 28}), torch::randint(10, {32})};
  for (auto _ : state) darts.step(train, val);
  state.SetLabel(state.range(0) == 1 ? "first order" : "second order");
}
BENCHMARK(BM_DartsStep)->ArgName("order")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// One depthwise conv forward+backward at the DARTS search sizes: naskit's
// kernel vs ATen's convolution (oneDNN), batch 32.
void BM_DepthwiseConv(benchmark::State& state) {
  torch::set_num_threads(2);
  const int64_t c = state.range(0), hw = 224 / c, k = state.range(1), d = state.range(2);
  const bool own = state.range(3) == 1;
  const nas::search_space::DepthwiseGeometry g{k, 1, d * (k - 1) / 2, d};
  const auto x = torch::randn({32, c, hw, hw});
  const auto w = torch::randn({c, 1, k, k});
  const auto grad = torch::randn({32, c, hw, hw});
  const bool fwd = state.range(4) == 0;
  const auto r = torch::relu(x);
  for (auto _ : state) {
    if (own) {
      if (fwd) benchmark::DoNotOptimize(nas::search_space::depthwise_conv(x, w, g, true));
      else benchmark::DoNotOptimize(nas::search_space::depthwise_conv_backward(grad, x, w, g, true,
                                                                          state.range(4) != 3, state.range(4) != 2));
    } else {
      if (fwd) benchmark::DoNotOptimize(torch::conv2d(torch::relu(x), w, {}, 1, g.padding, d, c));
      else benchmark::DoNotOptimize(at::convolution_backward(grad, r, w, c10::nullopt, {1, 1},
                                                        {g.padding, g.padding}, {d, d}, false,
                                                        {0, 0}, c, {true, true, false}));
    }
  }
  state.SetLabel(own ? "naskit kernel" : "ATen/oneDNN");
}
BENCHMARK(BM_DepthwiseConv)
    ->ArgNames({"C", "k", "dil", "own", "bwd"})
    ->ArgsProduct({{8, 16, 32}, {3, 5}, {1, 2}, {0, 1}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_LoaderBatch(benchmark::State& state) {
  auto options = nas::data::default_data_options();
  options["dataset"] = "synthetic";
  options["synthetic"]["size"] = 32;
  options["synthetic"]["train_size"] = 4096;
  options["cutout"] = 16;
  options["batch"] = 64;
  const auto data = nas::data::load_data(options);
  auto split = nas::data::make_search_split(data, options, 0, torch::kCPU);
  int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(split.train->batch(0, i++ % split.train->batches()));
  }
  state.counters["images/s"] =
      benchmark::Counter(64.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LoaderBatch)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
