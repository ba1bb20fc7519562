// Hot paths of a search step, side by side in one run:
//   - one forward+backward of the DARTS supernet with every op weighted
//     (DARTS, SNAS) vs. one sampled path (GDAS, FairNAS, random search WS);
//   - one DARTS step, first vs. second order;
//   - one augmented batch from the loader.
// Run: ./build/bench/nas_bench --benchmark_counters_tabular=true
#include <fstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "core/rng.h"
#include "core/runtime.h"
#include "data/source.h"
#include "search_space/chain_space.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
#include "strategies/strategy.h"
#include "strategies/darts.h"

namespace {

// As `nas` does first thing: freed memory stays in the process for reuse.
const bool kMemoryKept = (nas::core::keep_freed_memory(), true);

using nas::search_space::DartsSpace;
using nas::search_space::NetworkOptions;
using nas::search_space::PathSpec;

// NAS_PROFILE=trace.json: LibTorch's op-level trace of the timed passes
// (chrome://tracing format; bench/profile_summary.py sums it per op).
std::unique_ptr<torch::autograd::profiler::RecordProfile> profile_if_asked() {
  const char* file = std::getenv("NAS_PROFILE");
  if (file == nullptr) return nullptr;
  return std::make_unique<torch::autograd::profiler::RecordProfile>(file);
}

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
  const auto profile = profile_if_asked();
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

// One forward of the DARTS supernet with every op weighted, as the
// epoch-end evaluation runs it (eval mode, no autograd) or as a training
// step's forward does (train mode, graph recorded).
void BM_SupernetForward(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  DartsSpace space(DartsSpace::default_options());
  auto net = space.build_supernet(sizes(state.range(0)));
  const bool eval = state.range(1) == 1;
  const auto x = torch::randn({32, 1, 28, 28});
  const auto path = PathSpec::weighted_all(torch::softmax(torch::randn({28, 8}), 1));
  if (eval) net->eval();
  const auto profile = profile_if_asked();
  for (auto _ : state) {
    torch::AutoGradMode grad(!eval);
    benchmark::DoNotOptimize(net->forward(x, path));
  }
  state.SetLabel(eval ? "eval mode, no grad" : "train mode, graph recorded");
}
BENCHMARK(BM_SupernetForward)
    ->ArgNames({"C", "eval"})
    ->Args({8, 1})
    ->Args({8, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The weight update after a backward pass: the gradient-norm clip and the
// SGD step (momentum, weight decay) over every supernet weight, as
// `OneShotStrategy::weight_step` does it.
void BM_WeightUpdate(benchmark::State& state) {
  torch::set_num_threads(2);
  torch::manual_seed(0);
  DartsSpace space(DartsSpace::default_options());
  auto net = space.build_supernet(sizes(state.range(0)));
  auto params = net->parameters();
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.025).momentum(0.9).weight_decay(3e-4));
  const auto profile = profile_if_asked();
  for (auto _ : state) {
    torch::nn::utils::clip_grad_norm_(params, 5.0);
    sgd.step();
  }
  state.SetLabel(fmt::format("{} tensors", params.size()));
}
BENCHMARK(BM_WeightUpdate)->ArgName("C")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

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

// Peak resident memory of this process since the last reset (VmHWM), MiB.
// NOTE: not core::peak_rss_mib(): getrusage's ru_maxrss is the lifetime
// peak, which clear_refs does not reset, so one process could not report
// each benchmark's own peak.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}
// Starts a new peak (Linux: "5" > clear_refs); false where not allowed.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  return static_cast<bool>(clear.flush());
}

const std::vector<std::string> kStrategies = {"darts",     "darts",   "snas",
                                              "gdas",      "proxyless", "fairnas",
                                              "random_ws", "fbnet",   "single_path"};

// One step of each one-shot strategy on the DARTS (space 0), NB201
// (space 1) or chain_proxyless (space 2; C is the width in percent)
// supernet: C, batch 32 of 28x28x1 (DARTS 5 cells, NB201 5 cells per
// stage, the chain's 21 blocks at 8x downsampling), or with paper=1 the DARTS paper search config (C=16, 8 cells,
// batch 64, 32x32x3). Reports ms per step (the strategy's whole step:
// alpha and weight updates) and the process's peak RSS during the steps
// (run one benchmark per process for a clean peak: bench/steps.sh).
void BM_StrategyStep(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(4)));
  torch::manual_seed(0);
  const bool nb201 = state.range(0) == 1, chain = state.range(0) == 2,
             paper = state.range(3) == 1;
  const auto& name = kStrategies.at(state.range(1));
  std::unique_ptr<nas::search_space::SearchSpace> space;
  if (chain) {
    space = std::make_unique<nas::search_space::ChainSpace>("chain_proxyless", "proxyless",
                                                            nlohmann::json::object());
  } else if (nb201) {
    space = std::make_unique<nas::search_space::Nb201Space>(
        nas::search_space::Nb201Space::default_options());
  } else {
    space = std::make_unique<DartsSpace>(DartsSpace::default_options());
  }
  NetworkOptions o = space->search_defaults();
  o.C = state.range(2);
  if (chain) o.width_mult = static_cast<double>(state.range(2)) / 100;
  o.layers = paper ? 8 : 5;
  o.cells_per_stage = 5;
  o.in_channels = paper ? 3 : 1;
  o.input_size = paper ? 32 : 28;
  const int64_t batch = paper ? 64 : 32;
  nas::strategies::StrategyRegistry registry("strategy");
  nas::strategies::register_builtin_strategies(registry);
  nlohmann::json options = nlohmann::json::object();
  if (state.range(1) == 1) options["order"] = 2;
  if (name == "proxyless" || name == "fbnet" || name == "single_path") {
    options["warmup_epochs"] = 0;
  }
  auto strategy = registry.create(name, options);
  strategy->configure_supernet(*space, o);
  nas::core::Rng rng(0);
  nas::strategies::SearchContext ctx;
  ctx.space = space.get();
  ctx.supernet = space->build_supernet(o);
  ctx.rng = &rng;
  ctx.epochs = 10;
  ctx.steps_per_epoch = 100;
  strategy->attach(ctx);
  strategy->new_epoch(0);
  const auto shape = std::vector<int64_t>{batch, o.in_channels, o.input_size, o.input_size};
  nas::Batch train{torch::randn(shape), torch::randint(10, {batch})};
  nas::Batch val{torch::randn(shape), torch::randint(10, {batch})};
  strategy->step(train, val);  // warm-up: oneDNN primitives, allocator
  const bool fresh_peak = reset_peak_rss();
  const auto profile = profile_if_asked();
  for (auto _ : state) strategy->step(train, val);
  state.counters["peak_MiB"] = peak_rss_mib();
  state.SetLabel(fmt::format("{} {}{} {}={}{}{}", chain ? "chain_proxyless" : nb201 ? "nb201" : "darts", name,
                             state.range(1) == 1 ? " 2nd order" : "", chain ? "width%" : "C", o.C,
                             paper ? " paper config" : "", fresh_peak ? "" : " (peak since start)"));
}
BENCHMARK(BM_StrategyStep)
    ->ArgNames({"space", "strategy", "C", "paper", "threads"})
    ->ArgsProduct({{0, 1}, {0, 1, 2, 3, 4, 5, 6}, {8, 16}, {0}, {2}})
    ->Args({0, 0, 16, 1, 2})
    ->ArgsProduct({{2}, {0, 2, 3, 4, 5, 6, 7, 8}, {25, 100}, {0}, {2}})
    ->Iterations(3)
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
