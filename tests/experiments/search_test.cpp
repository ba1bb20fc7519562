#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "experiments/run_dir.h"
#include "data/source.h"
#include "estimators/scratch.h"
#include "experiments/search.h"
#include "experiments/train.h"
#include "tests/experiments/helpers.h"

namespace nas::experiments {
namespace {

TEST(Search, SameSeedSameRunOtherSeedOther) {
  core::set_verbosity(0);
  TempDir a, b, c;
  const auto ra = run_search(tiny_config(a.str(), 5), false, builtin_registries());
  const auto rb = run_search(tiny_config(b.str(), 5), false, builtin_registries());
  const auto rc = run_search(tiny_config(c.str(), 6), false, builtin_registries());
  ASSERT_EQ(log_of(a.str()).size(), 2u);
  EXPECT_EQ(log_of(a.str()), log_of(b.str()));
  EXPECT_EQ(ra.result["arch"], rb.result["arch"]);
  EXPECT_NE(log_of(a.str()), log_of(c.str()));
  for (const char* f : {"config.json", "env.json", "checkpoint.pt", "result.json"}) {
    EXPECT_TRUE(fs::exists(a.str() + "/" + f)) << f;
  }
  const auto config = core::read_json_file(a.str() + "/config.json");
  EXPECT_EQ(config["strategy"]["options"]["w_lr"], 0.025);  // defaults written out
}

// Options that only change what is logged (the epoch-end architecture of
// random search) leave every number and the answer unchanged.
TEST(Search, LoggingNeverChangesTheSearch) {
  core::set_verbosity(0);
  auto config = [](const std::string& out, int64_t logged) {
    auto c = tiny_config(out, 3);
    c["strategy"] = {{"name", "random_ws"},
                     {"options", {{"eval_archs", 4}, {"epoch_eval_archs", logged}}}};
    return resolve_config(search_defaults(), {c}, builtin_registries());
  };
  TempDir a, b;
  const auto ra = run_search(config(a.str(), 0), false, builtin_registries());
  const auto rb = run_search(config(b.str(), 6), false, builtin_registries());
  auto la = log_of(a.str()), lb = log_of(b.str());
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    la[i].erase("arch");
    lb[i].erase("arch");
  }
  EXPECT_EQ(la, lb);
  EXPECT_EQ(ra.result["arch"], rb.result["arch"]);
}

// DARTS logs the reference's eval-mode pass over the validation split.
TEST(Search, DartsLogsAnEvalPassEveryEpoch) {
  core::set_verbosity(0);
  TempDir a;
  run_search(tiny_config(a.str(), 1), false, builtin_registries());
  for (const auto& line : log_of(a.str())) {
    ASSERT_TRUE(line.contains("eval_acc"));
    EXPECT_GE(line["eval_acc"].get<double>(), 0.0);
    EXPECT_LE(line["eval_acc"].get<double>(), 1.0);
  }
}

// SNAS is single-level on the whole training set (train_search.py); the
// bi-level strategies get the DARTS split.
TEST(Search, SnasSeesEveryTrainingImage) {
  const auto& r = builtin_registries();
  EXPECT_TRUE(r.strategies.create("snas", nlohmann::json::object())->uses_whole_training_set());
  EXPECT_FALSE(r.strategies.create("snas", {{"train_data", "split"}})->uses_whole_training_set());
  for (const char* name : {"darts", "gdas", "proxyless", "fairnas", "random_ws"}) {
    EXPECT_FALSE(r.strategies.create(name, nlohmann::json::object())->uses_whole_training_set())
        << name;
  }
  auto options = data::default_data_options();
  options["dataset"] = "synthetic";
  options["synthetic"]["train_size"] = 100;
  options["synthetic"]["test_size"] = 30;
  const auto data = data::load_data(options);
  const auto whole = data::make_search_split(data, options, 1, torch::kCPU, true);
  EXPECT_EQ(whole.train->size(), 100);
  EXPECT_EQ(whole.val->size(), 30);  // the test set, for monitoring only
  const auto split = data::make_search_split(data, options, 1, torch::kCPU, false);
  EXPECT_EQ(split.train->size(), 50);
  EXPECT_EQ(split.val->size(), 50);
}

TEST(Search, InterruptedRunResumesToTheSameResult) {
  core::set_verbosity(0);
  TempDir whole, split;
  const auto r1 = run_search(tiny_config(whole.str(), 9), false, builtin_registries());
  const InterruptGuard guard;
  // Polls: data loading 1, epoch 1: 4 steps + 4 eval-pass batches, then
  // epoch 2's steps: the 11th poll is mid-epoch 2.
  request_interrupt_after(11);
  const auto partial =
      run_search(tiny_config(split.str(), 9), false, builtin_registries());
  EXPECT_TRUE(partial.interrupted);
  EXPECT_EQ(log_of(split.str()).size(), 1u);
  request_interrupt(false);
  const auto r2 = run_search(tiny_config(split.str(), 9), true, builtin_registries());
  EXPECT_FALSE(r2.interrupted);
  EXPECT_EQ(log_of(whole.str()), log_of(split.str()));
  EXPECT_EQ(r1.result["arch"], r2.result["arch"]);
}

TEST(Search, ExistingRunIsNotOverwritten) {
  core::set_verbosity(0);
  TempDir a;
  run_search(tiny_config(a.str(), 1), false, builtin_registries());
  EXPECT_THROW(run_search(tiny_config(a.str(), 1), false, builtin_registries()),
               ConfigError);
}

/// The ConfigError message of `f`, or "" when it does not throw one.
template <class F>
std::string config_error(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Never overwrite what is not ours, never resume what cannot be resumed
// exactly (ISSUE: data loss under fuzzed run directories).
TEST(RunDirectory, RefusesWhatItCannotUseSafely) {
  core::set_verbosity(0);
  // A non-empty directory without config.json, and one whose config.json
  // is a dangling link.
  TempDir stray, dangling, fresh;
  fs::create_directories(stray.str());
  core::write_text_file(stray.str() + "/notes.txt", "mine");
  fs::create_directories(dangling.str());
  fs::create_symlink("/nonexistent/config.json", dangling.str() + "/config.json");
  for (const auto* d : {&stray, &dangling}) {
    EXPECT_NE(config_error([&] { run_search(tiny_config(d->str(), 1), false, builtin_registries()); })
                  .find("not empty"),
              std::string::npos);
  }
  EXPECT_EQ(core::read_text_file(stray.str() + "/notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(stray.str() + "/log.jsonl"));
  // An empty directory is fine.
  fs::create_directories(fresh.str());
  EXPECT_NO_THROW(run_search(tiny_config(fresh.str(), 1), false, builtin_registries()));
  // A finished run has nothing to resume; without its checkpoint neither.
  const auto env = core::read_text_file(fresh.str() + "/env.json");
  EXPECT_NE(config_error([&] { run_search(tiny_config(fresh.str(), 1), true, builtin_registries()); })
                .find("has finished"),
            std::string::npos);
  fs::remove(fresh.str() + "/result.json");
  fs::remove(fresh.str() + "/checkpoint.pt");
  EXPECT_NE(config_error([&] { run_search(tiny_config(fresh.str(), 1), true, builtin_registries()); })
                .find("no checkpoint.pt"),
            std::string::npos);
  EXPECT_EQ(core::read_text_file(fresh.str() + "/env.json"), env);
}

// A damaged checkpoint or an edited config is detected, not resumed.
TEST(RunDirectory, ChecksumAndFingerprintGuardTheResume) {
  core::set_verbosity(0);
  TempDir a;
  const InterruptGuard guard;
  request_interrupt_after(3);
  ASSERT_TRUE(run_search(tiny_config(a.str(), 1), false, builtin_registries()).interrupted);
  request_interrupt(false);
  const auto ckpt = a.str() + "/checkpoint.pt";
  const auto good = core::read_text_file(ckpt);
  // Flip one byte inside the archive.
  auto bad = good;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
  core::write_text_file(ckpt, bad);
  try {
    run_search(tiny_config(a.str(), 1), true, builtin_registries());
    ADD_FAILURE() << "a damaged checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch"), std::string::npos) << e.what();
  }
  core::write_text_file(ckpt, good.substr(0, good.size() / 3));  // truncated
  EXPECT_THROW(run_search(tiny_config(a.str(), 1), true, builtin_registries()), Error);
  // The right bytes, but another seed and batch in the config.
  core::write_text_file(ckpt, good);
  auto edited = tiny_config(a.str(), 2);
  edited["data"]["batch"] = 8;
  const auto message = config_error([&] { run_search(edited, true, builtin_registries()); });
  EXPECT_NE(message.find("seed"), std::string::npos) << message;
  EXPECT_NE(message.find("data.batch"), std::string::npos) << message;
  // Threads may change; then the run resumes.
  auto more_threads = tiny_config(a.str(), 1);
  more_threads["threads"] = 2;
  EXPECT_NO_THROW(run_search(more_threads, true, builtin_registries()));
}

// A signal during the final selection of random search stops the run
// (exit 130 in the CLI) and the resume gives the uninterrupted answer.
TEST(Search, InterruptDuringFinalScoringResumesExactly) {
  core::set_verbosity(0);
  auto config = [](const std::string& out) {
    auto c = tiny_config(out, 3);
    c["strategy"] = {{"name", "random_ws"},
                     {"options", {{"eval_archs", 6}, {"epoch_eval_archs", 0}}}};
    return resolve_config(search_defaults(), {c}, builtin_registries());
  };
  TempDir a, b;
  const auto whole = run_search(config(a.str()), false, builtin_registries());
  // Polls: data loading 1, 2 epochs x 4 steps, then one per scored sample.
  const InterruptGuard guard;
  request_interrupt_after(11);
  EXPECT_TRUE(run_search(config(b.str()), false, builtin_registries()).interrupted);
  request_interrupt(false);
  EXPECT_FALSE(fs::exists(b.str() + "/result.json"));
  EXPECT_EQ(log_of(b.str()).size(), 2u);
  const auto resumed = run_search(config(b.str()), true, builtin_registries());
  EXPECT_EQ(whole.result["arch"], resumed.result["arch"]);
}

// Each strategy's declared passes per step (what turns an equal-passes
// budget into epochs) is what the supernet counts it doing.
TEST(Search, DeclaredPassesPerStepAreTheCountedPasses) {
  core::set_verbosity(0);
  const std::vector<std::pair<std::string, nlohmann::json>> strategies = {
      {"darts", {{"order", 1}}},
      {"darts", {{"order", 2}}},
      {"snas", nlohmann::json::object()},
      {"gdas", nlohmann::json::object()},
      {"proxyless", {{"warmup_epochs", 0}, {"arch_update_every", 2}}},
      {"fairnas", nlohmann::json::object()},
      {"random_ws", {{"eval_archs", 2}, {"epoch_eval_archs", 0}}},
      {"fbnet", {{"warmup_epochs", 0}}},
      {"enas", {{"controller_steps", 1}, {"aggregate", 2}, {"select_archs", 2}}},
      {"asap", {{"tau_grace", 5.0}}},
      {"darts_prime", {{"schedule", "fixed"}, {"sched_freq", 2}}},
  };
  for (const auto& [name, options] : strategies) {
    SCOPED_TRACE(name + " " + options.dump());
    TempDir dir;
    auto c = tiny_config(dir.str(), 1);
    c["strategy"] = {{"name", name}, {"options", options}};
    c = resolve_config(search_defaults(), {c}, builtin_registries());
    const auto r = run_search(c, false, builtin_registries());
    const auto log = log_of(dir.str());
    ASSERT_EQ(log.size(), 2u);
    const auto strategy = builtin_registries().strategies.create(name, c["strategy"]["options"]);
    const auto space = builtin_registries().spaces.create("darts", c["space"]["options"]);
    const int64_t steps = name == "snas" ? 8 : 4;  // SNAS trains on all 128 images
    // The second epoch: past ProxylessNAS's first epoch without alpha steps.
    const auto second = log[1]["passes"].get<int64_t>() - log[0]["passes"].get<int64_t>();
    EXPECT_DOUBLE_EQ(static_cast<double>(second), strategy->passes_per_step(*space) * steps);
    EXPECT_EQ(r.result["passes"], log[1]["passes"]);
  }
}

TEST(Search, PassesAndSecondsBudgetsSetTheEpochs) {
  core::set_verbosity(0);
  auto config = [](const std::string& out, const std::string& strategy, nlohmann::json budget) {
    auto c = tiny_config(out, 1);
    c["strategy"] = {{"name", strategy}, {"options", nlohmann::json::object()}};
    c["epochs"] = 50;
    c["budget"] = std::move(budget);
    return resolve_config(search_defaults(), {c}, builtin_registries());
  };
  // 4 steps per epoch: 24 passes are 3 epochs of DARTS (2 per step) and 6
  // of random_ws (1 per step).
  TempDir a, b, c;
  const auto darts = run_search(config(a.str(), "darts", {{"passes", 24}}), false,
                                builtin_registries());
  EXPECT_EQ(darts.result["epochs"], 3);
  EXPECT_EQ(darts.result["passes"], 24);
  const auto ws = run_search(config(b.str(), "random_ws", {{"passes", 24}}), false,
                             builtin_registries());
  EXPECT_EQ(ws.result["epochs"], 6);
  EXPECT_EQ(ws.result["passes"], 24);
  // A seconds budget stops at the first epoch end past it.
  const auto timed = run_search(config(c.str(), "darts", {{"seconds", 1e-9}}), false,
                                builtin_registries());
  EXPECT_EQ(timed.result["epochs"], 1);
  EXPECT_EQ(log_of(c.str()).size(), 1u);
}

TEST(Search, NonFiniteLossStopsWithAClearError) {
  core::set_verbosity(0);
  TempDir a;
  auto config = tiny_config(a.str(), 1);
  config["strategy"]["options"]["w_lr"] = 1e38;  // weights overflow float
  try {
    run_search(config, false, builtin_registries());
    FAIL() << "no error";
  } catch (const ConfigError&) {
    FAIL() << "not a config error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the search stopped"), std::string::npos)
        << e.what();
  }
}

