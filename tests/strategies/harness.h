#pragma once
// A strategy attached to a space with loaders, for the strategy tests.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "strategies/strategy.h"
#include "tests/strategies/toy_space.h"

namespace nas::strategies {

inline StrategyRegistry registry() {
  StrategyRegistry r("strategy");
  register_builtin_strategies(r);
  return r;
}

/// A strategy attached to a space with loaders over toy or synthetic data.
struct Harness {
  std::unique_ptr<search_space::SearchSpace> space;
  core::Rng rng{11};
  data::DataPair data;
  std::unique_ptr<data::Loader> train, val;
  SearchContext ctx;
  std::unique_ptr<SearchStrategy> strategy;

  Harness(const std::string& name, nlohmann::json options,
          std::unique_ptr<search_space::SearchSpace> s,
          const search_space::NetworkOptions& sizes, data::DataPair d,
          int64_t epochs, int64_t batch = 32) {
    torch::manual_seed(0);
    space = std::move(s);
    data = std::move(d);
    auto set = std::make_shared<const data::Dataset>(data.train);
    const int64_t half = set->size() / 2;
    train = std::make_unique<data::Loader>(
        set, torch::arange(0, half, torch::kInt64), batch, true, data::Augment{},
        data.mean, data.std, 1, torch::kCPU);
    val = std::make_unique<data::Loader>(
        set, torch::arange(half, set->size(), torch::kInt64), batch, true,
        data::Augment{}, data.mean, data.std, 2, torch::kCPU);
    ctx.space = space.get();
    strategy = registry().create(name, options);
    auto configured = sizes;
    strategy->configure_supernet(*space, configured);
    ctx.supernet = space->build_supernet(configured);
    ctx.rng = &rng;
    ctx.epochs = epochs;
    ctx.steps_per_epoch = train->batches();
    ctx.train_loader = train.get();
    ctx.val_loader = val.get();
    strategy->attach(ctx);
  }

  void run() {
    int64_t val_step = 0;
    for (int64_t e = 0; e < ctx.epochs; ++e) {
      strategy->new_epoch(e);
      for (int64_t i = 0; i < train->batches(); ++i) {
        const auto s = strategy->step(train->batch(e, i), val->cycling(val_step++));
        ASSERT_TRUE(std::isfinite(s.train_loss));
      }
    }
    strategy->finish();
  }
};


inline search_space::NetworkOptions tiny_nb201() {
  search_space::NetworkOptions o;
  o.C = 4;
  o.cells_per_stage = 1;
  o.in_channels = 1;
  o.input_size = 8;
  o.affine = false;
  return o;
}

inline search_space::NetworkOptions tiny_darts() {
  search_space::NetworkOptions o;
  o.C = 2;
  o.layers = 3;
  o.in_channels = 1;
  o.input_size = 8;
  o.affine = false;
  return o;
}

inline data::DataPair synthetic() {
  data::SyntheticOptions o;
  o.train_size = 64;
  o.channels = 1;
  o.size = 8;
  return data::make_synthetic(o);
}

/// Calls per MixedOp (summed over its ops) after one step.
inline std::vector<int64_t> calls_per_edge(const search_space::SupernetImpl& net) {
  std::vector<int64_t> out;
  for (const auto& [d, m] : net.mixed_ops()) {
    int64_t n = 0;
    for (auto c : m->calls()) n += c;
    out.push_back(n);
  }
  return out;
}


}  // namespace nas::strategies
