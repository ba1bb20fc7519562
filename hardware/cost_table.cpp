#include "hardware/cost_table.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"

namespace nas::hardware {

namespace {

constexpr const char* kFormat = "naskit-cost-table";

/// A finite number at `j[key]`, or ConfigError naming where and what.
double finite_number(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key)) {
    throw ConfigError(fmt::format("{}: missing key '{}'", where, key));
  }
  const auto& v = j.at(key);
  if (!v.is_number()) {
    throw ConfigError(fmt::format("{}: '{}' must be a number, found {}", where, key,
                                  core::json_type_name(v)));
  }
  const double x = v.get<double>();
  if (!std::isfinite(x)) {
    throw ConfigError(fmt::format("{}: '{}' must be finite, found {}", where, key, x));
  }
  return x;
}

std::string string_at(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_string()) {
    throw ConfigError(fmt::format("{}: expected a string '{}'{}", where, key,
                                  j.contains(key) ? fmt::format(", found {}",
                                                                core::json_type_name(j.at(key)))
                                                  : ""));
  }
  return j.at(key).get<std::string>();
}

}  // namespace

void CostTable::check_space(const search_space::SearchSpace& s, const std::string& where) const {
  if (space != s.name()) {
    throw ConfigError(fmt::format("{}: a cost table of the '{}' space, but the search space "
                                  "is '{}'",
                                  where, space, s.name()));
  }
  const auto ds = s.decisions();
  if (ds.size() != decisions.size()) {
    throw ConfigError(fmt::format("{}: {} decisions, the {} space has {} (was the table made "
                                  "with other space options?)",
                                  where, decisions.size(), s.name(), ds.size()));
  }
  for (size_t d = 0; d < ds.size(); ++d) {
    if (ds[d].name != decisions[d] || ds[d].candidates != candidates) {
      throw ConfigError(fmt::format(
          "{}: decision {} is '{}' over [{}], the space has '{}' over [{}]", where, d,
          decisions[d], fmt::join(candidates, ", "), ds[d].name,
          fmt::join(ds[d].candidates, ", ")));
    }
  }
}

double CostTable::additive(const search_space::SearchSpace& space,
                           const search_space::Architecture& arch) const {
  const auto path = space.path_of(arch);
  double total = fixed;
  for (size_t d = 0; d < path.edges.size() && d < cost.size(); ++d) {
    for (const int64_t k : path.edges[d].ops) total += cost[d].at(k);
  }
  return total;
}

double CostTable::predict(const search_space::SearchSpace& space,
                          const search_space::Architecture& arch) const {
  if (!exact.empty()) {
    const auto it = exact.find(space.format(arch));
    if (it != exact.end()) return it->second;
  }
  return additive(space, arch);
}

torch::Tensor CostTable::cost_tensor() const {
  const auto d = static_cast<int64_t>(cost.size());
  const auto k = static_cast<int64_t>(candidates.size());
  auto t = torch::zeros({d, k}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j < k; ++j) a[i][j] = cost[i][j];
  }
  return t;
}

torch::Tensor CostTable::expected(const torch::Tensor& probs) const {
  TORCH_CHECK(probs.dim() == 2 && probs.size(0) == static_cast<int64_t>(cost.size()) &&
                  probs.size(1) == static_cast<int64_t>(candidates.size()),
              "cost table of ", cost.size(), " x ", candidates.size(),
              " entries applied to probabilities of shape ", probs.sizes());
  const auto c = cost_tensor().to(probs.device(), probs.scalar_type());
  return (probs * c).sum() + fixed;
}

nlohmann::json CostTable::to_json() const {
  nlohmann::json j = meta.is_object() ? meta : nlohmann::json::object();
  j["format"] = kFormat;
  j["version"] = 1;
  j["kind"] = kind;
  j["unit"] = unit;
  j["space"] = space;
  j["source"] = source;
  j["sizes"] = sizes;
  j["fixed"] = fixed;
  j["candidates"] = candidates;
  nlohmann::json ds = nlohmann::json::array();
  for (size_t d = 0; d < decisions.size(); ++d) {
    nlohmann::json c = nlohmann::json::object();
    for (size_t k = 0; k < candidates.size(); ++k) c[candidates[k]] = cost[d][k];
    ds.push_back({{"name", decisions[d]}, {"cost", c}});
  }
  j["decisions"] = ds;
  return j;
}

CostTable CostTable::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat) {
    throw ConfigError(fmt::format("{}: not a naskit cost table (expected \"format\": \"{}\"; "
                                  "make one with `nas profile`)",
                                  where, kFormat));
  }
  if (!j.contains("version") || j["version"] != 1) {
    throw ConfigError(fmt::format("{}: cost table version {} (this naskit reads version 1)",
                                  where, j.contains("version") ? j["version"].dump() : "none"));
  }
  CostTable t;
  t.kind = string_at(j, "kind", where);
  t.unit = string_at(j, "unit", where);
  t.space = string_at(j, "space", where);
  t.source = j.contains("source") && j["source"].is_string() ? j["source"].get<std::string>()
                                                              : where;
  t.sizes = j.value("sizes", nlohmann::json::object());
  t.fixed = finite_number(j, "fixed", where);
  if (!j.contains("candidates") || !j["candidates"].is_array() || j["candidates"].empty()) {
    throw ConfigError(fmt::format("{}: expected a non-empty 'candidates' list", where));
  }
  for (const auto& c : j["candidates"]) {
    if (!c.is_string()) {
      throw ConfigError(fmt::format("{}: 'candidates' must hold op names, found {}", where,
                                    core::json_type_name(c)));
    }
    t.candidates.push_back(c.get<std::string>());
  }
  if (!j.contains("decisions") || !j["decisions"].is_array() || j["decisions"].empty()) {
    throw ConfigError(fmt::format("{}: expected a non-empty 'decisions' list", where));
  }
  for (size_t d = 0; d < j["decisions"].size(); ++d) {
    const auto& e = j["decisions"][d];
    const auto at = fmt::format("{}: decisions[{}]", where, d);
    if (!e.is_object() || !e.contains("cost") || !e["cost"].is_object()) {
      throw ConfigError(fmt::format("{}: expected {{\"name\": ..., \"cost\": {{op: value}}}}",
                                    at));
    }
    t.decisions.push_back(string_at(e, "name", at));
    std::vector<double> row;
    for (const auto& op : t.candidates) row.push_back(finite_number(e["cost"], op, at));
    if (e["cost"].size() != t.candidates.size()) {
      throw ConfigError(fmt::format("{}: {} cost entries, expected one per candidate ({})", at,
                                    e["cost"].size(), t.candidates.size()));
    }
    t.cost.push_back(std::move(row));
  }
  // Everything else (device, entries, validation, fit) is kept as meta.
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const std::vector<std::string> own{"format", "version", "kind", "unit", "space",
                                              "source", "sizes", "fixed", "candidates",
                                              "decisions"};
    if (std::find(own.begin(), own.end(), it.key()) == own.end()) t.meta[it.key()] = *it;
  }
  return t;
}

void write_cost_table(const std::string& path, const CostTable& table) {
  core::write_json_file(path, table.to_json());
}

CostTable read_cost_table(const std::string& path) {
  nlohmann::json j;
  try {
    j = core::read_json_file(path);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw ConfigError(fmt::format("latency table {}: {}", path, e.what()));
  }
  return CostTable::from_json(j, path);
}

}  // namespace nas::hardware
