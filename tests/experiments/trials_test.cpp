// The trial loop and its strategies and estimators: planted optima,
// determinism and exact resumes, failures, budgets, table and supernet
// estimators, zero-cost proxies against hand-computed values.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <torch/torch.h>

#include "core/error.h"
#include "core/log.h"
#include "estimators/one_shot_eval.h"
#include "estimators/tabular.h"
#include "estimators/zero_cost.h"
#include "experiments/search.h"
#include "tests/experiments/helpers.h"

namespace nas::experiments {
namespace {

const std::vector<std::string> kNb201Ops = {"none", "skip_connect", "nor_conv_1x1",
                                            "nor_conv_3x3", "avg_pool_3x3"};

std::string nb201_text(const std::vector<int>& ops) {
  const int inputs[6] = {0, 0, 1, 0, 1, 2};
  std::vector<std::string> e;
  for (int i = 0; i < 6; ++i) e.push_back(kNb201Ops[ops[i]] + "~" + std::to_string(inputs[i]));
  return "|" + e[0] + "|+|" + e[1] + "|" + e[2] + "|+|" + e[3] + "|" + e[4] + "|" + e[5] + "|";
}

/// Every NB201 architecture with a planted optimum: 7 points per edge that
/// matches `target`, plus a deterministic jitter below 1 (so the landscape
/// is smooth and the optimum unique); cost 10 + (index mod 5) seconds.
std::string write_planted_table(const std::string& dir, const std::vector<int>& target,
                                int64_t keep_every = 1) {
  std::filesystem::create_directories(dir);
  const auto file = dir + "/table.csv";
  std::ofstream out(file);
  out << "arch,val_acc,cost\n";
  int64_t index = 0;
  std::vector<int> ops(6, 0);
  for (int code = 0; code < 15625; ++code) {
    int c = code;
    int matches = 0;
    for (int i = 0; i < 6; ++i, c /= 5) {
      ops[i] = c % 5;
      matches += ops[i] == target[i];
    }
    const double jitter = ((code * 7919) % 1000) / 1000.0;
    if (index++ % keep_every == 0 || matches == 6) {
      out << nb201_text(ops) << "," << 50 + 7 * matches + jitter << "," << 10 + code % 5 << "\n";
    }
  }
  return file;
}

nlohmann::json tabular_config(const std::string& out, const std::string& table,
                              const std::string& strategy, int64_t seed, int64_t trials,
                              const nlohmann::json& strategy_options = nlohmann::json::object()) {
  nlohmann::json layer = {
      {"seed", seed},
      {"threads", 1},
      {"out", out},
      {"space", {{"name", "nb201"}}},
      {"strategy", {{"name", strategy}, {"options", strategy_options}}},
      {"estimator", {{"name", "tabular"}, {"options", {{"file", table}, {"metric", "val_acc"}}}}},
      {"budget", {{"trials", trials}}},
  };
  return resolve_config(search_defaults(), {layer}, builtin_registries());
}

/// Over seeds 1..`seeds`, how often `strategy` (with `options`) and random
/// search, 150 trials each on a planted table, end at the optimum; random
/// search never proposes an architecture twice.
std::pair<int, int> planted_hits(const std::string& strategy, const nlohmann::json& options,
                                 int seeds) {
  TempDir tables;
  const std::vector<int> target = {3, 3, 1, 2, 3, 1};
  const auto table = write_planted_table(tables.str(), target);
  const auto optimum = nb201_text(target);
  int found = 0, random_found = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    TempDir a, b;
    const auto e = run_search(tabular_config(a.str(), table, strategy, seed, 150, options), false,
                              builtin_registries());
    const auto r = run_search(tabular_config(b.str(), table, "random", seed, 150), false,
                              builtin_registries());
    found += e.result["arch"] == optimum;
    random_found += r.result["arch"] == optimum;
    std::set<std::string> seen;
    for (const auto& line : log_of(b.str(), "trials.jsonl")) {
      EXPECT_TRUE(seen.insert(line["arch"].get<std::string>()).second);
    }
  }
  return {found, random_found};
}

TEST(Trials, EvolutionFindsAPlantedOptimumFarMoreOftenThanRandomSearch) {
  core::set_verbosity(0);
  const int seeds = 20;
  const auto [evolution_found, random_found] =
      planted_hits("evolution", nlohmann::json::object(), seeds);
  // 150 of 15625 architectures: random search finds the optimum with
  // probability ~1% per seed; evolution climbs to it.
  RecordProperty("evolution_found", evolution_found);
  RecordProperty("random_found", random_found);
  EXPECT_GE(evolution_found, seeds / 2) << evolution_found << " vs " << random_found;
  EXPECT_LE(random_found, 3);
}

// REINFORCE (a table policy at lr 0.1; AutoDL's 1e-3 barely moves in 150
// trials) climbs to the planted optimum (20 of 20 seeds when written).
TEST(Trials, ReinforceFindsAPlantedOptimumFarMoreOftenThanRandomSearch) {
  core::set_verbosity(0);
  const int seeds = 20;
  const auto [reinforce_found, random_found] =
      planted_hits("reinforce", {{"controller_lr", 0.1}}, seeds);
  RecordProperty("reinforce_found", reinforce_found);
  RecordProperty("random_found", random_found);
  EXPECT_GE(reinforce_found, seeds / 2) << reinforce_found << " vs " << random_found;
  EXPECT_LE(random_found, 3);
}

TEST(Trials, ResultHasTheBestArchitectureItsEstimateAndTheTrialCount) {
  core::set_verbosity(0);
  TempDir tables, run;
  const auto table = write_planted_table(tables.str(), {1, 2, 3, 4, 0, 1});
  const auto outcome = run_search(tabular_config(run.str(), table, "evolution", 3, 25), false,
                                  builtin_registries());
  const auto lines = log_of(run.str(), "trials.jsonl");
  ASSERT_EQ(lines.size(), 25u);
  double best = -1;
  std::string best_arch;
  for (const auto& l : lines) {
    EXPECT_TRUE(l["ok"].get<bool>());
    if (l["score"].get<double>() > best) {
      best = l["score"].get<double>();
      best_arch = l["arch"].get<std::string>();
    }
    // P = 10 random proposals first, then mutations of a parent.
    EXPECT_EQ(l["origin"], l["trial"].get<int>() < 10 ? "random" : "mutation");
  }
  EXPECT_EQ(outcome.result["arch"], best_arch);
  EXPECT_EQ(outcome.result["estimate"]["value"].get<double>(), best);
  EXPECT_EQ(outcome.result["trials"], 25);
  EXPECT_EQ(outcome.result["estimator"], "tabular");
}

/// Same seed, same trials; an interrupt + --resume gives the run that was
/// not interrupted, for both trial strategies and a real (scratch) estimator,
/// on a cell space and on a chain (chain_scratch).
class TrialConformance
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(TrialConformance, SameSeedSameTrialsAndInterruptResumesExactly) {
  core::set_verbosity(0);
  const auto& [strategy, estimator] = GetParam();
  TempDir tables;
  const auto table = write_planted_table(tables.str(), {3, 3, 3, 3, 3, 3});
  auto config = [&](const std::string& out) {
    if (estimator == "tabular") return tabular_config(out, table, strategy, 5, 14);
    nlohmann::json c = {
        {"seed", 5},
        {"threads", 1},
        {"out", out},
        {"space", {{"name", estimator == "chain_scratch" ? "chain_proxyless" : "nb201"}}},
        {"strategy",
         {{"name", strategy},
          {"options", strategy == "reinforce" ? nlohmann::json{{"policy", "lstm"}}
                                              : nlohmann::json{{"population", 2}}}}},
        {"network", {{"C", 2}, {"cells_per_stage", 1}, {"width_mult", 0.05}}},
        {"estimator", {{"name", "scratch"}, {"options", {{"epochs", 2}}}}},
        {"budget", {{"trials", 4}}},
        {"data",
         {{"dataset", "synthetic"},
          {"batch", 16},
          {"synthetic", {{"train_size", 64}, {"channels", 1}, {"size", 8}, {"classes", 3}}}}},
    };
    if (strategy == "random") c["strategy"]["options"] = nlohmann::json::object();
    return resolve_config(search_defaults(), {c}, builtin_registries());
  };
  TempDir a, b, c;
  const auto ra = run_search(config(a.str()), false, builtin_registries());
  const auto rb = run_search(config(b.str()), false, builtin_registries());
  EXPECT_EQ(log_of(a.str(), "trials.jsonl"), log_of(b.str(), "trials.jsonl"));
  EXPECT_EQ(ra.result["arch"], rb.result["arch"]);
  const InterruptGuard guard;
  // Tabular: one poll per trial (the 6th: before trial 6). Scratch: a poll
  // per training step too (2 steps per epoch): the 9th is inside trial 2.
  request_interrupt_after(estimator == "tabular" ? 6 : 9);
  EXPECT_TRUE(run_search(config(c.str()), false, builtin_registries()).interrupted);
  request_interrupt(false);
  const auto partial = log_of(c.str(), "trials.jsonl").size();
  EXPECT_GT(partial, 0u);
  EXPECT_LT(partial, log_of(a.str(), "trials.jsonl").size());
  const auto rc = run_search(config(c.str()), true, builtin_registries());
  EXPECT_EQ(log_of(a.str(), "trials.jsonl"), log_of(c.str(), "trials.jsonl"));
  EXPECT_EQ(ra.result["arch"], rc.result["arch"]);
  EXPECT_EQ(ra.result["estimate"], rc.result["estimate"]);
}

INSTANTIATE_TEST_SUITE_P(TrialStrategies, TrialConformance,
                         ::testing::Combine(::testing::Values("random", "evolution", "reinforce"),
                                            ::testing::Values("tabular", "scratch",
                                                              "chain_scratch")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

TEST(Trials, FailedEstimatesAreRecordedAndTheSearchGoesOn) {
  core::set_verbosity(0);
  TempDir tables, run, stuck;
  // Every 7th architecture only: most proposals are not in the table.
  const auto table = write_planted_table(tables.str(), {1, 1, 1, 1, 1, 1}, 7);
  const auto outcome = run_search(tabular_config(run.str(), table, "random", 2, 30), false,
                                  builtin_registries());
  EXPECT_EQ(outcome.result["trials"], 30);
  EXPECT_GT(outcome.result["failed"].get<int>(), 10);
  int failed = 0;
  for (const auto& l : log_of(run.str(), "trials.jsonl")) {
    if (l["ok"].get<bool>()) continue;
    ++failed;
    EXPECT_TRUE(l["score"].is_null());
    EXPECT_NE(l["estimate"]["message"].get<std::string>().find("is not in"), std::string::npos);
  }
  EXPECT_EQ(outcome.result["failed"].get<int>(), failed);
  // Too many failures in a row stop the run with a message (checkpoint kept).
  auto config = tabular_config(stuck.str(), table, "random", 2, 30);
  config["budget"]["max_failures_in_a_row"] = 2;
  try {
    run_search(config, false, builtin_registries());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in a row failed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::exists(stuck.str() + "/checkpoint.pt"));
}

TEST(Trials, BudgetsBySecondsAndByEpochs) {
  core::set_verbosity(0);
  TempDir tables, by_seconds, by_epochs;
  const auto table = write_planted_table(tables.str(), {1, 1, 1, 1, 1, 1});
  auto config = tabular_config(by_seconds.str(), table, "random", 2, 0);
  config["estimator"]["options"]["seconds"] = "cost";  // 10..14 s per architecture
  config["budget"]["seconds"] = 50;
  const auto r = run_search(config, false, builtin_registries());
  EXPECT_GE(r.result["estimator_seconds"].get<double>(), 50);
  EXPECT_LT(r.result["estimator_seconds"].get<double>(), 64);
  EXPECT_EQ(r.result["trials"].get<int>(), static_cast<int>(log_of(by_seconds.str(), "trials.jsonl").size()));
  // An epoch budget needs an estimator that trains.
  auto no_epochs = tabular_config(by_epochs.str(), table, "random", 2, 0);
  no_epochs["budget"]["epochs"] = 10;
  EXPECT_THROW(run_search(no_epochs, false, builtin_registries()), ConfigError);
  nlohmann::json c = {
      {"seed", 1}, {"threads", 1}, {"out", by_epochs.str()},
      {"space", {{"name", "nb201"}}}, {"strategy", {{"name", "random"}}},
      {"network", {{"C", 2}, {"cells_per_stage", 1}}},
      {"estimator", {{"name", "scratch"}, {"options", {{"epochs", 2}}}}},
      {"budget", {{"trials", 0}, {"epochs", 7}}},
      {"data", {{"dataset", "synthetic"}, {"batch", 32},
                {"synthetic", {{"train_size", 64}, {"size", 8}}}}}};
  const auto e = run_search(resolve_config(search_defaults(), {c}, builtin_registries()), false,
                            builtin_registries());
  EXPECT_EQ(e.result["trials"], 3);  // 3 x 2 epochs <= 7 < 4 x 2
  EXPECT_EQ(e.result["epochs_trained"], 6);
}

TEST(Trials, ConfigMistakesFailBeforeTheRunDirectoryExists) {
  core::set_verbosity(0);
  TempDir run;
  auto config = [&](const nlohmann::json& layer) {
    nlohmann::json base = {{"out", run.str()}, {"space", {{"name", "nb201"}}},
                           {"strategy", {{"name", "random"}}}};
    return resolve_config(search_defaults(), {base, layer}, builtin_registries());
  };
  EXPECT_THROW(config({{"strategy", {{"name", "randm"}}}}), ConfigError);
  EXPECT_THROW(config({{"budget", {{"trials", -1}}}}), ConfigError);
  EXPECT_THROW(config({{"estimator", {{"name", "tabular"}, {"options", {{"fiel", "x"}}}}}}),
               ConfigError);
  EXPECT_THROW(config({{"strategy", {{"name", "evolution"}, {"options", {{"population", 0}}}}}}),
               ConfigError);
  EXPECT_THROW(run_search(config({{"estimator", {{"name", "tabular"}}}}), false,
                          builtin_registries()),
               ConfigError);  // no file
  EXPECT_THROW(run_search(config({{"estimator", {{"name", "supernet"}}}}), false,
                          builtin_registries()),
               ConfigError);  // no run
  EXPECT_FALSE(std::filesystem::exists(run.str()));
  try {
    config({{"strategy", {{"name", "randm"}}}});
  } catch (const ConfigError& e) {
    // The message lists one-shot and trial strategies alike.
    EXPECT_NE(std::string(e.what()).find("evolution"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("darts"), std::string::npos);
  }
}

TEST(Trials, CostObjectiveChangesWhatTheStrategiesSelect) {
  core::set_verbosity(0);
  TempDir tables, plain, costly;
  // The table rewards convolutions; a heavy parameter penalty must win.
  const auto table = write_planted_table(tables.str(), {3, 3, 3, 3, 3, 3});
  const auto base = run_search(tabular_config(plain.str(), table, "evolution", 1, 60), false,
                               builtin_registries());
  auto config = tabular_config(costly.str(), table, "evolution", 1, 60);
  config["objective"]["params"]["lambda"] = 1000.0;  // per million weights
  const auto r = run_search(config, false, builtin_registries());
  EXPECT_NE(base.result["arch"].get<std::string>().find("conv"), std::string::npos);
  EXPECT_EQ(r.result["arch"].get<std::string>().find("conv"), std::string::npos)
      << r.result["arch"];
  EXPECT_TRUE(r.result["costs"].contains("params_m"));
  const auto lines = log_of(costly.str(), "trials.jsonl");
  EXPECT_TRUE(lines.front().contains("costs"));
  // Fitness = estimate - lambda * cost.
  for (const auto& l : lines) {
    EXPECT_NEAR(l["score"].get<double>(),
                l["estimate"]["value"].get<double>() - 1000.0 * l["costs"]["params_m"].get<double>(),
                1e-6);
  }
}

TEST(Trials, ListStrategyRanksAFileWithTwoEstimators) {
  core::set_verbosity(0);
  TempDir tables, run;
  const auto table = write_planted_table(tables.str(), {2, 2, 2, 2, 2, 2});
  const auto archs = tables.str() + "/archs.txt";
  std::ofstream(archs) << "# three architectures\n"
                       << nb201_text({2, 2, 2, 2, 2, 2}) << "\n\n"
                       << nb201_text({2, 2, 2, 0, 0, 0}) << "\n"
                       << nb201_text({0, 0, 0, 0, 0, 1}) << "\n";
  auto config = tabular_config(run.str(), table, "list", 1, 0, {{"file", archs}});
  config["vs"] = {{"name", "tabular"},
                  {"options", config["estimator"]["options"]}};
  config["vs"]["options"]["metric"] = "cost";
  config["vs"]["options"]["higher_is_better"] = false;
  const auto r = run_search(config, false, builtin_registries());
  EXPECT_EQ(r.result["trials"], 3);
  EXPECT_EQ(r.result["rank"]["n"], 3);
  EXPECT_EQ(r.result["arch"], nb201_text({2, 2, 2, 2, 2, 2}));
  // A line that does not parse names the file and the line.
  std::ofstream(archs, std::ios::app) << "|conv_9x9~0|\n";
  TempDir other;
  auto bad = config;
  bad["out"] = other.str();
  try {
    run_search(bad, false, builtin_registries());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("archs.txt:6"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nas::experiments

namespace nas::estimators {
namespace {

using experiments::TempDir;

std::string expect_table_error(const std::string& text, const std::string& name,
                               const nlohmann::json& options = {{"metric", "acc"}}) {
  TempDir dir;
  std::filesystem::create_directories(dir.str());
  const auto file = dir.str() + "/" + name;
  std::ofstream(file) << text;
  auto space = experiments::builtin_registries().spaces.create("nb201");
  auto o = TabularEstimator::default_options();
  o.update(options);
  o["file"] = file;
  TabularEstimator estimator(o);
  EstimatorContext ctx;
  ctx.space = space.get();
  try {
    estimator.attach(ctx);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

const char* kArch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|";

TEST(Tabular, RejectsBadFilesWithMessagesThatSayWhere) {
  auto has = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  const std::string arch = kArch;
  has(expect_table_error("", "empty.csv"), "expected at least one architecture");
  has(expect_table_error("name,acc\nx,1\n", "noarch.csv"), "column 'arch'");
  has(expect_table_error("arch,acc\n|conv_9x9~0|,1\n", "badarch.csv"), "badarch.csv:2");
  has(expect_table_error("arch,acc\n" + arch + ",1\n" + arch + ",2\n", "dup.csv"),
      "listed twice (lines 2 and 3)");
  has(expect_table_error("arch,acc\n" + arch + ",high\n", "nan.csv"), "finite number");
  has(expect_table_error("arch,acc\n" + arch + ",1,2\n", "fields.csv"), "fields.csv:2");
  has(expect_table_error("arch,acc\n" + arch + ",1\n", "metric.csv", {{"metric", "loss"}}),
      "its columns: acc");
  has(expect_table_error("arch,acc,loss\n" + arch + ",1,2\n", "two.csv", {{"metric", ""}}),
      "estimator.tabular.metric");
  has(expect_table_error("{\"arch\": 3}\n", "bad.jsonl"), "bad.jsonl:1");
  has(expect_table_error("arch,acc\n\"" + arch + ",1\n", "quote.csv"), "not closed");
  // A missing file.
  TabularEstimator missing({{"file", "/nonexistent/table.csv"}, {"metric", "acc"},
                            {"higher_is_better", true}, {"arch_column", "arch"},
                            {"seconds", ""}});
  auto space = experiments::builtin_registries().spaces.create("nb201");
  EstimatorContext ctx;
  ctx.space = space.get();
  try {
    missing.attach(ctx);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const ConfigError& e) {
    has(e.what(), "/nonexistent/table.csv");
  }
}

TEST(Tabular, MatchesParsedArchitecturesAndReportsUnknownOnes) {
  TempDir dir;
  std::filesystem::create_directories(dir.str());
  auto darts = experiments::builtin_registries().spaces.create("darts");
  core::Rng rng(3);
  const auto a = darts->sample(rng, false);
  const auto b = darts->sample(rng, false);
  // The file spells the genotype without spaces; the lookup formats it.
  auto squeeze = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
  };
  const auto file = dir.str() + "/darts.jsonl";
  std::ofstream(file) << nlohmann::json({{"arch", squeeze(darts->format(a))}, {"err", 3.5}}).dump()
                      << "\n"
                      << nlohmann::json({{"arch", darts->format(b)}, {"err", 2.5}}).dump() << "\n";
  TabularEstimator estimator({{"file", file}, {"metric", "err"}, {"higher_is_better", false},
                              {"arch_column", "arch"}, {"seconds", ""}});
  EstimatorContext ctx;
  ctx.space = darts.get();
  estimator.attach(ctx);
  const auto ea = estimator.evaluate(a, {});
  ASSERT_TRUE(ea.ok) << ea.message;
  EXPECT_EQ(ea.value, 3.5);
  EXPECT_EQ(ea.score, -3.5);  // lower is better
  const auto unknown = estimator.evaluate(darts->sample(rng, false), {});
  EXPECT_FALSE(unknown.ok);
  EXPECT_NE(unknown.message.find("is not in " + file + " (2 architectures listed)"),
            std::string::npos)
      << unknown.message;
}

TEST(SupernetEstimator, GivesTheAccuracyTheOneShotRunScoredItsAnswerWith) {
  core::set_verbosity(0);
  TempDir run, trials;
  auto config = experiments::tiny_config(run.str(), 4);
  config["space"] = {{"name", "nb201"},
                     {"options", experiments::builtin_registries().spaces.resolve("nb201", {})}};
  config["network"]["cells_per_stage"] = 1;
  const auto outcome = experiments::run_search(config, false, experiments::builtin_registries());
  const double derived = outcome.result["final"]["derived_acc"].get<double>();

  auto space = experiments::builtin_registries().spaces.create("nb201");
  SupernetEstimator estimator({{"run", run.str()}, {"recalibrate", 10}, {"batches", 0}});
  EstimatorContext ctx;
  ctx.space = space.get();
  estimator.attach(ctx);
  const auto e = estimator.evaluate(space->parse(outcome.result["arch"].get<std::string>()), {});
  ASSERT_TRUE(e.ok) << e.message;
  EXPECT_DOUBLE_EQ(e.value, derived);
  // A run of another space is refused.
  auto darts = experiments::builtin_registries().spaces.create("darts");
  ctx.space = darts.get();
  EXPECT_THROW(estimator.attach(ctx), ConfigError);
}

/// Two linear layers (3 -> 2 -> 2, no bias) with a ReLU between them.
struct TinyNet : torch::nn::Module {
  TinyNet() {
    fc1 = register_module("fc1", torch::nn::Linear(torch::nn::LinearOptions(3, 2).bias(false)));
    fc2 = register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(2, 2).bias(false)));
    torch::NoGradGuard guard;
    fc1->weight.copy_(torch::tensor({{0.5, -1.0, 0.25}, {-0.5, 0.75, 1.0}}));
    fc2->weight.copy_(torch::tensor({{1.0, -2.0}, {0.5, 1.5}}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST(ZeroCost, ProxiesEqualHandComputedValues) {
  const double W1[2][3] = {{0.5, -1.0, 0.25}, {-0.5, 0.75, 1.0}};
  const double W2[2][2] = {{1.0, -2.0}, {0.5, 1.5}};
  const double X[2][3] = {{2.0, -1.0, 1.0}, {0.5, -1.0, 2.0}};
  const int Y[2] = {0, 1};
  // Forward and backward by hand: h = relu(W1 x), o = W2 h, L = mean CE.
  double g1[2][3] = {}, g2[2][2] = {}, jac[2][3] = {};
  for (int n = 0; n < 2; ++n) {
    double z[2], h[2], o[2];
    for (int i = 0; i < 2; ++i) {
      z[i] = 0;
      for (int k = 0; k < 3; ++k) z[i] += W1[i][k] * X[n][k];
      h[i] = std::max(0.0, z[i]);
    }
    for (int j = 0; j < 2; ++j) o[j] = W2[j][0] * h[0] + W2[j][1] * h[1];
    const double m = std::max(o[0], o[1]);
    const double e0 = std::exp(o[0] - m), e1 = std::exp(o[1] - m);
    const double p[2] = {e0 / (e0 + e1), e1 / (e0 + e1)};
    double dh[2] = {0, 0}, ones_dh[2] = {0, 0};
    for (int j = 0; j < 2; ++j) {
      const double d_o = (p[j] - (Y[n] == j ? 1 : 0)) / 2;  // mean over 2 images
      for (int i = 0; i < 2; ++i) {
        g2[j][i] += d_o * h[i];
        dh[i] += d_o * W2[j][i];
        ones_dh[i] += W2[j][i];  // d(sum o)/dh
      }
    }
    for (int i = 0; i < 2; ++i) {
      const double relu = z[i] > 0 ? 1 : 0;
      for (int k = 0; k < 3; ++k) {
        g1[i][k] += dh[i] * relu * X[n][k];
        jac[n][k] += ones_dh[i] * relu * W1[i][k];
      }
    }
  }
  double norm1 = 0, norm2 = 0, snip = 0;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 3; ++k) {
      norm1 += g1[i][k] * g1[i][k];
      snip += std::abs(W1[i][k] * g1[i][k]);
    }
    for (int j = 0; j < 2; ++j) {
      norm2 += g2[i][j] * g2[i][j];
      snip += std::abs(W2[i][j] * g2[i][j]);
    }
  }
  const double grad_norm = std::sqrt(norm1) + std::sqrt(norm2);
  // synflow: ones input through |W1| then |W2|: h_i = sum_k |W1_ik|;
  // R = sum_j sum_i |W2_ji| h_i. dR/d|W2_ji| = h_i; dR/d|W1_ik| = sum_j |W2_ji|.
  double synflow = 0;
  for (int i = 0; i < 2; ++i) {
    double h = 0, col = 0;
    for (int k = 0; k < 3; ++k) h += std::abs(W1[i][k]);
    for (int j = 0; j < 2; ++j) col += std::abs(W2[j][i]);
    for (int k = 0; k < 3; ++k) synflow += std::abs(W1[i][k]) * col;
    for (int j = 0; j < 2; ++j) synflow += std::abs(W2[j][i]) * h;
  }
  // jacov: the correlation r of the two Jacobian rows; eigenvalues 1 +- r.
  double mean[2] = {0, 0};
  for (int n = 0; n < 2; ++n) mean[n] = (jac[n][0] + jac[n][1] + jac[n][2]) / 3;
  double sab = 0, saa = 0, sbb = 0;
  for (int k = 0; k < 3; ++k) {
    const double a = jac[0][k] - mean[0], b = jac[1][k] - mean[1];
    sab += a * b;
    saa += a * a;
    sbb += b * b;
  }
  const double r = sab / std::sqrt(saa * sbb);
  const double k = 1e-5;
  double jacov = 0;
  for (const double v : {1 - r, 1 + r}) jacov -= std::log(v + k) + 1 / (v + k);

  const auto x = torch::tensor({{2.0, -1.0, 1.0}, {0.5, -1.0, 2.0}}, torch::kFloat64);
  const auto y = torch::tensor({0, 1}, torch::kInt64);
  auto proxy = [&](const std::string& name) {
    TinyNet net;
    net.to(torch::kFloat64);
    const Forward forward = [&net](const torch::Tensor& in) { return net.forward(in); };
    return zero_cost_proxy(name, net, forward, x, y);
  };
  EXPECT_NEAR(proxy("grad_norm"), grad_norm, 1e-12);
  EXPECT_NEAR(proxy("snip"), snip, 1e-12);
  EXPECT_NEAR(proxy("synflow"), synflow, 1e-12);
  EXPECT_NEAR(proxy("jacov"), jacov, 1e-6 * std::abs(jacov));
  EXPECT_THROW(proxy("zen"), ConfigError);
}

TEST(ZeroCost, EstimatorsScoreRealNetworksAndReportFailures) {
  core::set_verbosity(0);
  const auto& r = experiments::builtin_registries();
  auto space = r.spaces.create("nb201");
  auto data_options = data::default_data_options();
  data_options["dataset"] = "synthetic";
  data_options["batch"] = 16;
  data_options["synthetic"]["train_size"] = 64;
  data_options["synthetic"]["size"] = 8;
  const auto data = data::load_data(data_options);
  EstimatorContext ctx;
  ctx.space = space.get();
  ctx.data = &data;
  ctx.data_options = data_options;
  ctx.network = space->eval_defaults();
  ctx.network.C = 4;
  ctx.network.cells_per_stage = 1;
  ctx.network.input_size = 8;
  const auto arch = space->parse(kArch);
  const auto empty = space->parse(
      "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  for (const auto& name : zero_cost_names()) {
    auto e = r.estimators.create(name);
    e->attach(ctx);
    torch::manual_seed(1);
    const auto a = e->evaluate(arch, {});
    ASSERT_TRUE(a.ok) << name << ": " << a.message;
    EXPECT_TRUE(std::isfinite(a.value));
    EXPECT_EQ(a.metric, name);
    torch::manual_seed(1);
    EXPECT_EQ(e->evaluate(arch, {}).value, a.value) << name;  // deterministic
    // No path from input to output: no gradient; jacov's correlations are
    // undefined (a failed estimate), the others are 0.
    const auto z = e->evaluate(empty, {});
    if (name == "jacov") {
      EXPECT_FALSE(z.ok);
    } else {
      EXPECT_TRUE(z.ok) << z.message;
    }
  }
}

}  // namespace
}  // namespace nas::estimators
