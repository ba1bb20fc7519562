#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "estimators/estimator.h"
#include "search_space/search_space.h"
#include "strategies/strategy.h"

namespace nas::experiments {

/// Every registry of the toolkit, filled by the folders'
/// register_builtin_*() functions (see `builtin_registries`).
struct Registries {
  search_space::SpaceRegistry spaces{"space"};
  strategies::StrategyRegistry strategies{"strategy"};
  estimators::EstimatorRegistry estimators{"estimator"};
};

/// Calls each folder's register_builtin_*() once.
const Registries& builtin_registries();

/// The full default config of `nas search` / `nas train`: every key a
/// config file may set, with its default.
nlohmann::json search_defaults();
nlohmann::json train_defaults();

/// A preset by name (configs/<kind>-<name>.json, embedded at build time);
/// ConfigError listing the presets of that kind otherwise.
nlohmann::json preset(const std::string& kind, const std::string& name);
std::vector<std::string> preset_names(const std::string& kind);

/// Sets `value` at a dotted path ("strategy.options.order") of `config`,
/// creating objects on the way.
void set_path(nlohmann::json& config, const std::string& path,
              const nlohmann::json& value);

/// Parses the VALUE of `--set PATH=VALUE`: JSON when it parses, otherwise
/// a string.
nlohmann::json parse_value(const std::string& text);

/// Merges `layers` (preset, config file, command-line overrides) over
/// `defaults`, rejecting unknown keys with their path, then resolves the
/// component options (space, strategy) against their registries so every
/// default is written out.
nlohmann::json resolve_config(const nlohmann::json& defaults,
                              const std::vector<nlohmann::json>& layers,
                              const Registries& registries);

}  // namespace nas::experiments
