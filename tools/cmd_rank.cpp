// nas rank: how well does one estimator rank architectures against
// another (e.g. the supernet of a finished one-shot run vs training from
// scratch)? A trial-loop run of the `random` (or `list`) strategy with a
// second estimator: its run directory, checkpoints and --resume come with it.

#include <algorithm>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"
#include "experiments/search.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

/// The rows of trials.jsonl where both estimates succeeded.
struct RankRow {
  std::string arch;
  double a = 0, b = 0;
};

std::vector<RankRow> rank_rows(const std::string& dir) {
  std::vector<RankRow> rows;
  std::istringstream in(core::read_text_file(dir + "/trials.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    const auto j = core::parse_json(line, dir + "/trials.jsonl");
    if (!j.value("ok", false) || !j.contains("vs") || !j["vs"].value("ok", false)) continue;
    rows.push_back({j["arch"].get<std::string>(), j["estimate"]["value"].get<double>(),
                    j["vs"]["value"].get<double>()});
  }
  return rows;
}

void print_rank(const nlohmann::json& result, const std::string& dir) {
  const auto& r = result["rank"];
  auto rows = rank_rows(dir);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const RankRow& x, const RankRow& y) { return x.a > y.a; });
  const auto a = r["estimator"].get<std::string>();
  const auto b = r["vs"].get<std::string>();
  fmt::print("| {:>3} | {:>12} | {:>12} | architecture |\n|----:|-------------:|-------------:|---|\n",
             "#", a, b);
  for (size_t i = 0; i < rows.size(); ++i) {
    fmt::print("| {:>3} | {:>12.5g} | {:>12.5g} | `{}` |\n", i + 1, rows[i].a, rows[i].b,
               rows[i].arch);
  }
  auto number = [](const nlohmann::json& v) {
    return v.is_null() ? std::string("n/a") : fmt::format("{:.3f}", v.get<double>());
  };
  fmt::print("\n{} vs {} over {} architectures: Kendall tau {}, Spearman {} -> {}/result.json\n",
             a, b, r["n"].get<int64_t>(), number(r["kendall_tau"]), number(r["spearman"]), dir);
}

}  // namespace

int run_rank_command(const std::vector<std::string>& args) {
  po::options_description desc("nas rank options");
  desc.add_options()
      ("arch-file", po::value<std::string>(), "rank the architectures of FILE (one per line)")
      ("json", po::bool_switch()->default_value(false), "print result.json instead of the table")
      ("resume", po::value<std::string>(), "continue the ranking run in DIR");
  using T = ConfigFlag::Type;
  auto flags = shared_config_flags();
  flags.insert(flags.end(),
               {{"space", "space.name", T::text, "search space (`nas list spaces`)"},
                {"estimator", "estimator.name", T::text,
                 "the first estimator (`nas list estimators`)"},
                {"vs", "vs.name", T::text, "the second estimator"},
                {"archs", "budget.trials", T::integer,
                 "sample N distinct architectures uniformly (default 20)"}});
  add_config_flags(desc, flags);
  add_common_run_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help(
        "nas rank --space S --archs N --estimator A --vs B [--set estimator.options.K=V] "
        "[--set vs.options.K=V]\n  e.g. nas rank --space nb201 --archs 20 --estimator supernet "
        "--set estimator.options.run=runs/nb201-darts-seed2 --vs scratch --set "
        "vs.options.epochs=2",
        desc);
    return 0;
  }
  const auto& registries = experiments::builtin_registries();
  const bool resume = vm.count("resume") != 0;
  std::vector<nlohmann::json> layers;
  if (resume) {
    layers = resume_layers(vm);
  } else {
    if (vm.count("estimator") == 0 || vm.count("vs") == 0) {
      throw ConfigError("nas rank: expected --estimator A and --vs B (`nas list estimators`)");
    }
    if (vm.count("archs") != 0 && vm["archs"].as<int64_t>() < 1) {
      throw ConfigError(fmt::format("--archs: expected 1 or more architectures to rank, found {}",
                                    vm["archs"].as<int64_t>()));
    }
    layers = config_layers(vm, "search", flags);
    nlohmann::json strategy = {{"name", "random"}, {"options", nlohmann::json::object()}};
    if (vm.count("arch-file") != 0) {
      strategy = {{"name", "list"}, {"options", {{"file", vm["arch-file"].as<std::string>()}}}};
      if (vm.count("archs") == 0) layers.push_back({{"budget", {{"trials", 0}}}});
    }
    layers.push_back({{"strategy", strategy}});
  }
  auto config = experiments::resolve_config(experiments::search_defaults(), layers, registries);
  if (config["out"].get<std::string>().empty()) {
    config["out"] = fmt::format("runs/rank-{}-{}-vs-{}-seed{}", config["space"]["name"].get<std::string>(),
                                config["estimator"]["name"].get<std::string>(),
                                config["vs"]["name"].get<std::string>(),
                                config["seed"].get<int64_t>());
  }
  if (vm["print-config"].as<bool>()) {
    std::cout << config.dump(2) << "\n";
    return 0;
  }
  const auto outcome = experiments::run_search(config, resume, registries);
  if (outcome.interrupted) return 130;
  if (vm["json"].as<bool>()) {
    std::cout << outcome.result.dump(2) << "\n";
  } else {
    print_rank(outcome.result, outcome.run_dir);
  }
  return 0;
}

}  // namespace nas::tools