TEST(Config, UnknownKeysAndBadValuesAreRejected) {
  const auto& r = builtin_registries();
  try {
    resolve_config(search_defaults(), {{{"epoch", 3}}}, r);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'config.epoch'"),
              std::string::npos)
        << e.what();
  }
  try {
    resolve_config(search_defaults(),
                   {{{"strategy", {{"options", {{"ordre", 2}}}}}}}, r);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option 'strategy.darts.ordre'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(resolve_config(search_defaults(), {{{"epochs", "ten"}}}, r),
               ConfigError);
  EXPECT_THROW(resolve_config(search_defaults(),
                              {{{"strategy", {{"name", "dartz"}}}}}, r),
               ConfigError);
}

TEST(Config, PresetsResolve) {
  for (const auto& name : preset_names("search")) {
    EXPECT_NO_THROW(resolve_config(search_defaults(), {preset("search", name)},
                                   builtin_registries()))
        << name;
  }
  for (const auto& name : preset_names("train")) {
    EXPECT_NO_THROW(resolve_config(train_defaults(), {preset("train", name)},
                                   builtin_registries()))
        << name;
  }
  EXPECT_THROW(preset("search", "nope"), ConfigError);
  // A reference recipe for every strategy on every space it runs on,
  // naming both (Single-Path NAS: the chains whose candidates nest).
  const auto& r = builtin_registries();
  for (const auto& space : r.spaces.names()) {
    for (const auto& strategy : r.strategies.names()) {
      search_space::NetworkOptions sizes;
      try {
        r.strategies.create(strategy, nlohmann::json::object())
            ->configure_supernet(*r.spaces.create(space, nlohmann::json::object()), sizes);
      } catch (const ConfigError&) {
        EXPECT_THROW(preset("search", space + "-" + strategy), ConfigError);
        continue;
      }
      const auto c = preset("search", space + "-" + strategy);
      EXPECT_EQ(c["space"]["name"], space);
      EXPECT_EQ(c["strategy"]["name"], strategy);
    }
  }
}

