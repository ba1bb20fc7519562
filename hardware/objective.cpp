#include "hardware/objective.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"
#include "hardware/profile.h"
#include "hardware/published.h"

namespace nas::hardware {

namespace {

/// Selections: how far an architecture over a hard limit drops (below any
/// accuracy-based score).
constexpr double kOverLimit = 1000.0;

void at_least(const nlohmann::json& section, const std::string& path, const std::string& key,
              double low) {
  const double v = core::option<double>(section, key);
  if (!std::isfinite(v) || v < low) {
    throw ConfigError(fmt::format("objective.{}.{}: expected a number >= {}, found {}", path, key,
                                  low, v));
  }
}

}  // namespace

nlohmann::json objective_defaults() {
  return {
      {"latency",
       {{"table", ""},
        {"data", ""},
        {"lambda", 0.0},
        {"mode", "auto"},
        {"target_ms", 0.0},
        {"beta", 0.3},
        {"max_ms", 0.0}}},
      {"flops", {{"lambda", 0.0}, {"max_m", 0.0}}},
      {"params", {{"lambda", 0.0}, {"max_m", 0.0}}},
  };
}

void check_objective(const nlohmann::json& s) {
  const auto& lat = s.at("latency");
  for (const char* key : {"lambda", "target_ms", "beta", "max_ms"}) at_least(lat, "latency", key, 0);
  const auto mode = core::option<std::string>(lat, "mode");
  if (mode != "auto" && mode != "additive" && mode != "proxyless" && mode != "fbnet" &&
      mode != "single_path") {
    throw ConfigError(fmt::format(
        "objective.latency.mode: expected \"auto\", \"additive\", \"proxyless\", \"fbnet\" "
        "or \"single_path\", found \"{}\"",
        mode));
  }
  const auto target = core::option<double>(lat, "target_ms");
  if (target != 0 && target <= 1) {
    throw ConfigError(fmt::format(
        "objective.latency.target_ms: expected 0 (auto) or a value above 1 ms (the proxyless "
        "form divides by log target), found {}",
        target));
  }
  const bool has_table = !core::option<std::string>(lat, "table").empty();
  for (const char* key : {"lambda", "max_ms"}) {
    if (!has_table && core::option<double>(lat, key) > 0) {
      throw ConfigError(fmt::format(
          "objective.latency.{} is set but objective.latency.table is empty; give a table "
          "(a file from `nas profile`, or published:DEVICE)",
          key));
    }
  }
  for (const char* term : {"flops", "params"}) {
    for (const char* key : {"lambda", "max_m"}) at_least(s.at(term), term, key, 0);
  }
}

std::string CostTerm::key() const {
  return name == "latency" ? "latency_ms" : name + "_m";
}

CostObjective CostObjective::from_config(const nlohmann::json& section,
                                         const search_space::SearchSpace& space,
                                         const std::string& strategy,
                                         const search_space::NetworkOptions& sizes) {
  check_objective(section);
  CostObjective o;
  o.space_ = &space;
  const auto& lat = section.at("latency");
  const auto spec = core::option<std::string>(lat, "table");
  if (!spec.empty()) {
    CostTerm t;
    t.name = "latency";
    t.table = load_latency_table(space, spec, core::option<std::string>(lat, "data"));
    t.lambda = core::option<double>(lat, "lambda");
    t.mode = core::option<std::string>(lat, "mode");
    if (t.mode == "auto") {
      t.mode = strategy == "proxyless" || strategy == "fbnet" || strategy == "single_path"
                   ? strategy
                   : "additive";
    }
    t.beta = core::option<double>(lat, "beta");
    t.max = core::option<double>(lat, "max_ms");
    t.target = core::option<double>(lat, "target_ms");
    if (t.target == 0) {
      const auto k = static_cast<int64_t>(t.table.candidates.size());
      const auto d = static_cast<int64_t>(t.table.decisions.size());
      t.target = t.table.expected(torch::full({d, k}, 1.0 / static_cast<double>(k),
                                              torch::kFloat64))
                     .item<double>();
    }
    const bool ratio = t.mode == "proxyless" || t.mode == "fbnet";
    if (ratio && t.lambda > 0 && t.target <= 1.01) {
      throw ConfigError(fmt::format(
          "objective.latency: the {} form needs latencies above 1 ms (it takes log E); the "
          "target (target_ms, or uniform choices' expected latency) is {:.3f} ms. Use mode \"additive\", or a table in a "
          "slower setting",
          t.mode, t.target));
    }
    o.terms_.push_back(std::move(t));
  }
  for (const char* name : {"flops", "params"}) {
    const auto& s = section.at(name);
    CostTerm t;
    t.name = name;
    t.lambda = core::option<double>(s, "lambda");
    t.max = core::option<double>(s, "max_m");
    if (t.lambda == 0 && t.max == 0) continue;
    t.table = std::string(name) == "flops" ? flops_table(space, sizes) : params_table(space, sizes);
    o.terms_.push_back(std::move(t));
  }
  return o;
}

CostObjective CostObjective::from_terms(const search_space::SearchSpace& space,
                                        std::vector<CostTerm> terms) {
  CostObjective o;
  o.space_ = &space;
  o.terms_ = std::move(terms);
  return o;
}

bool CostObjective::trains() const {
  for (const auto& t : terms_) {
    if (t.lambda > 0) return true;
  }
  return false;
}

bool CostObjective::selects() const {
  for (const auto& t : terms_) {
    if (t.lambda > 0 || t.max > 0) return true;
  }
  return false;
}

torch::Tensor CostObjective::apply(const torch::Tensor& loss, const torch::Tensor& probs) const {
  auto factor = torch::ones({}, loss.options());
  auto extra = torch::zeros({}, loss.options());
  for (const auto& t : terms_) {
    if (t.lambda <= 0) continue;
    const auto e = t.table.expected(probs).to(loss.scalar_type());
    if (t.mode == "proxyless") {
      factor = factor * torch::pow(torch::log(torch::clamp_min(e, 1.01)) / std::log(t.target),
                                   t.lambda * t.beta);
    } else if (t.mode == "fbnet") {
      factor = factor * t.lambda * torch::pow(torch::log(torch::clamp_min(e, 1.01)), t.beta);
    } else if (t.mode == "single_path") {
      extra = extra + t.lambda * torch::log(torch::clamp_min(e, 1e-6));
    } else {
      extra = extra + t.lambda * e;
    }
  }
  return loss * factor + extra;
}

double CostObjective::penalty(const search_space::Architecture& arch) const {
  double p = 0;
  for (const auto& t : terms_) {
    if (t.lambda <= 0 && t.max <= 0) continue;
    const double c = t.table.predict(*space_, arch);
    p += t.lambda * c;
    if (t.max > 0 && c > t.max) p += kOverLimit + c;
  }
  return p;
}

nlohmann::json CostObjective::report(const torch::Tensor& probs,
                                     const search_space::Architecture& arch) const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& t : terms_) {
    if (probs.defined()) {
      out["expected_" + t.key()] =
          t.table.expected(probs.detach().to(torch::kCPU, torch::kFloat64)).item<double>();
    }
    out[t.key()] = t.table.predict(*space_, arch);
    if (!t.table.exact.empty()) {
      // Published tables: the measured value above, the fitted model's here.
      out["model_" + t.key()] = t.table.additive(*space_, arch);
    }
  }
  return out;
}

std::vector<std::string> CostObjective::describe() const {
  std::vector<std::string> lines;
  for (const auto& t : terms_) {
    std::string how;
    if (t.lambda <= 0) {
      how = "reported only (lambda 0)";
    } else if (t.mode == "proxyless") {
      how = fmt::format("loss * (log E / log {:.3f})^({} * {})", t.target, t.lambda, t.beta);
    } else if (t.mode == "fbnet") {
      how = fmt::format("loss * {} * (log E)^{}", t.lambda, t.beta);
    } else if (t.mode == "single_path") {
      how = fmt::format("loss + {} * log E", t.lambda);
    } else {
      how = fmt::format("loss + {} * E", t.lambda);
    }
    lines.push_back(fmt::format("objective: {} from {} ({}; fixed part {:.4g} {}){}", t.name,
                                t.table.source, how, t.table.fixed, t.table.unit,
                                t.max > 0 ? fmt::format(", selections limited to {} {}", t.max,
                                                        t.table.unit)
                                          : ""));
  }
  return lines;
}

}  // namespace nas::hardware
