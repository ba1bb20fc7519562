#include "experiments/config.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/option_table.h"
#include "core/options.h"
#include "data/source.h"
#include "estimators/scratch.h"
#include "hardware/objective.h"

namespace nas::experiments {

const std::map<std::string, std::string>& embedded_presets();

const Registries& builtin_registries() {
  static const Registries registries = [] {
    Registries r;
    search_space::register_builtin_spaces(r.spaces);
    strategies::register_builtin_strategies(r.strategies);
    strategies::register_builtin_trial_strategies(r.trial_strategies);
    estimators::register_builtin_estimators(r.estimators);
    return r;
  }();
  return registries;
}

std::vector<std::string> Registries::strategy_names() const {
  auto names = strategies.names();
  for (const auto& n : trial_strategies.names()) names.push_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

StrategyKind Registries::kind(const std::string& name) const {
  if (trial_strategies.contains(name)) return StrategyKind::trial;
  if (strategies.contains(name)) return StrategyKind::one_shot;
  throw ConfigError(fmt::format("unknown strategy '{}'; valid names: {}", name,
                                fmt::join(strategy_names(), ", ")));
}

namespace {

/// What a run writes besides log.jsonl. TensorBoard event files are on by
/// default: a few hundred bytes per log line, and `tensorboard --logdir runs`
/// then works on any run or study without a second try.
nlohmann::json log_defaults() { return {{"tensorboard", true}}; }

/// A data-parallel search (`--nproc N`, torchrun): `timeout` seconds that a
/// collective or the rendezvous waits for a rank that died or hangs before
/// the others stop with an error (the last checkpoint stays intact).
nlohmann::json distributed_defaults() { return {{"timeout", 300.0}}; }

void check_distributed(const nlohmann::json& d) {
  const auto& v = d["timeout"];
  if (!v.is_number() || !(v.get<double>() >= 1 && v.get<double>() <= 86400)) {
    core::throw_rule_broken("distributed", "timeout", "1 to 86400 seconds", v);
  }
}

}  // namespace

nlohmann::json search_defaults() {
  return {
      {"seed", 2},
      {"threads", 0},
      {"device", "cpu"},
      {"epochs", 50},
      {"out", ""},
      {"space", {{"name", "darts"}, {"options", nlohmann::json::object()}}},
      {"strategy", {{"name", "darts"}, {"options", nlohmann::json::object()}}},
      {"network", {{"C", 16}, {"layers", 8}, {"cells_per_stage", 5}, {"width_mult", 0.0}}},
      {"data", data::default_data_options()},
      {"objective", hardware::objective_defaults()},
      // Trial strategies (random, evolution, reinforce, list): what estimates an
      // architecture, what a run may spend (0: no limit by that measure)
      // and, optionally, a second estimator whose rank correlation with
      // the first the run reports (`nas rank`). One-shot strategies use
      // `budget.seconds` (stop at the first epoch end past it) and
      // `budget.passes` (forward+backward passes, turned into epochs).
      {"estimator", {{"name", "scratch"}, {"options", nlohmann::json::object()}}},
      {"budget",
       {{"trials", 20},
        {"seconds", 0.0},
        {"epochs", 0},
        {"passes", 0},
        {"max_failures_in_a_row", 20}}},
      {"vs", {{"name", ""}, {"options", nlohmann::json::object()}}},
      {"log", log_defaults()},
      {"distributed", distributed_defaults()},
  };
}

nlohmann::json train_defaults() {
  auto data = data::default_data_options();
  data["batch"] = 96;
  data["cutout"] = -1;  // auto: 16 on CIFAR-10 (DARTS), 0 otherwise
  return {
      {"seed", 0},
      {"threads", 0},
      {"device", "cpu"},
      {"out", ""},
      {"arch", ""},
      {"space", {{"name", "darts"}, {"options", nlohmann::json::object()}}},
      {"network",
       {{"C", 36}, {"layers", 20}, {"cells_per_stage", 5}, {"width_mult", 0.0}, {"auxiliary", true}}},
      {"train", estimators::TrainOptions::defaults()},
      {"data", data},
      {"log", log_defaults()},
  };
}

nlohmann::json train_space_recipe(const std::string& space) {
  if (space != "nb201") return nlohmann::json::object();
  // NAS-Bench-201's training setting (AutoDL configs/nas-benchmark/
  // hyper-opts/200E.config): C=16, N=5, 200 epochs, SGD lr 0.1 with
  // Nesterov momentum 0.9, weight decay 5e-4, cosine to 0, batch 256, no
  // auxiliary head, drop-path, cutout or gradient clipping.
  return {{"network", {{"C", 16}, {"cells_per_stage", 5}, {"auxiliary", false}}},
          {"train",
           {{"epochs", 200}, {"lr", 0.1}, {"lr_min", 0.0}, {"momentum", 0.9},
            {"weight_decay", 5e-4}, {"nesterov", true}, {"grad_clip", 0.0},
            {"auxiliary_weight", 0.0}, {"drop_path_prob", 0.0}}},
          {"data", {{"batch", 256}, {"cutout", 0}}}};
}

nlohmann::json estimator_space_recipe(const std::string& space, const std::string& estimator) {
  if (space != "nb201" || estimator != "scratch") return nlohmann::json::object();
  auto train = train_space_recipe(space)["train"];
  train["epochs"] = 12;  // NAS-Bench-201's `hp = 12` schedule (cosine over 12 epochs)
  return train;
}

std::string space_of(const std::vector<nlohmann::json>& layers, const std::string& fallback) {
  std::string name = fallback;
  for (const auto& layer : layers) {
    if (layer.is_object() && layer.contains("space") && layer["space"].is_object() &&
        layer["space"].contains("name") && layer["space"]["name"].is_string()) {
      name = layer["space"]["name"].get<std::string>();
    }
  }
  return name;
}

std::vector<std::string> preset_names(const std::string& kind) {
  std::vector<std::string> names;
  const std::string prefix = kind + "-";
  for (const auto& [name, text] : embedded_presets()) {
    if (name.rfind(prefix, 0) == 0) names.push_back(name.substr(prefix.size()));
  }
  return names;
}

namespace {

void merge_into(nlohmann::json& base, const nlohmann::json& layer) {
  for (auto it = layer.begin(); it != layer.end(); ++it) {
    if (it->is_object() && base.contains(it.key()) &&
        base[it.key()].is_object()) {
      merge_into(base[it.key()], *it);
    } else {
      base[it.key()] = *it;
    }
  }
}

}  // namespace

nlohmann::json preset(const std::string& kind, const std::string& name,
                      const std::string& space) {
  const auto& presets = embedded_presets();
  auto it = presets.find(kind + "-" + name);
  if (it == presets.end()) {
    throw ConfigError(fmt::format("unknown {} preset '{}'; valid presets: {}",
                                  kind, name,
                                  fmt::join(preset_names(kind), ", ")));
  }
  auto out = nlohmann::json::parse(it->second);
  if (space.empty()) return out;
  auto overlay = presets.find(kind + "-" + space + "-" + name);
  if (overlay != presets.end()) {
    merge_into(out, nlohmann::json::parse(overlay->second));
  }
  return out;
}

void set_path(nlohmann::json& config, const std::string& path,
              const nlohmann::json& value) {
  nlohmann::json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot - start);
    if (key.empty()) {
      throw ConfigError(fmt::format("--set: malformed path '{}'", path));
    }
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    if (!node->contains(key) || !(*node)[key].is_object()) {
      (*node)[key] = nlohmann::json::object();
    }
    node = &(*node)[key];
    start = dot + 1;
  }
}

