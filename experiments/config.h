#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "estimators/estimator.h"
#include "search_space/search_space.h"
#include "strategies/strategy.h"
#include "strategies/trial_strategy.h"

namespace nas::experiments {

/// One-shot strategies run in the supernet loop (`search.h`), trial
/// strategies in the trial loop (`trials.h`).
enum class StrategyKind { one_shot, trial };

/// Every registry of the toolkit, filled by the folders'
/// register_builtin_*() functions (see `builtin_registries`).
struct Registries {
  search_space::SpaceRegistry spaces{"space"};
  strategies::StrategyRegistry strategies{"strategy"};
  /// Black-box strategies (random, evolution, list), driven by the trial
  /// loop; their names share the `strategy` key with the one-shot ones.
  strategies::TrialStrategyRegistry trial_strategies{"strategy"};
  estimators::EstimatorRegistry estimators{"estimator"};

  /// Which loop runs strategy `name`: the one place that decides it.
  /// ConfigError naming every strategy when `name` is none.
  StrategyKind kind(const std::string& name) const;
  /// True when `name` is a trial (black-box) strategy; false for one-shot
  /// and unknown names (for reading run directories).
  bool is_trial_strategy(const std::string& name) const {
    return trial_strategies.contains(name);
  }
  bool is_strategy(const std::string& name) const {
    return strategies.contains(name) || trial_strategies.contains(name);
  }
  /// Every strategy name, one-shot and trial, sorted.
  std::vector<std::string> strategy_names() const;
};

/// Calls each folder's register_builtin_*() once.
const Registries& builtin_registries();

/// The full default config of `nas search` / `nas train`: every key a
/// config file may set, with its default.
nlohmann::json search_defaults();
nlohmann::json train_defaults();

/// The training recipe of a space's reference, layered between the train
/// defaults (DARTS's evaluation) and the user's layers: NAS-Bench-201's
/// 200-epoch setting for "nb201", nothing for "darts".
nlohmann::json train_space_recipe(const std::string& space);
/// The space a list of config layers selects (the last `space.name`), or
/// `fallback`.
std::string space_of(const std::vector<nlohmann::json>& layers, const std::string& fallback);

/// A preset by name (configs/<kind>-<name>.json, embedded at build time);
/// ConfigError listing the presets of that kind otherwise. With a `space`,
/// the space's own overlay (configs/<kind>-<space>-<name>.json, where there
/// is one: e.g. search-chain_proxyless-quick, the quick preset's sizes for
/// a chain) is laid over it.
nlohmann::json preset(const std::string& kind, const std::string& name,
                      const std::string& space = "");
std::vector<std::string> preset_names(const std::string& kind);

/// Sets `value` at a dotted path ("strategy.options.order") of `config`,
/// creating objects on the way.
void set_path(nlohmann::json& config, const std::string& path,
              const nlohmann::json& value);

/// Parses the VALUE of `--set PATH=VALUE`: JSON when it parses, otherwise
/// a string. `where` names it in errors (e.g. "--set seed").
nlohmann::json parse_value(const std::string& text, const std::string& where = "--set value");

/// The training recipe a space's reference uses for the estimates of its
/// baselines, layered under the user's `estimator.options`: for "nb201"
/// and the `scratch` estimator, NAS-Bench-201's schedule at 12 epochs (the
/// fitness of its REA and RS runs); nothing otherwise.
nlohmann::json estimator_space_recipe(const std::string& space, const std::string& estimator);

/// Merges config layers in order, objects key by key at every depth (a
/// later value replaces an earlier one; arrays are replaced whole); null
/// layers are skipped; `what` names them in the error for a non-object.
nlohmann::json merge_layers(const std::vector<nlohmann::json>& layers, const std::string& what);

/// Merges `layers` (preset, config file, command-line overrides) over
/// `defaults`, rejecting unknown keys with their path, then resolves the
/// component options (space, strategy) against their registries so every
/// default is written out.
nlohmann::json resolve_config(const nlohmann::json& defaults,
                              const std::vector<nlohmann::json>& layers,
                              const Registries& registries);

}  // namespace nas::experiments
