#pragma once

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace nas::core {

template <class T>
T option(const nlohmann::json& options, const std::string& key) {
  auto it = options.find(key);
  if (it == options.end()) {
    throw ConfigError(fmt::format("missing option '{}'", key));
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ConfigError(fmt::format("option '{}': unexpected value {} ({})", key,
                                  core::printable(it->dump(-1, ' ', true, nlohmann::json::error_handler_t::replace), 60), json_type_name(*it)));
  }
}

}  // namespace nas::core
