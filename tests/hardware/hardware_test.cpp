// Cost tables, profiling, published latencies and the cost objective.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/stats.h"
#include "hardware/cost.h"
#include "hardware/cost_table.h"
#include "hardware/objective.h"
#include "hardware/profile.h"
#include "hardware/published.h"
#include "search_space/chain_space.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"

namespace nas::hardware {
namespace {

using search_space::NetworkOptions;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

NetworkOptions tiny_nb201() {
  NetworkOptions o;
  o.C = 2;
  o.cells_per_stage = 1;
  o.in_channels = 1;
  o.input_size = 8;
  return o;
}

NetworkOptions tiny_darts() {
  NetworkOptions o;
  o.C = 2;
  o.layers = 3;
  o.in_channels = 1;
  o.input_size = 8;
  return o;
}

ProfileOptions quick_profile(const NetworkOptions& sizes) {
  ProfileOptions o;
  o.sizes = sizes;
  o.timing = TimingOptions::quick();
  o.passes = 1;
  return o;
}

TEST(Stats, RankCorrelationsOnKnownCases) {
  EXPECT_DOUBLE_EQ(core::spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(core::spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  EXPECT_NEAR(core::spearman({1, 2, 3, 4, 5}, {3, 4, 1, 2, 5}), 0.2, 1e-12);
  EXPECT_NEAR(core::kendall_tau({1, 2, 3, 4, 5}, {3, 4, 1, 2, 5}), 0.2, 1e-12);
  EXPECT_EQ(core::ranks({1, 2, 2, 3}), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_DOUBLE_EQ(core::r_squared({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(core::rmse({1, 2}, {2, 4}), std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(core::mean_abs_pct_error({110, 90}, {100, 100}), 10.0);
  EXPECT_DOUBLE_EQ(core::median({3, 1, 2}), 2.0);
  EXPECT_THROW(core::spearman({1}, {1, 2}), std::invalid_argument);
}

TEST(CostTable, ProfiledTableRoundTripsThroughItsFile) {
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  const auto table = profile_latency(space, quick_profile(tiny_nb201()));
  EXPECT_GT(table.fixed, 0);
  for (size_t d = 0; d < table.decisions.size(); ++d) {
    EXPECT_EQ(table.cost[d][0], 0.0);  // none
    for (size_t k = 1; k < table.candidates.size(); ++k) EXPECT_GT(table.cost[d][k], 0.0);
  }
  const auto path = temp_path("table.json");
  write_cost_table(path, table);
  const auto back = read_cost_table(path);
  EXPECT_EQ(back.fixed, table.fixed);
  EXPECT_EQ(back.cost, table.cost);
  EXPECT_EQ(back.decisions, table.decisions);
  EXPECT_EQ(back.candidates, table.candidates);
  EXPECT_EQ(back.meta["device"]["batch"], 1);
  EXPECT_EQ(back.meta["entries"].size(), 12u);  // 4 ops x 3 stages, shared by the 6 edges
  back.check_space(space, path);
}

TEST(CostTable, ExpectedCostOfAOneHotEqualsThePrediction) {
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  CostTable t;
  t.space = "nb201";
  for (const auto& d : space.decisions()) t.decisions.push_back(d.name);
  t.candidates = space.decisions().front().candidates;
  t.fixed = 0.5;
  for (size_t d = 0; d < t.decisions.size(); ++d) {
    t.cost.push_back({0.0, 1.0 + d, 2.0, 3.0 + 0.1 * d, 4.0});
  }
  const auto arch = space.parse(
      "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|");
  const auto ops = space.op_indices(arch);
  auto onehot = torch::zeros({6, 5}, torch::kFloat64);
  for (int64_t d = 0; d < 6; ++d) onehot[d][ops[d]] = 1.0;
  EXPECT_NEAR(t.expected(onehot).item<double>(), t.predict(space, arch), 1e-12);
  // fixed + conv3x3 on 1<-0 + skip on 2<-1 (row 2: 1 + 2) + pool on 3<-0 + conv1x1 on 3<-1.
  EXPECT_NEAR(t.predict(space, arch), 0.5 + 3.0 + 3.0 + 4.0 + 2.0, 1e-12);
  // Differentiable in the probabilities: d E / d P = the cost matrix.
  auto p = torch::full({6, 5}, 0.2, torch::kFloat64).requires_grad_(true);
  t.expected(p).backward();
  EXPECT_TRUE(torch::allclose(p.grad(), t.cost_tensor()));
}

NetworkOptions tiny_chain() {
  NetworkOptions o;
  o.width_mult = 0.1;
  o.in_channels = 1;
  o.input_size = 8;
  return o;
}

// The exact parameter table predicts every network's count exactly (on a
// chain too: blocks that widen, and a fixed part measured on a reference
// network that must run an op where a block widens or strides).
TEST(CostTable, ParamsTableEqualsTheNetworksCount) {
  search_space::Nb201Space nb201(search_space::Nb201Space::default_options());
  search_space::DartsSpace darts(search_space::DartsSpace::default_options());
  search_space::ChainSpace chain("chain_proxyless", "proxyless", nlohmann::json::object());
  for (const search_space::SearchSpace* space :
       std::vector<const search_space::SearchSpace*>{&nb201, &darts, &chain}) {
    const auto sizes = space == &nb201 ? tiny_nb201() : space == &darts ? tiny_darts() : tiny_chain();
    const auto table = params_table(*space, sizes);
    core::Rng rng(5);
    for (int i = 0; i < 5; ++i) {
      const auto arch = space->sample(rng, space == &nb201);
      const auto net = space->build_network(arch, standalone_sizes(sizes));
      EXPECT_NEAR(table.predict(*space, arch) * 1e6,
                  static_cast<double>(count_parameters(*net, net->auxiliary_prefix())), 1e-3)
          << space->format(arch);
    }
  }
}

TEST(CostTable, MissingOrCorruptTablesNameTheFile) {
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  const auto missing = temp_path("no-such-table.json");
  EXPECT_NE(error_of([&] { load_latency_table(space, missing, ""); }).find(missing),
            std::string::npos);
  const auto bad = temp_path("bad-table.json");
  core::write_text_file(bad, "{\"format\": \"naskit-cost-table\", \"version\": 1, ");
  EXPECT_NE(error_of([&] { load_latency_table(space, bad, ""); }).find(bad), std::string::npos);
  core::write_text_file(bad, "{\"hello\": 1}");
  EXPECT_NE(error_of([&] { load_latency_table(space, bad, ""); }).find("not a naskit cost table"),
            std::string::npos);
  // A table of another space.
  search_space::DartsSpace darts(search_space::DartsSpace::default_options());
  write_cost_table(bad, params_table(darts, tiny_darts()));
  EXPECT_NE(error_of([&] { load_latency_table(space, bad, ""); }).find("'darts' space"),
            std::string::npos);
  // A cost that is not a number.
  auto j = params_table(space, tiny_nb201()).to_json();
  j["kind"] = "latency";
  j["decisions"][2]["cost"]["nor_conv_3x3"] = "fast";
  core::write_json_file(bad, j);
  const auto message = error_of([&] { load_latency_table(space, bad, ""); });
  EXPECT_NE(message.find("decisions[2]"), std::string::npos) << message;
  EXPECT_NE(message.find("nor_conv_3x3"), std::string::npos) << message;
}

TEST(Profile, ValidationReportsRankCorrelations) {
  search_space::Nb201Space nb201(search_space::Nb201Space::default_options());
  search_space::ChainSpace chain("chain_proxyless", "proxyless", nlohmann::json::object());
  for (const search_space::SearchSpace* space :
       std::vector<const search_space::SearchSpace*>{&nb201, &chain}) {
    const auto o = quick_profile(space == &nb201 ? tiny_nb201() : tiny_chain());
    const auto table = profile_latency(*space, o);
    for (const auto& row : table.cost) {
      for (const double c : row) EXPECT_GE(c, 0.0) << space->name();
    }
    const auto v = validate_latency(*space, table, 4, 1, o);
    for (const char* key : {"rmse_ms", "mape_pct", "spearman", "kendall", "mean_measured_ms",
                            "expected_uniform_ms"}) {
      EXPECT_TRUE(v.contains(key)) << key;
    }
    EXPECT_EQ(v["results"].size(), 4u);
    EXPECT_LE(std::abs(v["spearman"].get<double>()), 1.0);
  }
  // The in-context method needs an empty network, which a chain has not.
  EXPECT_NE(error_of([&] {
              auto o = quick_profile(tiny_chain());
              o.method = "network";
              profile_latency(chain, o);
            }).find("--method ops"),
            std::string::npos);
}

// ---------------------------------------------------------------- published

/// The published data, or a skip when this checkout has no ../shared/data.
std::string published_file() {
  const auto file = default_latency_data();
  std::ifstream in(file);
  return in ? file : "";
}

TEST(Published, LookupEqualsTheCsvRows) {
  const auto file = published_file();
  if (file.empty()) GTEST_SKIP() << "no published latency data at " << default_latency_data();
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  // Rows 0 and 1 of nb201_latency.csv.gz (HW-NAS-Bench's numbers for row 0).
  const auto a0 = space.parse(
      "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|"
      "skip_connect~2|");
  const auto a1 = space.parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "skip_connect~2|");
  EXPECT_DOUBLE_EQ(published_table(space, "pixel3", "").predict(space, a0), 3.6058);
  EXPECT_DOUBLE_EQ(published_table(space, "raspi4", "").predict(space, a0), 10.4820);
  EXPECT_DOUBLE_EQ(published_table(space, "fpga", "").predict(space, a0), 2.5730);
  EXPECT_DOUBLE_EQ(published_table(space, "pixel3", "").predict(space, a1), 17.2381);
  EXPECT_DOUBLE_EQ(published_table(space, "raspi4", "").predict(space, a1), 54.7774);
  EXPECT_EQ(read_published_latencies(file).archs.size(), 15625u);
}

// Measured on the data: held-out R^2 0.895 and Spearman 0.943 on pixel3,
// R^2 0.94 on raspi4; the thresholds leave a margin below.
TEST(Published, AdditiveModelFitsHeldOutArchitectures) {
  if (published_file().empty()) GTEST_SKIP() << "no published latency data";
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  for (const char* device : {"pixel3", "raspi4"}) {
    const auto t = published_table(space, device, "");
    const auto& held = t.meta["fit"]["held_out"];
    EXPECT_EQ(held["architectures"], 3125);
    EXPECT_GT(held["r2"].get<double>(), 0.85) << device;
    EXPECT_GT(held["spearman"].get<double>(), 0.9) << device;
    // The additive model is what the differentiable term uses: its value
    // for an architecture is the intercept plus its edges' coefficients.
    const auto arch = space.parse(
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|");
    EXPECT_NEAR(t.additive(space, arch),
                t.fixed + t.cost[0][3] + t.cost[2][3] + t.cost[5][3], 1e-9);
  }
}

TEST(Published, ClearErrors) {
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  search_space::DartsSpace darts(search_space::DartsSpace::default_options());
  EXPECT_NE(error_of([&] { published_table(darts, "pixel3", ""); }).find("NAS-Bench-201"),
            std::string::npos);
  const auto missing = temp_path("none.csv.gz");
  EXPECT_NE(error_of([&] { published_table(space, "pixel3", missing); }).find("--latency-data"),
            std::string::npos);
  const auto bad = temp_path("short.csv");
  core::write_text_file(bad, "nb201_idx,arch_str,lat_ms_pixel3\n0,|none~0|+|none~0|none~1|+|"
                             "none~0|none~1|none~2|,1.5\n1,|x~0|\n");
  const auto message = error_of([&] { published_table(space, "pixel3", bad); });
  EXPECT_NE(message.find(bad + ":3"), std::string::npos) << message;
  core::write_text_file(bad, "idx,arch\n");
  EXPECT_NE(error_of([&] { published_table(space, "pixel3", bad); }).find("header"),
            std::string::npos);
  if (!published_file().empty()) {
    const auto m = error_of([&] { published_table(space, "pixel99", ""); });
    EXPECT_NE(m.find("raspi4"), std::string::npos) << m;
  }
}

// ---------------------------------------------------------------- objective

TEST(Objective, ConfigErrorsNameTheKey) {
  auto section = objective_defaults();
  section["latency"]["lambda"] = -1.0;
  section["latency"]["table"] = "t.json";
  EXPECT_NE(error_of([&] { check_objective(section); }).find("objective.latency.lambda"),
            std::string::npos);
  section = objective_defaults();
  section["latency"]["lambda"] = 0.1;
  EXPECT_NE(error_of([&] { check_objective(section); }).find("objective.latency.table is empty"),
            std::string::npos);
  section = objective_defaults();
  section["latency"]["mode"] = "mul";
  EXPECT_NE(error_of([&] { check_objective(section); }).find("objective.latency.mode"),
            std::string::npos);
  section = objective_defaults();
  section["flops"]["max_m"] = -2.0;
  EXPECT_NE(error_of([&] { check_objective(section); }).find("objective.flops.max_m"),
            std::string::npos);
}

TEST(Objective, AdditiveProxylessAndSelectionForms) {
  search_space::Nb201Space space(search_space::Nb201Space::default_options());
  CostTerm t;
  t.name = "latency";
  t.table.space = "nb201";
  for (const auto& d : space.decisions()) t.table.decisions.push_back(d.name);
  t.table.candidates = space.decisions().front().candidates;
  t.table.fixed = 2.0;
  t.table.cost.assign(6, {0.0, 1.0, 2.0, 3.0, 4.0});
  t.lambda = 0.5;
  t.target = 10.0;
  t.beta = 0.3;
  auto probs = torch::full({6, 5}, 0.2, torch::kFloat64);
  const double e = 2.0 + 6 * 2.0;  // fixed + 6 edges x mean cost
  const auto loss = torch::tensor(1.5, torch::kFloat64);
  auto add = CostObjective::from_terms(space, {t});
  EXPECT_NEAR(add.apply(loss, probs).item<double>(), 1.5 + 0.5 * e, 1e-12);
  t.mode = "proxyless";
  auto mul = CostObjective::from_terms(space, {t});
  EXPECT_NEAR(mul.apply(loss, probs).item<double>(),
              1.5 * std::pow(std::log(e) / std::log(10.0), 0.5 * 0.3), 1e-12);
  // Selections: lambda * cost, and far below everything over the limit.
  const auto fast = space.parse("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  const auto slow = space.parse(
      "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|"
      "avg_pool_3x3~2|");
  EXPECT_NEAR(add.penalty(fast), 0.5 * 3.0, 1e-12);
  t.max = 10.0;
  auto limited = CostObjective::from_terms(space, {t});
  EXPECT_GT(limited.penalty(slow), 1000.0);
  const auto report = add.report(probs, fast);
  EXPECT_NEAR(report["latency_ms"].get<double>(), 3.0, 1e-12);
  EXPECT_NEAR(report["expected_latency_ms"].get<double>(), e, 1e-12);
}

}  // namespace
}  // namespace nas::hardware
