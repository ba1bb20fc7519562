#include "experiments/plot.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace nas::experiments {

namespace {

constexpr double kWidth = 640, kHeight = 420;
constexpr double kLeft = 70, kRight = 170, kTop = 40, kBottom = 55;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// About five round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) {
    out.push_back(std::abs(t) < 1e-9 * span ? 0.0 : t);  // no "-0"
  }
  return out;
}

}  // namespace

nlohmann::json value_at(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* node = &j;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const auto key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *node;
}

std::string scatter_svg(const std::vector<ScatterPoint>& all, const std::string& title,
                        const std::string& x_label, const std::string& y_label) {
  std::vector<ScatterPoint> points;
  for (const auto& p : all) {
    if (std::isfinite(p.x) && std::isfinite(p.y)) points.push_back(p);
  }
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!points.empty()) {
    auto [xa, xb] = std::minmax_element(points.begin(), points.end(),
                                        [](const auto& a, const auto& b) { return a.x < b.x; });
    auto [ya, yb] = std::minmax_element(points.begin(), points.end(),
                                        [](const auto& a, const auto& b) { return a.y < b.y; });
    x0 = xa->x, x1 = xb->x, y0 = ya->y, y1 = yb->y;
  }
  auto pad = [](double& lo, double& hi) {
    const double span = hi - lo > 0 ? hi - lo : std::max(std::abs(hi), 1.0);
    lo -= 0.08 * span;
    hi += 0.08 * span;
  };
  pad(x0, x1);
  pad(y0, y1);
  const double w = kWidth - kLeft - kRight, h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * w; };
  auto py = [&](double y) { return kTop + h - (y - y0) / (y1 - y0) * h; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n"
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
      kWidth, kHeight, kLeft + w / 2, escape(title), kLeft, kTop, w, h);
  for (double t : ticks(x0, x1)) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4:g}</text>\n",
        px(t), kTop, kTop + h, kTop + h + 16, t);
  }
  for (double t : ticks(y0, y1)) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
        kLeft, py(t), kLeft + w, kLeft - 6, py(t) + 4, t);
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">{}</text>\n",
      kLeft + w / 2, kHeight - 14, escape(x_label), kTop + h / 2, kTop + h / 2, escape(y_label));
  std::map<std::string, size_t> groups;
  for (const auto& p : points) groups.emplace(p.group, groups.size());
  for (const auto& p : points) {
    const auto* colour = kColours[groups[p.group] % std::size(kColours)];
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.8\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#444\">{}</text>\n",
        px(p.x), py(p.y), colour, px(p.x) + 7, py(p.y) - 5, escape(p.label));
  }
  double ly = kTop + 10;
  for (const auto& [name, index] : groups) {
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        kLeft + w + 20, ly, kColours[index % std::size(kColours)], kLeft + w + 30, ly + 4,
        escape(name));
    ly += 18;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace nas::experiments
