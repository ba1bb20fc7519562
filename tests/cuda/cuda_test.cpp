// The CUDA suite (CTest label `cuda`): what a GPU user hits, run where a CUDA
// device exists. Without one every test is skipped with a message saying so;
// the suite still compiles and links in every build (the CUDA build checks
// that against LibTorch 2.x).

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/log.h"
#include "core/rng.h"
#include "experiments/search.h"
#include "experiments/train.h"
#include "hardware/timing.h"
#include "search_space/darts_space.h"
#include "tests/experiments/helpers.h"

namespace nas::experiments {
namespace {

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) {
      GTEST_SKIP() << "no CUDA device here (torch::cuda::is_available() is false"
                   << (torch::cuda::device_count() == 0 ? ", 0 devices" : "")
                   << "): the CUDA suite runs on a machine with a GPU";
    }
    core::set_verbosity(0);
  }
};

nlohmann::json on_cuda(nlohmann::json config, const std::string& strategy) {
  config["device"] = "cuda";
  config["strategy"] = {{"name", strategy}, {"options", nlohmann::json::object()}};
  return resolve_config(search_defaults(), {config}, builtin_registries());
}

TEST_F(Cuda, EveryOneShotStrategySearchesOnTheGpu) {
  for (const char* strategy : {"darts", "snas", "gdas", "proxyless", "fairnas", "random_ws"}) {
    TempDir out;
    const auto r =
        run_search(on_cuda(tiny_config(out.str(), 5), strategy), false, builtin_registries());
    EXPECT_FALSE(r.interrupted) << strategy;
    EXPECT_EQ(r.result["device"], "cuda") << strategy;
    EXPECT_EQ(log_of(out.str()).size(), 2u) << strategy;
  }
}

// The chain strategies on a chain supernet, Single-Path NAS's superkernels
// (masks as buffers, thresholds as alpha) included.
TEST_F(Cuda, ChainStrategiesSearchOnTheGpu) {
  for (const char* strategy : {"proxyless", "fbnet", "single_path"}) {
    TempDir out;
    auto config = tiny_config(out.str(), 5);
    config["space"] = {{"name", "chain_proxyless"}, {"options", nlohmann::json::object()}};
    config["network"]["width_mult"] = 0.05;
    const auto r = run_search(on_cuda(config, strategy), false, builtin_registries());
    EXPECT_FALSE(r.interrupted) << strategy;
    EXPECT_EQ(r.result["device"], "cuda") << strategy;
    EXPECT_EQ(log_of(out.str()).size(), 2u) << strategy;
  }
}

// A checkpoint made on CUDA resumes on CUDA (CPU and CUDA generators both
// restored) and loads on the CPU, where `nas show` and evaluation read it.
TEST_F(Cuda, CheckpointResumesOnCudaAndLoadsOnTheCpu) {
  TempDir whole, split;
  const auto config = [](const std::string& out) { return on_cuda(tiny_config(out, 9), "darts"); };
  run_search(config(whole.str()), false, builtin_registries());
  {
    const InterruptGuard guard;
    request_interrupt_after(11);  // mid-epoch 2 (see Search.InterruptedRunResumes...)
    EXPECT_TRUE(run_search(config(split.str()), false, builtin_registries()).interrupted);
  }
  request_interrupt(false);
  torch::serialize::InputArchive archive, strategy;
  core::load_checked(archive, split.str() + "/checkpoint.pt", torch::kCPU);
  torch::Tensor cuda_rng, alpha;
  EXPECT_TRUE(archive.try_read("cuda_rng", cuda_rng));
  archive.read("strategy", strategy);
  strategy.read("alpha", alpha);
  EXPECT_TRUE(alpha.device().is_cpu());
  const auto r = run_search(config(split.str()), true, builtin_registries());
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(log_of(split.str()).size(), log_of(whole.str()).size());
}