// `nas train --space nb201` gets NAS-Bench-201's training setting, not the
// DARTS evaluation recipe; the user's layers still win.
TEST(Config, Nb201TrainsWithItsBenchmarkRecipe) {
  const nlohmann::json user = {{"space", {{"name", "nb201"}}}, {"train", {{"epochs", 3}}}};
  const auto c = resolve_config(
      train_defaults(), {train_space_recipe(space_of({user}, "darts")), user},
      builtin_registries());
  EXPECT_EQ(c["network"]["C"], 16);
  EXPECT_EQ(c["network"]["auxiliary"], false);
  EXPECT_EQ(c["train"]["lr"], 0.1);
  EXPECT_EQ(c["train"]["nesterov"], true);
  EXPECT_EQ(c["train"]["epochs"], 3);
  EXPECT_EQ(c["data"]["batch"], 256);
  EXPECT_EQ(train_space_recipe("darts"), nlohmann::json::object());
}

TEST(Registries, EveryBuiltinIsCreatableFromDefaults) {
  const auto& r = builtin_registries();
  for (const auto& n : r.spaces.names()) EXPECT_NE(r.spaces.create(n), nullptr);
  for (const auto& n : r.strategies.names()) EXPECT_NE(r.strategies.create(n), nullptr);
  for (const auto& n : r.estimators.names()) EXPECT_NE(r.estimators.create(n), nullptr);
}

}  // namespace
}  // namespace nas::experiments

