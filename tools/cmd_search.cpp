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
  desc.add_options()
      ("space", po::value<std::string>(), "search space (`nas list spaces`)")
      ("strategy", po::value<std::string>(), "search strategy (`nas list strategies`)")
      ("val-subset", po::value<int64_t>(), "use the first N images of the architecture split (0: all)")
      ("epochs", po::value<int64_t>(), "search epochs (one-shot strategies)")
      ("estimator", po::value<std::string>(),
       "what estimates an architecture for trial strategies (random, evolution, list; `nas list "
       "estimators`)")
      ("trials", po::value<int64_t>(), "trial budget: architectures to estimate (trial strategies)")
      ("latency", po::value<std::string>(),
       "latency table: FILE (`nas profile`) or published:DEVICE (NB201); set its weight with "
       "--set objective.latency.lambda=L")
      ("latency-data", po::value<std::string>(), "the published latency CSV (default: ../shared/data)")
      ("resume", po::value<std::string>(), "continue the run in DIR from its checkpoint");
  add_data_and_size_options(desc);
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
    auto paths = shared_flag_paths();
    paths.insert(paths.end(), {{"space", "space.name"},
                               {"strategy", "strategy.name"},
                               {"val-subset", "data.val_subset"},
                               {"epochs", "epochs"},
                               {"estimator", "estimator.name"},
                               {"trials", "budget.trials"},
                               {"latency", "objective.latency.table"},
                               {"latency-data", "objective.latency.data"}});
    layers = config_layers(vm, "search", paths);
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
