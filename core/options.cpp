#include "core/options.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace nas::core {

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_boolean()) return "boolean";
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  if (value.is_string()) return "string";
  if (value.is_array()) return "array";
  if (value.is_object()) return "object";
  return "null";
}

namespace {

bool compatible(const nlohmann::json& def, const nlohmann::json& val) {
  if (def.is_null() || val.is_null()) return true;
  if (def.is_number_float()) return val.is_number();
  if (def.is_number_integer()) return val.is_number_integer();
  if (def.is_boolean()) return val.is_boolean();
  if (def.is_string()) return val.is_string();
  if (def.is_array()) return val.is_array();
  if (def.is_object()) return val.is_object();
  return false;
}

std::string valid_keys(const nlohmann::json& defaults) {
  std::string keys;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    if (!keys.empty()) keys += ", ";
    keys += it.key();
  }
  return keys;
}

std::string join_path(std::string_view where, const std::string& key) {
  return where.empty() ? key : fmt::format("{}.{}", where, key);
}

}  // namespace

nlohmann::json resolve_options(const nlohmann::json& defaults,
                               const nlohmann::json& given,
                               std::string_view where) {
  if (given.is_null()) return defaults;
  if (!given.is_object()) {
    throw ConfigError(fmt::format("{}: expected an object, found {} ({})",
                                  where.empty() ? "options" : where,
                                  core::printable(given.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace), 60), json_type_name(given)));
  }
  nlohmann::json out = defaults;
  for (auto it = given.begin(); it != given.end(); ++it) {
    const std::string path = join_path(where, it.key());
    auto def = defaults.find(it.key());
    if (def == defaults.end()) {
      throw ConfigError(fmt::format("unknown option '{}'; valid keys: {}", path,
                                    valid_keys(defaults)));
    }
    if (!compatible(*def, *it)) {
      throw ConfigError(fmt::format(
          "option '{}': expected {} (like {}), found {} ({})", path,
          json_type_name(*def), core::printable(def->dump(), 60), core::printable(it->dump(-1, ' ', true, nlohmann::json::error_handler_t::replace), 60), json_type_name(*it)));
    }
    if (def->is_object() && !def->empty()) {
      out[it.key()] = resolve_options(*def, *it, path);
    } else {
      out[it.key()] = *it;
    }
  }
  return out;
}

}  // namespace nas::core