namespace nas::estimators {
namespace {

TEST(ScratchEstimator, TrainsAndReportsAFailureAsAResult) {
  core::set_verbosity(0);
  const auto& r = experiments::builtin_registries();
  auto space = r.spaces.create("nb201");
  auto data_options = data::default_data_options();
  data_options["dataset"] = "synthetic";
  data_options["batch"] = 32;
  data_options["synthetic"]["train_size"] = 128;
  data_options["synthetic"]["size"] = 8;
  const auto data = data::load_data(data_options);
  auto estimator = r.estimators.create(
      "scratch", {{"epochs", 1}, {"C", 4}, {"cells_per_stage", 1}});
  EstimatorContext ctx;
  ctx.space = space.get();
  ctx.data = &data;
  ctx.data_options = data_options;
  ctx.seed = 1;
  ctx.network = space->eval_defaults();
  ctx.network.input_size = 8;
  estimator->attach(ctx);
  const auto good = estimator->evaluate(
      space->parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|"
                   "nor_conv_1x1~1|nor_conv_3x3~2|"),
      {});
  EXPECT_TRUE(good.ok) << good.message;
  EXPECT_EQ(good.metric, "val_acc");
  EXPECT_GE(good.value, 0.0);
  EXPECT_LE(good.value, 1.0);
  EXPECT_EQ(good.score, good.value);
  EXPECT_EQ(good.epochs, 1);
  EXPECT_GT(good.seconds, 0.0);
  // A DARTS genotype is not an NB201 architecture: a failed result, not a throw.
  const auto bad = estimator->evaluate(
      r.spaces.create("darts")->sample(*std::make_unique<core::Rng>(1), false), {});
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.message.empty());
}

}  // namespace
}  // namespace nas::estimators