TEST_F(Cuda, TrialSearchAndTrainingRunOnTheGpu) {
  TempDir trials, train;
  const nlohmann::json c = {
      {"seed", 5},
      {"device", "cuda"},
      {"out", trials.str()},
      {"space", {{"name", "nb201"}}},
      {"strategy", {{"name", "evolution"}, {"options", {{"population", 2}}}}},
      {"network", {{"C", 2}, {"cells_per_stage", 1}}},
      {"estimator", {{"name", "scratch"}, {"options", {{"epochs", 1}}}}},
      {"budget", {{"trials", 3}}},
      {"data",
       {{"dataset", "synthetic"},
        {"batch", 16},
        {"synthetic", {{"train_size", 64}, {"channels", 1}, {"size", 8}, {"classes", 3}}}}},
  };
  const auto r = run_search(resolve_config(search_defaults(), {c}, builtin_registries()), false,
                            builtin_registries());
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.result["trials"], 3);
  nlohmann::json t = {
      {"seed", 3},
      {"device", "cuda"},
      {"out", train.str()},
      {"arch",
       "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|"
       "none~1|nor_conv_3x3~2|"},
      {"space", {{"name", "nb201"}}},
      {"network", {{"C", 4}, {"cells_per_stage", 1}}},
      {"train", {{"epochs", 1}}},
      {"data",
       {{"dataset", "synthetic"}, {"batch", 32}, {"synthetic", {{"train_size", 64}, {"size", 8}}}}},
  };
  const auto result =
      run_train(resolve_config(train_defaults(), {t}, builtin_registries()), builtin_registries());
  EXPECT_GE(result["test_acc"].get<double>(), 0.0);
}

// The supernet's mixture path (fused chains and shared pools on the CPU;
// ATen's ops elsewhere) computes the same function on both devices.
TEST_F(Cuda, SupernetMixtureMatchesTheCpu) {
  search_space::DartsSpace s(search_space::DartsSpace::default_options());
  auto o = s.search_defaults();
  o.C = 4;
  o.layers = 3;
  o.in_channels = 1;
  o.input_size = 8;
  torch::manual_seed(0);
  auto cpu = s.build_supernet(o);
  torch::manual_seed(0);
  auto gpu = s.build_supernet(o);
  gpu->to(torch::kCUDA);
  const auto x = torch::randn({4, 1, 8, 8});
  const auto w = torch::softmax(torch::randn({28, 8}), 1);
  const auto a = cpu->forward(x, search_space::PathSpec::weighted_all(w));
  const auto b = gpu->forward(x.cuda(), search_space::PathSpec::weighted_all(w.cuda()));
  EXPECT_TRUE(torch::allclose(a, b.cpu(), 1e-4, 1e-4));
  a.sum().backward();
  b.sum().backward();
  const auto gc = cpu->parameters(), gg = gpu->parameters();
  ASSERT_EQ(gc.size(), gg.size());
  for (size_t i = 0; i < gc.size(); ++i) {
    if (!gc[i].grad().defined()) continue;
    EXPECT_TRUE(torch::allclose(gc[i].grad(), gg[i].grad().cpu(), 1e-3, 1e-4)) << i;
  }
}

TEST_F(Cuda, GeneratorStateRoundTrips) {
  const torch::Device dev(torch::kCUDA);
  core::seed_everything(11);
  const auto state = core::torch_rng_state(dev);
  const auto a = torch::randn({8}, torch::TensorOptions().device(dev));
  core::set_torch_rng_state(state, dev);
  const auto b = torch::randn({8}, torch::TensorOptions().device(dev));
  EXPECT_TRUE(torch::equal(a, b));
}

TEST_F(Cuda, ProfileTimesWithDeviceEvents) {
  const torch::Device dev(torch::kCUDA);
  const auto m = torch::randn({256, 256}, torch::TensorOptions().device(dev));
  const auto t =
      hardware::time_calls([&] { (void)torch::mm(m, m); }, dev, hardware::TimingOptions::quick());
  EXPECT_GT(t.median_ms, 0.0);
  EXPECT_EQ(hardware::device_info(dev, 1, 1)["clock"], "device events");
}

}  // namespace
}  // namespace nas::experiments
