#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nas::experiments {

/// One point of a scatter plot: `group` picks its colour (and the legend),
/// `label` is written beside it.
struct ScatterPoint {
  double x = 0;
  double y = 0;
  std::string group;
  std::string label;
};

/// A self-contained SVG scatter plot (axes with ticks, a legend per group,
/// labels beside the points). Non-finite points are left out.
std::string scatter_svg(const std::vector<ScatterPoint>& points, const std::string& title,
                        const std::string& x_label, const std::string& y_label);

/// The value at a dotted path ("costs.latency_ms") of `j`; null when absent.
nlohmann::json value_at(const nlohmann::json& j, const std::string& path);

}  // namespace nas::experiments
