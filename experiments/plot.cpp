#include "experiments/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

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
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
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

namespace {

/// The data ranges of a plot, padded, and the SVG of its frame: title,
/// box, ticks with grid lines, axis labels.
struct Frame {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double w = kWidth - kLeft - kRight, h = kHeight - kTop - kBottom;

  /// Ranges covering the finite (x, y) pairs, padded by 8%.
  void fit(const std::vector<double>& xs, const std::vector<double>& ys) {
    auto range = [](const std::vector<double>& v, double& lo, double& hi) {
      bool any = false;
      for (double x : v) {
        if (!std::isfinite(x)) continue;
        lo = any ? std::min(lo, x) : x;
        hi = any ? std::max(hi, x) : x;
        any = true;
      }
      if (!any) lo = 0, hi = 1;
      const double span = hi - lo > 0 ? hi - lo : std::max(std::abs(hi), 1.0);
      lo -= 0.08 * span;
      hi += 0.08 * span;
    };
    range(xs, x0, x1);
    range(ys, y0, y1);
  }
  double px(double x) const { return kLeft + (x - x0) / (x1 - x0) * w; }
  double py(double y) const { return kTop + h - (y - y0) / (y1 - y0) * h; }

  std::string open(const std::string& title, const std::string& x_label, const std::string& y_label,
                   bool x_ticks = true) const {
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n"
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
        kWidth, kHeight, kLeft + w / 2, escape(title), kLeft, kTop, w, h);
    if (x_ticks) {
      for (double t : ticks(x0, x1)) {
        svg += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
            "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4:g}</text>\n",
            px(t), kTop, kTop + h, kTop + h + 16, t);
      }
    }
    for (double t : ticks(y0, y1)) {
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
          "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
          kLeft, py(t), kLeft + w, kLeft - 6, py(t) + 4, t);
    }
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
        "<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
        "{})\">{}</text>\n",
        kLeft + w / 2, kHeight - 14, escape(x_label), kTop + h / 2, kTop + h / 2, escape(y_label));
    return svg;
  }

  /// A legend entry at row `row` right of the plot.
  std::string legend(size_t row, const std::string& name, const char* colour, bool dashed = false,
                     bool line = false) const {
    const double y = kTop + 10 + 18 * static_cast<double>(row);
    const double x = kLeft + w + 20;
    const auto mark =
        line ? fmt::format(
                   "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
                   "stroke=\"{}\" stroke-width=\"2\"{}/>",
                   x - 6, y, x + 6, y, colour, dashed ? " stroke-dasharray=\"4 3\"" : "")
             : fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"/>", x, y,
                           colour);
    return fmt::format("{}<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", mark, x + 10, y + 4,
                       escape(name));
  }
};

const char* colour_of(size_t i) { return kColours[i % std::size(kColours)]; }

}  // namespace

std::string scatter_svg(const std::vector<ScatterPoint>& all, const std::string& title,
                        const std::string& x_label, const std::string& y_label,
                        const std::vector<std::pair<double, double>>& line) {
  std::vector<ScatterPoint> points;
  for (const auto& p : all) {
    if (std::isfinite(p.x) && std::isfinite(p.y)) points.push_back(p);
  }
  std::vector<double> xs, ys;
  for (const auto& p : points) xs.push_back(p.x), ys.push_back(p.y);
  Frame f;
  f.fit(xs, ys);
  std::string svg = f.open(title, x_label, y_label);
  if (line.size() >= 2) {
    std::string path;
    for (const auto& [x, y] : line) path += fmt::format("{:.1f},{:.1f} ", f.px(x), f.py(y));
    svg += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"5 3\"/>\n",
        path);
  }
  std::map<std::string, size_t> groups;
  for (const auto& p : points) groups.emplace(p.group, groups.size());
  for (const auto& p : points) {
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.8\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" fill=\"#444\">{}</text>\n",
        f.px(p.x), f.py(p.y), colour_of(groups[p.group]), f.px(p.x) + 7, f.py(p.y) - 5,
        escape(p.label));
  }
  size_t row = 0;
  for (const auto& [name, index] : groups) svg += f.legend(row++, name, colour_of(index));
  if (line.size() >= 2) svg += f.legend(row, "Pareto front", "#555", true, true);
  return svg + "</svg>\n";
}

std::string strip_svg(const std::vector<Strip>& strips, const std::string& title,
                      const std::string& y_label) {
  std::vector<double> ys;
  for (const auto& s : strips) ys.insert(ys.end(), s.values.begin(), s.values.end());
  Frame f;
  f.fit({0.0, static_cast<double>(std::max<size_t>(strips.size(), 1))}, ys);
  f.x0 = 0, f.x1 = static_cast<double>(std::max<size_t>(strips.size(), 1));
  std::string svg = f.open(title, "", y_label, false);
  for (size_t i = 0; i < strips.size(); ++i) {
    const auto& s = strips[i];
    const double centre = static_cast<double>(i) + 0.5;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                       f.px(centre), kTop + f.h + 16, escape(s.name));
    std::vector<double> finite;
    for (double v : s.values) {
      if (std::isfinite(v)) finite.push_back(v);
    }
    for (size_t k = 0; k < finite.size(); ++k) {
      // Spread sideways by index, so equal values stay visible.
      const double offset =
          finite.size() < 2 ? 0.0 : 0.25 * (static_cast<double>(k) / (finite.size() - 1) - 0.5);
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.75\"/>\n",
          f.px(centre + offset), f.py(finite[k]), colour_of(i));
    }
    if (!finite.empty()) {
      const double mean = std::accumulate(finite.begin(), finite.end(), 0.0) / finite.size();
      svg += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#222\" "
          "stroke-width=\"2\"/>\n",
          f.px(centre - 0.22), f.py(mean), f.px(centre + 0.22), f.py(mean));
    }
  }
  svg += f.legend(0, "one seed", "#888");
  svg += f.legend(1, "mean", "#222", false, true);
  return svg + "</svg>\n";
}

std::string lines_svg(const std::vector<Series>& series, const std::string& title,
                      const std::string& x_label, const std::string& y_label) {
  std::vector<double> xs, ys;
  for (const auto& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    ys.insert(ys.end(), s.low.begin(), s.low.end());
    ys.insert(ys.end(), s.high.begin(), s.high.end());
  }
  Frame f;
  f.fit(xs, ys);
  std::string svg = f.open(title, x_label, y_label);
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const auto* colour = colour_of(s.colour >= 0 ? static_cast<size_t>(s.colour) : i);
    const size_t n = std::min(s.x.size(), s.y.size());
    if (s.low.size() == n && s.high.size() == n && n >= 2) {
      std::string band;
      for (size_t k = 0; k < n; ++k)
        band += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.high[k]));
      for (size_t k = n; k-- > 0;)
        band += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.low[k]));
      svg += fmt::format(
          "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\"/>\n", band,
          colour);
    }
    std::string path;
    for (size_t k = 0; k < n; ++k) {
      if (std::isfinite(s.x[k]) && std::isfinite(s.y[k])) {
        path += fmt::format("{:.1f},{:.1f} ", f.px(s.x[k]), f.py(s.y[k]));
      }
    }
    svg +=
        fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                    path, colour, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
    if (n == 1) {
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                         f.px(s.x[0]), f.py(s.y[0]), colour);
    }
    svg += f.legend(i, s.name, colour, s.dashed, true);
  }
  return svg + "</svg>\n";
}

}  // namespace nas::experiments
