#include "core/option_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/text.h"

namespace nas::core {

namespace {

bool number_where(const nlohmann::json& v, const std::function<bool(double)>& f) {
  return v.is_number() && f(v.get<double>());
}

std::string shown(const nlohmann::json& v) {
  return printable(v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace), 60);
}

}  // namespace

Rule at_least(double min) {
  return {fmt::format("{} or more", min),
          [min](const nlohmann::json& v) { return number_where(v, [=](double x) { return x >= min; }); },
          min - 1};
}

Rule greater_than(double min) {
  return {fmt::format("a number > {}", min),
          [min](const nlohmann::json& v) { return number_where(v, [=](double x) { return x > min; }); },
          min};
}

Rule in_closed(double lo, double hi) {
  return {fmt::format("{} to {}", lo, hi),
          [lo, hi](const nlohmann::json& v) {
            return number_where(v, [=](double x) { return x >= lo && x <= hi; });
          },
          hi + 1};
}

Rule in_half_open(double lo, double hi) {
  return {fmt::format("a number in [{}, {})", lo, hi),
          [lo, hi](const nlohmann::json& v) {
            return number_where(v, [=](double x) { return x >= lo && x < hi; });
          },
          hi};
}

Rule one_of(std::vector<nlohmann::json> values) {
  std::vector<std::string> shown_values;
  for (const auto& v : values) shown_values.push_back(v.dump());
  std::string text = shown_values.size() == 2
                         ? fmt::format("{} or {}", shown_values[0], shown_values[1])
                         : fmt::format("one of {}", fmt::join(shown_values, ", "));
  nlohmann::json breaking = "no-such-value";
  if (!values.empty() && values.front().is_number()) {
    double max = 0;
    for (const auto& v : values) max = std::max(max, v.get<double>());
    breaking = max + 1;
  }
  return {std::move(text),
          [values = std::move(values)](const nlohmann::json& v) {
            return std::any_of(values.begin(), values.end(),
                               [&](const nlohmann::json& w) { return w == v; });
          },
          std::move(breaking)};
}

Rule required(std::string what) {
  return {std::move(what),
          [](const nlohmann::json& v) { return v.is_string() && !v.get<std::string>().empty(); },
          ""};
}

void throw_rule_broken(const std::string& where, const std::string& key,
                       const std::string& rule, const nlohmann::json& found) {
  throw ConfigError(fmt::format("{}{}{}: expected {}, found {}", where, where.empty() ? "" : ".",
                                key, rule, shown(found)));
}

void throw_wrong_elements(const std::string& where, const std::string& key,
                          const nlohmann::json& like, const nlohmann::json& found) {
  std::string elements = like.is_array() && !like.empty()
                             ? fmt::format("a list of {}s", json_type_name(like.front()))
                             : fmt::format("a value like {}", shown(like));
  if (like.is_array() && like.empty()) elements = "a list of names";
  throw ConfigError(fmt::format("{}{}{}: expected {}, found {}", where, where.empty() ? "" : ".",
                                key, elements, shown(found)));
}

}  // namespace nas::core
