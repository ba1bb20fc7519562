// nas study: several strategies x several seeds on one space and budget,
// every answer evaluated the same way (`run`), then statistics, figures
// and a Markdown report from the run directories (`report`).

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "experiments/report.h"
#include "experiments/run_dir.h"
#include "experiments/study.h"
#include "tools/commands.h"
#include "tools/launch.h"

namespace nas::tools {

namespace {

/// A study preset by name; "study-quick" and "quick" both name
/// configs/study-quick.json.
nlohmann::json study_preset(const std::string& name) {
  const auto names = experiments::preset_names("study");
  const std::string prefix = "study-";
  if (std::find(names.begin(), names.end(), name) == names.end() &&
      name.rfind(prefix, 0) == 0) {
    return experiments::preset("study", name.substr(prefix.size()));
  }
  return experiments::preset("study", name);
}

/// `nas study run ... --workers N`: N workers of one study on this machine,
/// each with --worker (or --resume DIR) and cores / N threads unless
/// --threads is given.
int run_workers(const std::vector<std::string>& args, const po::variables_map& vm) {
  const auto n = vm["workers"].as<int64_t>();
  if (n < 1 || n > 1024) {
    throw ConfigError(fmt::format("--workers: expected 1 to 1024 workers, found {}", n));
  }
  std::vector<std::string> worker_args = {"study", "run"};
  for (const auto& a : without_option(args, "workers")) worker_args.push_back(a);
  if (vm.count("resume") == 0 && !vm["worker"].as<bool>()) worker_args.push_back("--worker");
  if (vm.count("threads") == 0) worker_args.push_back(threads_per_copy(n));
  core::info("study: starting {} workers", n);
  return run_copies(static_cast<int>(n), worker_args, [](int) { return ExtraEnv{}; }, false);
}

int study_run(const std::vector<std::string>& args) {
  po::options_description desc("nas study run options");
  desc.add_options()
      ("config", po::value<std::string>(), "study config file (JSON; see configs/study-quick.json)")
      ("preset", po::value<std::string>(), "a ready study: study-quick (`nas list presets`)")
      ("out", po::value<std::string>(), "the study directory to create")
      ("resume", po::value<std::string>(), "continue the study in DIR (finished pieces are kept)")
      ("worker", po::bool_switch(),
       "one of several workers on --out DIR: create the study there, or join the same study "
       "already there (Slurm arrays, several machines sharing DIR)")
      ("workers", po::value<int64_t>(), "run N workers on this machine (default threads: cores / N)")
      ("claim-timeout", po::value<double>()->default_value(experiments::kDefaultClaimTimeout),
       "seconds without a heartbeat after which a worker's run counts as dead and is taken over")
      ("set", po::value<std::vector<std::string>>()->composing(),
       "PATH=VALUE override of any study key, e.g. seeds=[0,1] or search.network.C=8")
      ("print-config", po::bool_switch(), "print the resolved study and exit")
      ("verbose,v", po::bool_switch(), "show every run's own progress")
      ("quiet,q", po::bool_switch(), "no progress output")
      ("help,h", "this help");
  using T = ConfigFlag::Type;
  const std::vector<ConfigFlag> flags = {
      {"threads", "search.threads", T::integer,
       "intra-op threads of every run (default 0: all cores)"},
      {"device", "search.device", T::text, "cpu | cuda | cuda:N"}};
  add_config_flags(desc, flags);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas study run (--preset study-quick | --config FILE) --out DIR [--set K=V]\n"
               "       nas study run (--preset study-quick | --config FILE) --out DIR --worker\n"
               "       nas study run --resume DIR\n"
               "       nas study run ... --workers N",
               desc);
    return 0;
  }
  if (vm["verbose"].as<bool>()) core::set_verbosity(2);
  const auto& registries = experiments::builtin_registries();
  const bool resume = vm.count("resume") != 0;
  if (resume && vm["worker"].as<bool>()) {
    throw ConfigError("nas study run: --worker joins the study of --config/--preset in --out DIR; "
                      "with --resume DIR every process is already a worker (drop --worker)");
  }
  std::string out;
  std::vector<nlohmann::json> layers;
  if (resume) {
    out = vm["resume"].as<std::string>();
    if (vm.count("config") + vm.count("preset") + vm.count("out") + vm.count("set") != 0) {
      throw ConfigError("nas study run --resume DIR: the study is DIR/study.json; --config, "
                        "--preset, --out and --set do not apply (only --threads, --device)");
    }
    // Only how to compute may change (the runs' fingerprints ignore it).
    nlohmann::json how = nlohmann::json::object();
    if (vm.count("threads") != 0) how["search"]["threads"] = vm["threads"].as<int64_t>();
    if (vm.count("device") != 0) how["search"]["device"] = vm["device"].as<std::string>();
    layers = {experiments::load_study(out, registries), how};
  } else {
    if (vm.count("config") + vm.count("preset") == 0) {
      throw ConfigError("nas study run: expected --preset NAME or --config FILE "
                        "(`nas list presets`), or --resume DIR");
    }
    if (vm.count("out") == 0 && !vm["print-config"].as<bool>()) {
      throw ConfigError("nas study run: expected --out DIR, the study directory to create");
    }
    if (vm.count("out") != 0) out = vm["out"].as<std::string>();
    if (vm.count("preset") != 0) layers.push_back(study_preset(vm["preset"].as<std::string>()));
    // The config file, flags and --set, as for a run config (no preset: done above).
    auto vm_rest = vm;
    vm_rest.erase("preset");
    for (auto& l : config_layers(vm_rest, "study", flags)) layers.push_back(l);
  }
  const auto study = experiments::resolve_study(layers, registries);
  if (vm["print-config"].as<bool>()) {
    std::cout << study.dump(2) << "\n";
    return 0;
  }
  experiments::StudyRunOptions options;
  options.start = resume                    ? experiments::StudyStart::resume
                  : vm["worker"].as<bool>() ? experiments::StudyStart::join
                                            : experiments::StudyStart::create;
  options.claim_timeout = vm["claim-timeout"].as<double>();
  if (!(options.claim_timeout > 0)) {
    throw ConfigError(fmt::format("--claim-timeout: expected seconds > 0, found {}",
                                  options.claim_timeout));
  }
  if (vm.count("workers") != 0) return run_workers(args, vm);  // checked here, run there
  const auto outcome = experiments::run_study(study, out, options, registries);
  if (outcome.interrupted) return 130;
  core::info("study {}: {} searches, {} evaluated, {} failed; write the report with "
             "`nas study report {}`",
             out, outcome.searches, outcome.evaluations, outcome.failed, out);
  return 0;
}

