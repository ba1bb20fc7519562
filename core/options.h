#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nas::core {

/// Merges `given` over `defaults` and returns the fully resolved object.
///
/// The contract every component's options follow:
/// - a key of `given` that `defaults` lacks is a ConfigError naming the key,
///   where it was found (`where`, a JSON path such as `strategy.options`) and
///   the valid keys;
/// - a value whose JSON type differs from the default's is a ConfigError
///   (integers are accepted where a floating-point default stands, and
///   `null` defaults accept anything);
/// - nested objects are merged recursively with the same rules.
nlohmann::json resolve_options(const nlohmann::json& defaults,
                               const nlohmann::json& given,
                               std::string_view where);

/// Reads a typed value from resolved options with a clear error.
template <class T>
T option(const nlohmann::json& options, const std::string& key);

/// The JSON type name used in messages ("number", "string", ...).
std::string json_type_name(const nlohmann::json& value);

}  // namespace nas::core

#include "core/options_inl.h"
