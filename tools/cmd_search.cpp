#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "experiments/run_dir.h"
#include "experiments/search.h"
#include "tools/commands.h"

namespace nas::tools {

int run_search_command(const std::vector<std::string>& args) {
  po::options_description desc("nas search options");
  using T = ConfigFlag::Type;
  auto flags = shared_config_flags();
  flags.insert(flags.end(), {
      {"space", "space.name", T::text, "search space (`nas list spaces`)"},
      {"strategy", "strategy.name", T::text, "search strategy (`nas list strategies`)"},
      {"val-subset", "data.val_subset", T::integer,
       "use the first N images of the architecture split (0: all)"},
      {"epochs", "epochs", T::integer, "search epochs (one-shot strategies)"},
      {"estimator", "estimator.name", T::text,
       "what estimates an architecture for trial strategies (random, evolution, list; `nas list "
       "estimators`)"},
      {"trials", "budget.trials", T::integer,
       "trial budget: architectures to estimate (trial strategies)"},
      {"latency", "objective.latency.table", T::text,
       "latency table: FILE (`nas profile`) or published:DEVICE (NB201); set its weight with "
       "--set objective.latency.lambda=L"},
      {"latency-data", "objective.latency.data", T::text,
       "the published latency CSV (default: ../shared/data)"}});
  add_config_flags(desc, flags);
  desc.add_options()("resume", po::value<std::string>(),
                     "continue the run in DIR from its checkpoint");
  add_common_run_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas search [--preset quick] [--space S] [--strategy S] [options]", desc);
    return 0;
  }
  const auto& registries = experiments::builtin_registries();
  bool resume = false;
  std::vector<nlohmann::json> layers;
  if (vm.count("resume") != 0) {
    layers = resume_layers(vm);
    resume = true;
  } else {
    layers = config_layers(vm, "search", flags);
  }
  const auto config = experiments::resolve_config(experiments::search_defaults(),
                                                  layers, registries);
  if (vm["print-config"].as<bool>()) {
    std::cout << config.dump(2) << "\n";
    return 0;
  }
  const auto outcome = experiments::run_search(config, resume, registries);
  if (outcome.interrupted) return 130;
  std::cout << outcome.result["arch"].get<std::string>() << "\n";
  return 0;
}

}  // namespace nas::tools
