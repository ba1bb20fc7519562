#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "experiments/config.h"
#include "hardware/objective.h"
#include "hardware/published.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

/// One line per option: key, default, rule, help (or the defaults as JSON
/// for an entry registered without a table).
void print_options(const core::OptionSchema& options) {
  if (options.docs.empty()) {
    fmt::print("    defaults: {}\n", options.defaults.dump());
    return;
  }
  for (const auto& d : options.docs) {
    fmt::print("    {} = {}{}{}\n", d.key, d.value.dump(), d.rule.empty() ? "" : "  (" + d.rule + ")",
               d.help.empty() ? "" : "  " + d.help);
  }
}

template <class R>
void list_registry(const R& registry, const std::string& title) {
  fmt::print("{}:\n", title);
  for (const auto& name : registry.names()) {
    const auto& e = registry.entry(name);
    fmt::print("  {}\n    {}\n", name, e.help);
    print_options(e.options);
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

namespace {

/// Presets by kind; search presets named <space>-<strategy> are the
/// strategies' recipes (the reference code's optimiser, epochs, batch and
/// schedules), which a study layers under its shared settings.
void list_presets(const experiments::Registries& r) {
  std::vector<std::string> general, recipes, overlays;
  const auto names = experiments::preset_names("search");
  for (const auto& name : names) {
    const auto dash = name.find('-');
    const bool of_space = dash != std::string::npos && r.spaces.contains(name.substr(0, dash));
    const auto rest = of_space ? name.substr(dash + 1) : std::string();
    if (of_space && r.is_strategy(rest)) {
      recipes.push_back(name);
    } else if (of_space && std::find(names.begin(), names.end(), rest) != names.end()) {
      overlays.push_back(name);
    } else {
      general.push_back(name);
    }
  }
  fmt::print("search presets (nas search --preset NAME): {}\n", fmt::join(general, ", "));
  if (!overlays.empty()) {
    fmt::print("  with a space's own sizes laid over them (<space>-<preset>): {}\n",
               fmt::join(overlays, ", "));
  }
  fmt::print("  recipes <space>-<strategy> (the reference code's optimiser, epochs, batch and "
             "schedules;\n  a study with \"recipes\": \"published\" uses them):\n");
  for (const auto& name : recipes) fmt::print("    {}\n", name);
  fmt::print("train presets (nas train --preset NAME): {}\n",
             fmt::join(experiments::preset_names("train"), ", "));
  std::vector<std::string> studies;
  for (const auto& name : experiments::preset_names("study")) studies.push_back("study-" + name);
  fmt::print("study presets (nas study run --preset NAME): {}\n", fmt::join(studies, ", "));
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
      list_presets(r);
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
