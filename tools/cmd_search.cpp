#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/distributed.h"
#include "core/json_io.h"
#include "core/log.h"
#include "experiments/run_dir.h"
#include "experiments/search.h"
#include "tools/commands.h"
#include "tools/launch.h"

namespace nas::tools {

namespace {

/// A TCP port that is free on this machine now (for MASTER_PORT).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 29500;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

/// `nas search ... --nproc N`: N ranks of one data-parallel search on this
/// machine, with the variables torchrun would set.
int launch_ranks(const std::vector<std::string>& args, const po::variables_map& vm) {
  const auto n = vm["nproc"].as<int64_t>();
  if (n < 1 || n > 256) {
    throw ConfigError(fmt::format("--nproc: expected 1 to 256 processes, found {}", n));
  }
  std::vector<std::string> rank_args = {"search"};
  for (const auto& a : without_option(args, "nproc")) rank_args.push_back(a);
  if (vm.count("threads") == 0) rank_args.push_back(threads_per_copy(n));
  const auto port = std::to_string(free_port());
  return run_copies(
      static_cast<int>(n), rank_args,
      [&](int rank) {
        return ExtraEnv{{"RANK", std::to_string(rank)},       {"LOCAL_RANK", std::to_string(rank)},
                        {"WORLD_SIZE", std::to_string(n)},    {"LOCAL_WORLD_SIZE", std::to_string(n)},
                        {"MASTER_ADDR", "127.0.0.1"},         {"MASTER_PORT", port},
                        {"TORCHELASTIC_USE_AGENT_STORE", ""}};
      },
      true);
}

}  // namespace

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
                     "continue the run in DIR from its checkpoint")(
      "nproc", po::value<int64_t>(),
      "data-parallel search over N processes on this machine (Gloo; default threads: cores / N); "
      "torchrun --no-python does the same across machines");
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
  auto config = experiments::resolve_config(experiments::search_defaults(), layers, registries);
  if (vm["print-config"].as<bool>()) {
    std::cout << config.dump(2) << "\n";
    return 0;
  }
  if (vm.count("nproc") != 0) return launch_ranks(args, vm);
  const auto env = core::DistEnv::from_environment();
  if (env.rank > 0) core::set_verbosity(0);  // rank 0 speaks for the job
  if (env.world > 1 && config["device"] == "cuda") {
    config["device"] = fmt::format("cuda:{}", env.local_rank);  // one GPU per rank of a node
  }
  const auto outcome = experiments::run_search(config, resume, registries);
  if (outcome.interrupted) return 130;
  if (outcome.result.contains("arch")) std::cout << outcome.result["arch"].get<std::string>() << "\n";
  return 0;
}

}  // namespace nas::tools
