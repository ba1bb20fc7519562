#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "experiments/plot.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
  return v.dump();
}

}  // namespace

int run_plot_command(const std::vector<std::string>& args) {
  po::options_description desc("nas plot options");
  desc.add_options()
      ("x", po::value<std::string>()->default_value("costs.latency_ms"), "result.json key of x")
      ("y", po::value<std::string>()->default_value("final.derived_acc"), "result.json key of y")
      ("group", po::value<std::string>()->default_value("strategy"), "key that picks the colour")
      ("label", po::value<std::string>()->default_value("objective.latency.lambda"),
       "key written beside each point")
      ("title", po::value<std::string>()->default_value(""), "plot title")
      ("out", po::value<std::string>(), "the SVG file to write")
      ("run", po::value<std::vector<std::string>>()->composing(), "a run directory (repeat, "
                                                                  "or list them at the end)")
      ("help,h", "this help");
  std::vector<std::string> flags, runs;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool takes_value = args[i].rfind("--", 0) == 0 && args[i] != "--help" &&
                             args[i].find('=') == std::string::npos;
    if (args[i].rfind("-", 0) == 0) {
      flags.push_back(args[i]);
      if (takes_value && i + 1 < args.size()) flags.push_back(args[++i]);
    } else {
      runs.push_back(args[i]);
    }
  }
  const auto vm = parse_args(flags, desc);
  if (vm.count("help") != 0) {
    print_help("nas plot [--x KEY] [--y KEY] [--group KEY] [--label KEY] --out FILE.svg "
               "RUN_DIR...",
               desc);
    return 0;
  }
  if (vm.count("run") != 0) {
    const auto& more = vm["run"].as<std::vector<std::string>>();
    runs.insert(runs.end(), more.begin(), more.end());
  }
  if (vm.count("out") == 0 || runs.empty()) {
    throw ConfigError("nas plot: give --out FILE.svg and one or more run directories");
  }
  const auto xk = vm["x"].as<std::string>(), yk = vm["y"].as<std::string>();
  const auto gk = vm["group"].as<std::string>(), lk = vm["label"].as<std::string>();
  std::vector<experiments::ScatterPoint> points;
  std::string table = fmt::format("| run | {} | {} | {} | {} |\n|---|---|---|---|---|\n", gk, lk, xk, yk);
  for (const auto& run : runs) {
    const auto result = read_run_json(run, "result.json", "nas plot:");
    const auto x = experiments::value_at(result, xk), y = experiments::value_at(result, yk);
    if (!x.is_number() || !y.is_number()) {
      throw ConfigError(fmt::format("{}/result.json: '{}' and '{}' must be numbers, found {} and {}",
                                    run, xk, yk, x.dump(), y.dump()));
    }
    const auto group = text_of(experiments::value_at(result, gk));
    const auto label = text_of(experiments::value_at(result, lk));
    points.push_back({x.get<double>(), y.get<double>(), group, label});
    table += fmt::format("| {} | {} | {} | {:.4g} | {:.4g} |\n", run, group, label,
                         x.get<double>(), y.get<double>());
  }
  fmt::print("{}", table);  // once every run has been read
  core::write_text_file(vm["out"].as<std::string>(),
                        experiments::scatter_svg(points, vm["title"].as<std::string>(), xk, yk));
  return 0;
}

}  // namespace nas::tools
