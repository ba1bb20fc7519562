#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/option_table.h"
#include "core/options.h"

namespace nas::core {

/// Maps a name to a factory of T that takes the component's own JSON options.
///
/// Each folder lists its members in one `register_builtin_<kind>()` function
/// (no static self-registration: a static library would drop it silently).
/// An entry keeps the component's OptionSchema (from its OptionTable: the
/// defaults, the help of each option, the rules); `resolve()` merges the
/// given options over the defaults with `resolve_options`, so an unknown key
/// fails loudly, naming the valid keys, and then checks every rule, so a
/// config is validated by parsing, without building the component.
///
///   Registry<SearchStrategy> strategies("strategy");
///   strategies.add("darts", "DARTS (Liu et al., ICLR 2019)",
///                  Darts::options_table().schema(),
///                  [](const nlohmann::json& o) { return std::make_unique<Darts>(o); });
///   auto s = strategies.create("darts", {{"order", 2}});
template <class T>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(const nlohmann::json&)>;

  struct Entry {
    std::string help;
    OptionSchema options;
    Factory factory;
    const nlohmann::json& defaults() const { return options.defaults; }
  };

  /// `kind` names the registry in messages ("strategy", "space", ...).
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::string help, OptionSchema options, Factory factory) {
    if (entries_.count(name) != 0) {
      throw Error(fmt::format("{} '{}' is registered twice", kind_, name));
    }
    if (!options.defaults.is_object()) options.defaults = nlohmann::json::object();
    entries_.emplace(name, Entry{std::move(help), std::move(options), std::move(factory)});
  }

  /// An entry whose options have types but no rules (tests, small tools).
  void add(const std::string& name, std::string help, nlohmann::json defaults, Factory factory) {
    OptionSchema options;
    options.defaults = std::move(defaults);
    add(name, std::move(help), std::move(options), std::move(factory));
  }

  bool contains(const std::string& name) const {
    return entries_.count(name) != 0;
  }

  /// Sorted names.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  /// The entry for `name`; ConfigError listing the valid names otherwise.
  const Entry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw ConfigError(fmt::format("unknown {} '{}'; valid names: {}", kind_,
                                    name, fmt::join(names(), ", ")));
    }
    return it->second;
  }

  /// Defaults merged with `options`: unknown keys, wrong types and values
  /// that break a rule are ConfigErrors naming `kind.name.key`.
  nlohmann::json resolve(const std::string& name,
                         const nlohmann::json& options) const {
    const auto& e = entry(name);
    const auto where = fmt::format("{}.{}", kind_, name);
    auto resolved = resolve_options(e.options.defaults, options, where);
    if (e.options.check) e.options.check(resolved, where);
    return resolved;
  }

  std::unique_ptr<T> create(const std::string& name,
                            const nlohmann::json& options = {}) const {
    return entry(name).factory(resolve(name, options));
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace nas::core
