// nas study: a tiny study on synthetic data runs end to end, its report's
// numbers are the run directories' numbers, a killed study resumes without
// redoing finished runs, and failed or missing runs are named in the report.

#include "experiments/study.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/inference.h"
#include "core/json_io.h"
#include "core/log.h"
#include "experiments/report.h"
#include "tests/experiments/helpers.h"

namespace nas::experiments {
namespace {

nlohmann::json tiny_study() {
  return {
      {"search",
       {{"threads", 1},
        {"network", {{"C", 2}, {"layers", 3}}},
        {"data",
         {{"dataset", "synthetic"},
          {"batch", 16},
          {"synthetic", {{"train_size", 128}, {"channels", 1}, {"size", 8}, {"classes", 3}}}}}}},
      {"seeds", {0, 1}},
      {"strategies",
       {"darts",
        {{"name", "random"},
         {"set", {{"estimator", {{"name", "scratch"}, {"options", {{"epochs", 1}}}}}}}}}},
      {"recipes", "shared"},
      {"budget", {{"rule", "passes"}, {"passes", 16}}},
      {"evaluation", {{"estimator", "scratch"}, {"options", {{"epochs", 1}}}, {"seeds", {0}}}},
  };
}

std::vector<nlohmann::json> study_lines(const std::string& dir) {
  return log_of(dir, "study.jsonl");
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

TEST(Study, RunsEndToEndAndTheReportIsTheRunDirectories) {
  core::set_verbosity(0);
  TempDir dir;
  const auto& reg = builtin_registries();
  const auto study = resolve_study({tiny_study()}, reg);
  EXPECT_EQ(study["baseline"], "random");
  const auto outcome = run_study(study, dir.str(), false, reg);
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.searches, 4);
  EXPECT_EQ(outcome.failed, 0);
  // Equal passes: DARTS (2 per step, 4 steps per epoch) gets 2 epochs; the
  // random search's 1-epoch estimates (4 batches each) 4 trials.
  const auto darts = core::read_json_file(dir.str() + "/runs/darts/seed0/result.json");
  EXPECT_EQ(darts["epochs"], 2);
  EXPECT_EQ(darts["passes"], 16);
  const auto random = core::read_json_file(dir.str() + "/runs/random/seed1/result.json");
  EXPECT_EQ(random["trials"], 4);
  EXPECT_EQ(random["passes"], 16);

  const auto report = study_report(dir.str(), reg);
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/report.md"));
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/figures/metric.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir.str() + "/figures/curves.svg"));
  EXPECT_TRUE(report["problems"].empty()) << report["problems"].dump();
  EXPECT_EQ(report["metric"]["name"], "test_acc");
  // Recompute from the run directories.
  std::map<std::string, std::vector<double>> metric, seconds;
  for (const char* label : {"darts", "random"}) {
    for (int seed : {0, 1}) {
      const auto run = fmt::format("{}/runs/{}/seed{}", dir.str(), label, seed);
      const auto e = core::read_json_file(run + "/evaluation.json");
      ASSERT_EQ(e["results"].size(), 1u);
      metric[label].push_back(e["results"][0]["value"].get<double>());
      seconds[label].push_back(
          core::read_json_file(run + "/result.json")["search_seconds"].get<double>());
    }
  }
  for (const auto& s : report["strategies"]) {
    const auto label = s["label"].get<std::string>();
    SCOPED_TRACE(label);
    const auto expected = core::summarize(metric[label]);
    EXPECT_DOUBLE_EQ(s["metric"]["mean"].get<double>(), mean_of(metric[label]));
    if (expected.std > 0) {
      EXPECT_DOUBLE_EQ(s["metric"]["std"].get<double>(), expected.std);
      EXPECT_DOUBLE_EQ(s["metric"]["ci95"][0].get<double>(), expected.ci_low);
    }
    EXPECT_DOUBLE_EQ(s["search_seconds"]["mean"].get<double>(), mean_of(seconds[label]));
    EXPECT_EQ(s["passes"]["mean"], 16.0);
  }
  ASSERT_EQ(report["comparisons"].size(), 1u);
  const auto& c = report["comparisons"][0];
  EXPECT_EQ(c["label"], "darts");
  EXPECT_EQ(c["baseline"], "random");
  EXPECT_DOUBLE_EQ(c["difference"].get<double>(),
                   mean_of(metric["darts"]) - mean_of(metric["random"]));
  const auto w = core::welch_t_test(metric["darts"], metric["random"]);
  if (w.valid) {
    EXPECT_DOUBLE_EQ(c["welch_p"].get<double>(), w.p);
  }
  const auto md = core::read_text_file(dir.str() + "/report.md");
  EXPECT_NE(md.find("| darts | one-shot | shared | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("equal forward+backward passes"), std::string::npos);
  EXPECT_NE(md.find("![test_acc"), std::string::npos);
}

TEST(Study, AKilledStudyResumesWithoutRedoingFinishedRuns) {
  core::set_verbosity(0);
  TempDir dir;
  const auto& reg = builtin_registries();
  auto config = tiny_study();
  config["evaluation"]["estimator"] = "none";
  const auto study = resolve_study({config}, reg);
  {
    // Kill the study at growing counts of interrupt polls until the first
    // search has finished and the second has not.
    const InterruptGuard guard;
    for (int64_t polls = 8; polls < 200; polls += 4) {
      std::filesystem::remove_all(dir.str());
      request_interrupt_after(polls);
      ASSERT_TRUE(run_study(study, dir.str(), false, reg).interrupted);
      if (std::filesystem::exists(dir.str() + "/runs/darts/seed0/result.json")) break;
    }
    request_interrupt(false);
  }
  ASSERT_FALSE(std::filesystem::exists(dir.str() + "/runs/darts/seed1/result.json"));
  const auto first = core::read_text_file(dir.str() + "/runs/darts/seed0/result.json");
  ASSERT_EQ(study_lines(dir.str()).size(), 1u);
  // A new study may not reuse the directory.
  EXPECT_THROW(run_study(study, dir.str(), false, reg), ConfigError);
  const auto outcome = run_study(load_study(dir.str(), reg), dir.str(), true, reg);
  EXPECT_FALSE(outcome.interrupted);
  EXPECT_EQ(outcome.searches, 4);
  const auto lines = study_lines(dir.str());
  ASSERT_EQ(lines.size(), 4u);  // darts seed 0 was not run again
  int darts_seed0 = 0;
  for (const auto& l : lines) darts_seed0 += l["label"] == "darts" && l["seed"] == 0;
  EXPECT_EQ(darts_seed0, 1);
  EXPECT_EQ(core::read_text_file(dir.str() + "/runs/darts/seed0/result.json"), first);
  // The search-metric report (no evaluation) works too.
  const auto report = study_report(dir.str(), reg);
  EXPECT_EQ(report["metric"]["name"], "search metric");
}

TEST(Study, TheReportNamesFailedAndMissingRunsAndReportsTheRest) {
  core::set_verbosity(0);
  TempDir dir;
  const auto& reg = builtin_registries();
  auto config = tiny_study();
  config["evaluation"]["estimator"] = "none";
  config["seeds"] = {0, 1, 2};
  config["strategies"] = {"darts"};
  const auto study = resolve_study({config}, reg);
  run_study(study, dir.str(), false, reg);
  namespace fs = std::filesystem;
  fs::remove_all(dir.str() + "/runs/darts/seed1");  // missing
  core::write_json_file(
      dir.str() + "/runs/darts/seed2/error.json",
      {{"stage", "search"}, {"message", "epoch 1, step 3: the training loss is nan"}});
  const auto report = study_report(dir.str(), reg);
  ASSERT_EQ(report["problems"].size(), 2u) << report["problems"].dump();
  EXPECT_NE(report["problems"][0].get<std::string>().find("darts seed 1: missing"),
            std::string::npos);
  EXPECT_NE(report["problems"][1].get<std::string>().find("loss is nan"), std::string::npos);
  EXPECT_EQ(report["strategies"][0]["metric"]["n"], 1);
  const auto md = core::read_text_file(dir.str() + "/report.md");
  EXPECT_NE(md.find("Failed, unfinished or missing runs"), std::string::npos);
  EXPECT_NE(md.find("no CI (n < 2)"), std::string::npos);
}

TEST(Study, ConfigMistakesFailBeforeAnyRunWithTheKey) {
  const auto& reg = builtin_registries();
  auto error = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto c = tiny_study();
    edit(c);
    try {
      resolve_study({c}, reg);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error([](auto& c) { c["sedes"] = 1; }).find("unknown option 'study.sedes'"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c["seeds"] = {1, 1}; }).find("distinct"), std::string::npos);
  EXPECT_NE(error([](auto& c) { c["seeds"] = nlohmann::json::array(); }).find("at least one"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c["strategies"] = {"dartz"}; }).find("unknown strategy 'dartz'"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) {
              c["strategies"] = {"darts", "darts"};
            }).find("used twice"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) {
              c["strategies"] = {{{"name", "darts"}, {"label", "a/b"}}};
            }).find("not a directory name"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c["budget"]["rule"] = "flops"; }).find("budget.rule"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c["budget"]["passes"] = 0; }).find("budget.passes"),
            std::string::npos);
  EXPECT_NE(error([](auto& c) { c["baseline"] = "evolution"; }).find("baseline"),
            std::string::npos);
  EXPECT_NE(
      error([](auto& c) { c["evaluation"]["estimator"] = "oracle"; }).find("evaluation.estimator"),
      std::string::npos);
  // A strategy's own option is checked by its registry, named with the entry.
  EXPECT_NE(error([](auto& c) {
              c["strategies"] = {{{"name", "darts"}, {"options", {{"order", 3}}}}};
            }).find("strategy 'darts'"),
            std::string::npos);
}

TEST(Study, BudgetRulesBecomeRunSettings) {
  const nlohmann::json epochs = {
      {"rule", "epochs"}, {"epochs", 7}, {"seconds", 0.0}, {"passes", 0}};
  EXPECT_EQ(budget_layer(epochs, false), (nlohmann::json{{"epochs", 7}}));
  EXPECT_EQ(budget_layer(epochs, true),
            (nlohmann::json{{"budget", {{"epochs", 7}, {"trials", 0}}}}));
  auto seconds = epochs;
  seconds["rule"] = "seconds";
  seconds["seconds"] = 60.0;
  EXPECT_EQ(budget_layer(seconds, false), (nlohmann::json{{"budget", {{"seconds", 60.0}}}}));
  auto none = epochs;
  none["rule"] = "none";
  EXPECT_TRUE(budget_layer(none, true).empty());
}

}  // namespace
}  // namespace nas::experiments