namespace nas::experiments {
namespace {

nlohmann::json tiny_train_config(const std::string& out) {
  nlohmann::json layer = {
      {"seed", 3},
      {"threads", 1},
      {"out", out},
      {"arch", "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|"
               "none~1|nor_conv_3x3~2|"},
      {"space", {{"name", "nb201"}}},
      {"network", {{"C", 4}, {"cells_per_stage", 1}}},
      {"train", {{"epochs", 3}}},
      {"data",
       {{"dataset", "synthetic"},
        {"batch", 32},
        {"synthetic", {{"train_size", 128}, {"size", 8}}}}},
  };
  return resolve_config(train_defaults(), {layer}, builtin_registries());
}

TEST(Train, InterruptedTrainingResumesToTheSameResult) {
  core::set_verbosity(0);
  TempDir whole, split;
  const auto r1 = run_train(tiny_train_config(whole.str()), builtin_registries());
  const InterruptGuard guard;
  request_interrupt_after(6);  // epoch 2 of 3 (4 steps per epoch)
  const auto partial = run_train(tiny_train_config(split.str()), builtin_registries());
  EXPECT_TRUE(partial.value("interrupted", false));
  request_interrupt(false);
  const auto r2 = run_train(tiny_train_config(split.str()), builtin_registries(), true);
  EXPECT_EQ(log_of(whole.str()), log_of(split.str()));
  EXPECT_EQ(r1["test_acc"], r2["test_acc"]);
  EXPECT_EQ(r1["test_loss"], r2["test_loss"]);
  for (const char* f : {"weights.pt", "result.json", "checkpoint.pt"}) {
    EXPECT_TRUE(fs::exists(split.str() + "/" + f)) << f;
  }
}

// Stopped inside its first epoch, training still leaves a checkpoint (the
// state before epoch 1) and resumes to the uninterrupted result.
TEST(Train, InterruptedInTheFirstEpochResumes) {
  core::set_verbosity(0);
  TempDir whole, split;
  const auto r1 = run_train(tiny_train_config(whole.str()), builtin_registries());
  const InterruptGuard guard;
  request_interrupt_after(2);
  EXPECT_TRUE(run_train(tiny_train_config(split.str()), builtin_registries())
                  .value("interrupted", false));
  request_interrupt(false);
  EXPECT_TRUE(fs::exists(split.str() + "/checkpoint.pt"));
  const auto r2 = run_train(tiny_train_config(split.str()), builtin_registries(), true);
  EXPECT_EQ(r1["test_acc"], r2["test_acc"]);
  EXPECT_EQ(log_of(whole.str()), log_of(split.str()));
}

}  // namespace
}  // namespace nas::experiments

