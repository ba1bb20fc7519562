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
/// labels beside the points). Non-finite points are left out. `line`, when
/// given, is drawn through its points in order (e.g. a Pareto front).
std::string scatter_svg(const std::vector<ScatterPoint>& points, const std::string& title,
                        const std::string& x_label, const std::string& y_label,
                        const std::vector<std::pair<double, double>>& line = {});

/// One group of a strip plot: every value is a dot (spread sideways so
/// equal values stay visible), the mean a horizontal bar.
struct Strip {
  std::string name;
  std::vector<double> values;
};
std::string strip_svg(const std::vector<Strip>& strips, const std::string& title,
                      const std::string& y_label);

/// One line of a line plot, with an optional band (`low`..`high`, same
/// length as `y`) drawn shaded behind it.
struct Series {
  std::string name;
  std::vector<double> x, y, low, high;
  bool dashed = false;
  int colour = -1;  ///< index into the palette; -1: the series' position
};
std::string lines_svg(const std::vector<Series>& series, const std::string& title,
                      const std::string& x_label, const std::string& y_label);

/// The value at a dotted path ("costs.latency_ms") of `j`; null when absent.
nlohmann::json value_at(const nlohmann::json& j, const std::string& path);

}  // namespace nas::experiments
