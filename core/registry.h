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
#include "core/options.h"

namespace nas::core {

/// Maps a name to a factory of T that takes the component's own JSON options.
///
/// Each folder lists its members in one `register_builtin_<kind>()` function
/// (no static self-registration: a static library would drop it silently).
/// `create()` merges the given options over the entry's defaults with
/// `resolve_options`, so an unknown key fails loudly, naming the valid keys.
///
///   Registry<SearchStrategy> strategies("strategy");
///   strategies.add("darts", "DARTS (Liu et al., ICLR 2019)", {{"order", 1}},
///                  [](const nlohmann::json& o) { return make_darts(o); });
///   auto s = strategies.create("darts", {{"order", 2}});
template <class T>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(const nlohmann::json&)>;

  struct Entry {
    std::string help;
    nlohmann::json defaults;
    Factory factory;
  };

  /// `kind` names the registry in messages ("strategy", "space", ...).
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::string help, nlohmann::json defaults,
           Factory factory) {
    if (entries_.count(name) != 0) {
      throw Error(fmt::format("{} '{}' is registered twice", kind_, name));
    }
    if (!defaults.is_object()) defaults = nlohmann::json::object();
    entries_.emplace(name, Entry{std::move(help), std::move(defaults),
                                 std::move(factory)});
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

  /// Defaults merged with `options` (unknown keys rejected).
  nlohmann::json resolve(const std::string& name,
                         const nlohmann::json& options) const {
    return resolve_options(entry(name).defaults, options,
                           fmt::format("{}.{}", kind_, name));
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