namespace nas::experiments {
namespace {

// The shared contract of every registered strategy on both spaces: the same
// seed gives the same run, and an interrupted run resumes to exactly the
// uninterrupted one.
class Conformance : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(Conformance, SameSeedSameRunAndExactResume) {
  core::set_verbosity(0);
  const auto& [space, strategy] = GetParam();
  auto config = [&](const std::string& out) {
    auto c = tiny_config(out, 4);
    c["space"] = {{"name", space}, {"options", nlohmann::json::object()}};
    c["strategy"] = {{"name", strategy}, {"options", nlohmann::json::object()}};
    c["network"]["cells_per_stage"] = 1;
    c["network"]["width_mult"] = 0.05;  // chains: 8 channels a block (cells ignore it)
    if (strategy == "fairnas" || strategy == "random_ws") {
      c["strategy"]["options"] = {{"eval_archs", 3}, {"epoch_eval_archs", 2}};
    }
    if (strategy == "fbnet" || strategy == "single_path") {
      c["strategy"]["options"] = {{"warmup_epochs", 1}};
    }
    if (strategy == "asap") {
      c["strategy"]["options"] = {{"tau0", 1.2}, {"tau_decay", 0.5}, {"prune_threshold", 0.9}};
    }
    if (strategy == "enas") {
      c["strategy"]["options"] = {{"controller_steps", 2}, {"aggregate", 3}, {"select_archs", 4}};
    }
    if (strategy == "darts_prime") {  // alpha steps from the second step on
      c["strategy"]["options"] = {{"sched_freq", 1}, {"threshold_init", 1e3}};
    }
    if (strategy == "darts_prime_crb") {
      c["strategy"] = {{"name", "darts_prime"},
                       {"options", {{"activation", "crb"}, {"reg", "admm"}, {"admm_freq", 2},
                                    {"sched_freq", 1}, {"threshold_init", 1e3},
                                    {"alpha_lr", 0.05}}}};
    }
    return resolve_config(search_defaults(), {c}, builtin_registries());
  };
  TempDir a, b, c;
  const auto ra = run_search(config(a.str()), false, builtin_registries());
  const auto rb = run_search(config(b.str()), false, builtin_registries());
  EXPECT_EQ(log_of(a.str()), log_of(b.str()));
  EXPECT_EQ(ra.result["arch"], rb.result["arch"]);
  const InterruptGuard guard;
  // The 6th poll: in epoch 1's steps or its eval pass, depending on the
  // strategy; both must resume exactly.
  request_interrupt_after(6);  // mid-epoch 2 (4 steps per epoch)
  EXPECT_TRUE(run_search(config(c.str()), false, builtin_registries()).interrupted);
  request_interrupt(false);
  const auto rc = run_search(config(c.str()), true, builtin_registries());
  EXPECT_EQ(log_of(a.str()), log_of(c.str()));
  EXPECT_EQ(ra.result["arch"], rc.result["arch"]);
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategies, Conformance,
    ::testing::Combine(::testing::Values("darts", "nb201", "chain_proxyless"),
                       ::testing::Values("darts", "snas", "gdas", "proxyless",
                                         "fairnas", "random_ws", "fbnet", "sharp_darts",
                                         "enas", "asap", "darts_prime")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

// DARTS-PRIME's per-edge CRB activation (node BatchNorm, masked ops) with
// ADMM's Z and U, on the space whose supernet has the node BatchNorm.
INSTANTIATE_TEST_SUITE_P(
    CrbActivation, Conformance,
    ::testing::Combine(::testing::Values("darts"), ::testing::Values("darts_prime_crb")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

// FBNet's space (skip, grouped ops, conv-free identity blocks) under the
// strategies that run every op, one op and a pool of ops.
INSTANTIATE_TEST_SUITE_P(
    FbnetSpace, Conformance,
    ::testing::Combine(::testing::Values("chain_fbnet"),
                       ::testing::Values("fbnet", "gdas", "proxyless", "fairnas")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

INSTANTIATE_TEST_SUITE_P(
    SuperkernelSpaces, Conformance,
    ::testing::Combine(::testing::Values("chain_proxyless", "chain_fairnas"),
                       ::testing::Values("single_path")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

TEST(Conformance, CoversEveryRegisteredStrategy) {
  // One-shot strategies here; trial strategies in trials_test.cpp.
  EXPECT_EQ(builtin_registries().strategies.names(),
            (std::vector<std::string>{"asap", "darts", "darts_prime", "enas", "fairnas",
                                      "fbnet", "gdas", "proxyless", "random_ws", "sharp_darts",
                                      "single_path", "snas"}));
  EXPECT_EQ(builtin_registries().trial_strategies.names(),
            (std::vector<std::string>{"evolution", "list", "random", "reinforce"}));
}

}  // namespace
}  // namespace nas::experiments
