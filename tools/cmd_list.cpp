#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "experiments/config.h"
#include "hardware/objective.h"
#include "hardware/published.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

template <class R>
void list_registry(const R& registry, const std::string& title) {
  fmt::print("{}:\n", title);
  for (const auto& name : registry.names()) {
    const auto& e = registry.entry(name);
    fmt::print("  {}\n    {}\n    defaults: {}\n", name, e.help, e.defaults.dump());
  }
}

void list_objectives() {
  fmt::print("objectives (config section `objective`, set with --set objective.KEY=VALUE):\n");
  const auto defaults = hardware::objective_defaults();
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    fmt::print("  {}: {}\n", it.key(), it.value().dump());
  }
  fmt::print("  latency.table: a file from `nas profile`, or published:DEVICE (NB201 space)\n"
             "  latency.mode: additive (loss + lambda E[lat]) | proxyless (loss (log E / log "
             "target_ms)^(lambda beta)) | auto (proxyless for the proxyless strategy)\n");
  const auto file = hardware::default_latency_data();
  try {
    const auto& data = hardware::read_published_latencies(file);
    fmt::print("  published devices ({}):\n    {}\n", file, fmt::join(data.devices, " "));
  } catch (const ConfigError& e) {
    fmt::print("  published devices: unavailable ({})\n", e.what());
  }
}

}  // namespace

int run_list_command(const std::vector<std::string>& args) {
  po::options_description desc("nas list options");
  desc.add_options()("help,h", "this help");
  std::vector<std::string> kinds, rest;
  for (const auto& a : args) (a.rfind("-", 0) == 0 ? rest : kinds).push_back(a);
  const auto vm = parse_args(rest, desc);
  if (vm.count("help") != 0) {
    print_help("nas list [spaces|strategies|estimators|presets|objectives]", desc);
    return 0;
  }
  const std::vector<std::string> valid = {"spaces", "strategies", "estimators",
                                          "presets", "objectives"};
  if (kinds.empty()) kinds = valid;
  const auto& r = experiments::builtin_registries();
  for (const auto& kind : kinds) {
    if (kind == "spaces") {
      list_registry(r.spaces, "spaces");
    } else if (kind == "strategies") {
      fmt::print("(one-shot strategies train the supernet: nas search --strategy NAME --epochs "
                 "E;\n trial strategies estimate each architecture: nas search --strategy NAME "
                 "--estimator E --trials T)\n");
      list_registry(r.strategies, "one-shot strategies");
      list_registry(r.trial_strategies, "trial strategies");
    } else if (kind == "estimators") {
      list_registry(r.estimators, "estimators");
    } else if (kind == "presets") {
      fmt::print("presets:\n  nas search --preset {}\n  nas train --preset {}\n",
                 fmt::join(experiments::preset_names("search"), " | "),
                 fmt::join(experiments::preset_names("train"), " | "));
    } else if (kind == "objectives") {
      list_objectives();
    } else {
      throw ConfigError(fmt::format("nas list: unknown kind '{}'; valid: {}",
                                    kind, fmt::join(valid, ", ")));
    }
  }
  return 0;
}

}  // namespace nas::tools