nlohmann::json parse_value(const std::string& text, const std::string& where) {
  try {
    return core::parse_json(text, where);
  } catch (const core::JsonError& e) {
    // Not JSON: the text itself (e.g. --set space.name=nb201); but JSON
    // past a limit (too deep, too large, a number out of range) is reported.
    if (e.kind() == core::JsonError::Kind::limit) throw;
    return text;
  }
}

namespace {

void check_budget(const nlohmann::json& budget) {
  for (const char* key : {"trials", "epochs", "passes", "max_failures_in_a_row"}) {
    const auto v = core::option<int64_t>(budget, key);
    if (v < 0) throw ConfigError(fmt::format("budget.{}: expected 0 or more, found {}", key, v));
  }
  const auto seconds = core::option<double>(budget, "seconds");
  if (!(seconds >= 0 && seconds < 1e12)) {
    throw ConfigError(fmt::format("budget.seconds: expected 0 or more, found {}", seconds));
  }
}

void check_threads(const nlohmann::json& config) {
  const auto& v = config["threads"];
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 4096) {
    core::throw_rule_broken("", "threads", "0 (all cores) to 4096", v);
  }
}

}  // namespace

nlohmann::json merge_layers(const std::vector<nlohmann::json>& layers, const std::string& what) {
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& layer : layers) {
    if (layer.is_null()) continue;
    if (!layer.is_object()) {
      throw ConfigError(fmt::format("{}: expected a JSON object, found {}", what,
                                    core::json_type_name(layer)));
    }
    merge_into(merged, layer);
  }
  return merged;
}

nlohmann::json resolve_config(const nlohmann::json& defaults,
                              const std::vector<nlohmann::json>& layers,
                              const Registries& registries) {
  auto config = core::resolve_options(defaults, merge_layers(layers, "config"), "config");
  // Each component's options are parsed against its registry's OptionSchema
  // (unknown keys, wrong types and broken rules fail here, before any work,
  // with messages that name the key); nothing is built.
  auto resolve_component = [&](const char* section, const auto& registry) {
    if (!config.contains(section)) return;
    auto& c = config[section];
    const auto name = core::option<std::string>(c, "name");
    c["options"] = registry.resolve(name, c["options"]);
  };
  resolve_component("space", registries.spaces);
  if (config.contains("strategy")) {
    const auto strategy = core::option<std::string>(config["strategy"], "name");
    if (registries.kind(strategy) == StrategyKind::trial) {
      resolve_component("strategy", registries.trial_strategies);
    } else {
      resolve_component("strategy", registries.strategies);
    }
  }
  const auto space = config.contains("space")
                         ? core::option<std::string>(config["space"], "name")
                         : std::string();
  for (const char* section : {"estimator", "vs"}) {
    if (!config.contains(section)) continue;
    auto& c = config[section];
    const auto name = core::option<std::string>(c, "name");
    if (name.empty() && std::string(section) == "vs") continue;
    auto options = estimator_space_recipe(space, name);
    merge_into(options, c["options"]);
    c["options"] = registries.estimators.resolve(name, options);
  }
  if (config.contains("threads")) check_threads(config);
  if (config.contains("distributed")) check_distributed(config["distributed"]);
  if (config.contains("budget")) check_budget(config["budget"]);
  if (config.contains("objective")) hardware::check_objective(config["objective"]);
  return config;
}

}  // namespace nas::experiments