int study_report(const std::vector<std::string>& args) {
  po::options_description desc("nas study report options");
  desc.add_options()
      ("json", po::bool_switch(), "print report.json instead of report.md")
      ("help,h", "this help");
  std::vector<std::string> rest;
  std::string dir;
  for (const auto& a : args) {
    if (!a.empty() && a[0] != '-' && dir.empty()) {
      dir = a;
    } else {
      rest.push_back(a);
    }
  }
  const auto vm = parse_args(rest, desc);
  if (vm.count("help") != 0 || dir.empty()) {
    print_help("nas study report DIR [--json]", desc);
    if (dir.empty() && vm.count("help") == 0) {
      throw ConfigError("nas study report: expected the study directory DIR");
    }
    return 0;
  }
  const auto report = experiments::study_report(dir, experiments::builtin_registries());
  if (vm["json"].as<bool>()) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << core::read_text_file(dir + "/report.md");
  }
  core::info("wrote {0}/report.md, {0}/report.json and {1} figures in {0}/figures", dir,
             report["figures"].size());
  return 0;
}

}  // namespace

int run_study_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    fmt::print("usage: nas study run (--preset study-quick | --config FILE) --out DIR\n"
               "       nas study run --resume DIR\n"
               "       nas study report DIR\n\n"
               "Runs several strategies over several seeds on one space and budget, evaluates "
               "every answer the same way, and reports the statistics (see README, Studies).\n");
    if (args.empty()) throw ConfigError("nas study: expected `run` or `report`");
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "run") return study_run(rest);
  if (args[0] == "report") return study_report(rest);
  throw ConfigError(fmt::format("nas study: unknown subcommand '{}'; expected run or report",
                                args[0]));
}

}  // namespace nas::tools
