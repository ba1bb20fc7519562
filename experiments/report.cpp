#include "experiments/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/inference.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/text.h"
#include "experiments/plot.h"
#include "experiments/study.h"

namespace nas::experiments {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kAlpha = 0.05;

/// What the report knows of one (strategy, seed) run.
struct RunRecord {
  StudyRun run;
  std::string status;  ///< finished, failed, unfinished, unevaluated, missing, unreadable
  std::string message;
  bool trial = false;
  nlohmann::json result, evaluation;
  std::vector<nlohmann::json> log;  ///< log.jsonl or trials.jsonl lines
  double metric = kNaN, search_seconds = kNaN, peak_rss = kNaN, passes = kNaN;
  double param_free = kNaN, latency = kNaN;
};

/// The runs of one strategy entry.
struct Group {
  std::string label, name, recipe;
  bool trial = false;
  std::vector<RunRecord> runs;

  std::vector<double> values(double RunRecord::*field) const {
    std::vector<double> v;
    for (const auto& r : runs) {
      if (r.status == "finished" && std::isfinite(r.*field)) v.push_back(r.*field);
    }
    return v;
  }
};

double number(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : kNaN; }

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  if (!fs::exists(path)) return lines;
  std::istringstream in(core::read_text_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(core::parse_json(line, path));
  }
  return lines;
}

/// The mean of an evaluation.json's successful results; NaN when none.
double evaluation_value(const nlohmann::json& evaluation) {
  double sum = 0;
  int n = 0;
  for (const auto& r : evaluation["results"]) {
    if (r.value("ok", false) && r["value"].is_number()) sum += r["value"].get<double>(), ++n;
  }
  return n > 0 ? sum / n : kNaN;
}

double param_free_fraction(const search_space::SearchSpace& space, const std::string& arch) {
  const auto a = space.parse(arch);
  double free = 0, total = 0;
  for (const auto& cell : a.cells) {
    for (const auto& node : cell.nodes) {
      for (const auto& edge : node) {
        free += parameter_free_op(edge.op) ? 1 : 0;
        total += 1;
      }
    }
  }
  return total > 0 ? free / total : kNaN;
}

RunRecord read_run_files(const StudyRun& run, bool evaluates, const Registries& registries) {
  RunRecord r;
  r.run = run;
  r.trial = registries.is_trial_strategy(run.config["strategy"]["name"]);
  r.log = read_lines(run.dir + (r.trial ? "/trials.jsonl" : "/log.jsonl"));
  if (fs::exists(run.dir + "/error.json")) {
    r.status = "failed";
    r.message = core::read_json_file(run.dir + "/error.json").value("message", "");
    return r;
  }
  if (!fs::exists(run.dir + "/result.json")) {
    r.status = fs::exists(run.dir) ? "unfinished" : "missing";
    return r;
  }
  r.result = core::read_json_file(run.dir + "/result.json");
  r.search_seconds = number(r.result["search_seconds"]);
  r.peak_rss = number(r.result["peak_rss_mib"]);
  r.passes = number(r.result["passes"]);
  r.latency = number(value_at(r.result, "costs.latency_ms"));
  const auto space =
      registries.spaces.create(run.config["space"]["name"], run.config["space"]["options"]);
  r.param_free = param_free_fraction(*space, r.result["arch"].get<std::string>());
  if (evaluates) {
    if (!fs::exists(run.dir + "/evaluation.json")) {
      r.status = "unevaluated";
      return r;
    }
    r.evaluation = core::read_json_file(run.dir + "/evaluation.json");
    r.metric = evaluation_value(r.evaluation);
    if (!std::isfinite(r.metric)) {
      r.status = "failed";
      r.message = "every evaluation failed";
      for (const auto& e : r.evaluation["results"]) {
        if (e.contains("message")) r.message = "evaluation: " + e["message"].get<std::string>();
      }
      return r;
    }
  } else {
    r.metric = r.trial ? number(value_at(r.result, "estimate.value"))
                       : number(value_at(r.result, "final.derived_acc"));
  }
  r.status = "finished";
  return r;
}

/// A run's record; a run whose files cannot be read (corrupt or edited
/// JSON, a value of the wrong type, an architecture of another space) is
/// "unreadable", named with the reason in the report, and left out of the
/// statistics: one bad file never hides the rest of the study.
RunRecord read_run(const StudyRun& run, bool evaluates, const Registries& registries) {
  try {
    return read_run_files(run, evaluates, registries);
  } catch (const std::exception& e) {
    RunRecord r;
    r.run = run;
    r.trial = registries.is_trial_strategy(run.config["strategy"]["name"]);
    r.status = "unreadable";
    std::string what = e.what();
    if (const auto at = what.find("] "); what.rfind("[json.exception", 0) == 0 && at != std::string::npos) {
      what = "unexpected content in result.json, evaluation.json, error.json or the log: " +
             what.substr(at + 2);
    }
    r.message = core::printable(what, 300);
    return r;
  }
}

nlohmann::json summary_json(const core::Summary& s) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  return {{"n", s.n},
          {"mean", num(s.mean)},
          {"std", num(s.std)},
          {"median", num(s.median)},
          {"min", num(s.min)},
          {"max", num(s.max)},
          {"ci95", s.has_ci ? nlohmann::json{s.ci_low, s.ci_high} : nlohmann::json()}};
}

/// "0.612 ± 0.021" (or "0.612" for n = 1, "–" for n = 0).
std::string mean_std(const core::Summary& s, int digits) {
  if (s.n == 0) return "–";
  if (s.n == 1) return fmt::format("{:.{}f} (n = 1)", s.mean, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean, digits, s.std, digits);
}

std::string interval(const core::Summary& s, int digits) {
  return s.has_ci ? fmt::format("[{:.{}f}, {:.{}f}]", s.ci_low, digits, s.ci_high, digits)
                  : "no CI (n < 2)";
}

/// The metric's description for the report's header.
std::string metric_source(const nlohmann::json& study, const std::string& metric) {
  const auto& e = study["evaluation"];
  const auto name = e["estimator"].get<std::string>();
  if (name == "none") {
    return "the searches' own metric: one-shot runs' `final.derived_acc` (the answer's path "
           "through the trained supernet, BN recalibrated), trial runs' best estimate — not "
           "comparable across the two kinds";
  }
  std::string detail;
  if (e["options"].contains("epochs")) {
    detail = fmt::format(", {} epochs", e["options"]["epochs"].get<int64_t>());
  }
  if (e["options"].contains("split")) {
    detail += fmt::format(", split {}", e["options"]["split"].get<std::string>());
  }
  return fmt::format(
      "`{}` of each found architecture by the `{}` estimator{}, mean over "
      "evaluation seeds {}",
      metric, name, detail, e["seeds"].dump());
}

std::string budget_text(const nlohmann::json& budget) {
  const auto rule = budget["rule"].get<std::string>();
  if (rule == "epochs") {
    return fmt::format(
        "equal epochs: {} (one-shot: supernet epochs; trial strategies: training "
        "epochs of all their estimates together)",
        budget["epochs"].dump());
  }
  if (rule == "seconds") {
    return fmt::format(
        "equal search seconds: {} (one-shot runs stop at the first epoch end past "
        "them; trial runs count estimator seconds)",
        budget["seconds"].dump());
  }
  if (rule == "passes") {
    return fmt::format(
        "equal forward+backward passes: {} batch passes per run (one-shot: epochs "
        "= passes / (passes per step × steps per epoch), rounded, so single-path "
        "strategies get more steps; the passes actually made are in the table)",
        budget["passes"].dump());
  }
  return "none: each run's own epochs and budget";
}

/// Mean, min and max over seeds of `field` at each epoch (index) of the
/// one-shot runs' logs.
Series curve(const Group& g, const std::function<double(const nlohmann::json&)>& field,
             const std::string& name, bool dashed, int colour) {
  Series s;
  s.name = name;
  s.dashed = dashed;
  s.colour = colour;
  size_t epochs = 0;
  for (const auto& r : g.runs) epochs = std::max(epochs, r.log.size());
  for (size_t e = 0; e < epochs; ++e) {
    std::vector<double> v;
    for (const auto& r : g.runs) {
      if (e < r.log.size() && std::isfinite(field(r.log[e]))) v.push_back(field(r.log[e]));
    }
    if (v.empty()) continue;
    const auto sum = core::summarize(v);
    s.x.push_back(static_cast<double>(e + 1));
    s.y.push_back(sum.mean);
    s.low.push_back(sum.min);
    s.high.push_back(sum.max);
  }
  return s;
}

/// The mean over decisions of the top op's probability in a log line's
/// architecture weights (NaN without weights).
double top_probability(const nlohmann::json& line) {
  if (!line.contains("arch_weights")) return kNaN;
  double sum = 0;
  int n = 0;
  for (const auto& [group, rows] : line["arch_weights"].items()) {
    for (const auto& row : rows) {
      double top = 0;
      for (const auto& p : row) top = std::max(top, p.get<double>());
      sum += top;
      ++n;
    }
  }
  return n > 0 ? sum / n : kNaN;
}

/// The best score so far after each trial.
std::vector<nlohmann::json> best_so_far(const std::vector<nlohmann::json>& trials) {
  std::vector<nlohmann::json> out;
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& t : trials) {
    if (t["score"].is_number()) best = std::max(best, t["score"].get<double>());
    out.push_back({{"best", std::isfinite(best) ? nlohmann::json(best) : nlohmann::json()}});
  }
  return out;
}

/// Points not dominated by another (higher metric at lower or equal
/// latency), by latency.
std::vector<std::pair<double, double>> pareto_front(std::vector<std::pair<double, double>> pts) {
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  });
  std::vector<std::pair<double, double>> front;
  for (const auto& p : pts) {
    if (front.empty() || p.second > front.back().second) front.push_back(p);
  }
  return front;
}

struct Figures {
  std::vector<std::pair<std::string, std::string>> files;  ///< (file, caption)
};

Figures write_figures(const std::vector<Group>& groups, const std::string& dir,
                      const std::string& metric, bool latency) {
  Figures out;
  fs::create_directories(dir + "/figures");
  auto save = [&](const std::string& name, const std::string& svg, const std::string& caption) {
    core::write_text_file(dir + "/figures/" + name, svg);
    out.files.emplace_back("figures/" + name, caption);
  };
  std::vector<Strip> strips;
  std::vector<ScatterPoint> cost, lat;
  for (const auto& g : groups) {
    strips.push_back({g.label, g.values(&RunRecord::metric)});
    for (const auto& r : g.runs) {
      if (r.status != "finished") continue;
      const auto seed = fmt::format("s{}", r.run.seed);
      cost.push_back({r.search_seconds, r.metric, g.label, seed});
      if (std::isfinite(r.latency)) lat.push_back({r.latency, r.metric, g.label, seed});
    }
  }
  save("metric.svg", strip_svg(strips, metric + " per strategy (every seed)", metric),
       metric + " of every seed's answer per strategy; bar: mean");
  save("cost.svg", scatter_svg(cost, metric + " vs search cost", "search seconds", metric),
       metric + " against search seconds, one point per run");

  std::vector<Series> curves, alphas, trials;
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    const int colour = static_cast<int>(i);
    if (g.trial) {
      Group best = g;
      for (auto& r : best.runs) r.log = best_so_far(r.log);
      auto s = curve(
          best, [](const nlohmann::json& l) { return number(l["best"]); }, g.label, false, colour);
      if (!s.x.empty()) trials.push_back(s);
      continue;
    }
    auto train = curve(
        g, [](const nlohmann::json& l) { return number(l["train_acc"]); }, g.label + " train",
        false, colour);
    auto val = curve(
        g, [](const nlohmann::json& l) { return number(l["val_acc"]); }, g.label + " val", true,
        colour);
    if (!train.x.empty()) curves.push_back(train);
    if (!val.x.empty()) curves.push_back(val);
    auto top = curve(g, top_probability, g.label, false, colour);
    if (!top.x.empty()) alphas.push_back(top);
  }
  if (!curves.empty()) {
    save("curves.svg", lines_svg(curves, "search accuracy per epoch", "epoch", "accuracy"),
         "one-shot searches' training (solid) and validation (dashed) accuracy per epoch: mean "
         "over seeds, band min–max");
  }
  if (!alphas.empty()) {
    save("alphas.svg",
         lines_svg(alphas, "architecture weights: top op's probability", "epoch",
                   "mean over edges of max_k p_k"),
         "alpha-based strategies: the top op's probability per edge, mean over edges; mean "
         "over seeds, band min–max (1/candidates = undecided, 1 = decided)");
  }
  if (!trials.empty()) {
    save("trials.svg", lines_svg(trials, "trial searches: best score so far", "trial", "score"),
         "trial strategies' best fitness after each trial: mean over seeds, band min–max");
  }
  if (latency) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& p : lat) pts.emplace_back(p.x, p.y);
    save("latency.svg",
         scatter_svg(lat, metric + " vs predicted latency", "predicted latency (ms)", metric,
                     pareto_front(pts)),
         metric + " against the answer's predicted latency, with the Pareto front");
  }
  return out;
}

std::string verdict(const core::WelchResult& w, double holm_p, const std::string& label,
                    const std::string& baseline) {
  if (!w.valid) return fmt::format("no test ({})", w.why);
  if (holm_p < kAlpha) {
    return fmt::format("{} is significantly {} than {} at 5% (Holm-adjusted)", label,
                       w.diff > 0 ? "better" : "worse", baseline);
  }
  return "no significant difference at 5%";
}

std::string fmt_p(double p) {
  if (!std::isfinite(p)) return "–";
  return p < 0.001 ? fmt::format("{:.1e}", p) : fmt::format("{:.3f}", p);
}

nlohmann::json reproduce_info(const std::vector<Group>& groups, const std::string& dir) {
  for (const auto& g : groups) {
    for (const auto& r : g.runs) {
      const auto path = r.run.dir + "/env.json";
      if (!fs::exists(path)) continue;
      const auto env = core::read_json_file(path);
      return {{"command_line", env.value("command_line", "")},
              {"rerun", fmt::format("nas study run --config {0}/study.json --out NEW_DIR && "
                                    "nas study report NEW_DIR",
                                    dir)},
              {"environment", env}};
    }
  }
  return nlohmann::json::object();
}

}  // namespace

bool parameter_free_op(const std::string& op) {
  return op == "none" || op == "skip_connect" || op == "identity" ||
         op.find("pool") != std::string::npos;
}

namespace {

/// The study's runs, read from their directories, grouped by strategy label
/// in plan order.
std::vector<Group> read_groups(const nlohmann::json& study, const std::string& dir,
                               bool evaluates, const Registries& registries) {
  std::vector<Group> groups;
  for (const auto& run : plan_study(study, dir, registries)) {
    if (groups.empty() || groups.back().label != run.label) {
      Group g;
      g.label = run.label;
      g.name = run.config["strategy"]["name"];
      g.recipe = run.recipe.empty() ? "shared" : run.recipe;
      g.trial = registries.is_trial_strategy(g.name);
      groups.push_back(g);
    }
    groups.back().runs.push_back(read_run(run, evaluates, registries));
  }
  return groups;
}

/// The metric's name: the evaluation's (the last run that has one) or the
/// search's.
std::string metric_name(const std::vector<Group>& groups, bool evaluates) {
  std::string metric = evaluates ? "metric" : "search metric";
  for (const auto& g : groups) {
    for (const auto& r : g.runs) {
      if (evaluates && r.evaluation.contains("metric")) metric = r.evaluation["metric"];
    }
  }
  return metric;
}

/// One run of report.json's `strategies[].runs`.
nlohmann::json run_json(const RunRecord& r) {
  nlohmann::json run = {{"seed", r.run.seed}, {"status", r.status}, {"dir", r.run.dir}};
  if (r.status != "finished") {
    run["message"] = r.message;
    return run;
  }
  run.update({{"metric", r.metric},
              {"search_seconds", r.search_seconds},
              {"peak_rss_mib", r.peak_rss},
              {"passes", r.passes},
              {"param_free_fraction", r.param_free},
              {"arch", r.result["arch"]}});
  if (std::isfinite(r.latency)) run["latency_ms"] = r.latency;
  return run;
}

/// One strategy of report.json, its summaries and runs; each unfinished run
/// goes to `problems` too.
nlohmann::json strategy_json(const Group& g, bool latency, nlohmann::json& problems) {
  nlohmann::json j = {{"label", g.label},
                      {"strategy", g.name},
                      {"recipe", g.recipe},
                      {"kind", g.trial ? "trial" : "one-shot"}};
  auto summary = [&](double RunRecord::*field) {
    return summary_json(core::summarize(g.values(field)));
  };
  j["metric"] = summary(&RunRecord::metric);
  j["search_seconds"] = summary(&RunRecord::search_seconds);
  j["peak_rss_mib"] = summary(&RunRecord::peak_rss);
  j["passes"] = summary(&RunRecord::passes);
  j["param_free_fraction"] = summary(&RunRecord::param_free);
  if (latency) j["latency_ms"] = summary(&RunRecord::latency);
  for (const auto& r : g.runs) {
    if (r.status != "finished") {
      problems.push_back(fmt::format("{} seed {}: {}{} ({})", g.label, r.run.seed, r.status,
                                     r.message.empty() ? "" : ": " + r.message, r.run.dir));
    }
    j["runs"].push_back(run_json(r));
  }
  return j;
}

/// The group labelled `label` (the first group when none is).
const Group& baseline_group(const std::vector<Group>& groups, const std::string& label) {
  const auto* baseline = &groups.front();
  for (const auto& g : groups) {
    if (g.label == label) baseline = &g;
  }
  return *baseline;
}

/// Every other strategy against the baseline: Welch (Holm-adjusted across
/// strategies) and Mann–Whitney U.
nlohmann::json comparisons_json(const std::vector<Group>& groups, const Group& baseline) {
  std::vector<core::WelchResult> welch;
  std::vector<const Group*> others;
  std::vector<double> ps;
  for (const auto& g : groups) {
    if (&g == &baseline) continue;
    others.push_back(&g);
    welch.push_back(
        core::welch_t_test(g.values(&RunRecord::metric), baseline.values(&RunRecord::metric)));
    ps.push_back(welch.back().p);
  }
  const auto holm = core::holm_adjust(ps);
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < others.size(); ++i) {
    const auto& w = welch[i];
    const auto mw = core::mann_whitney_u(others[i]->values(&RunRecord::metric),
                                         baseline.values(&RunRecord::metric));
    out.push_back({{"label", others[i]->label},
                   {"baseline", baseline.label},
                   {"difference", num(w.diff)},
                   {"ci95", w.valid ? nlohmann::json{w.ci_low, w.ci_high} : nlohmann::json()},
                   {"welch_t", num(w.t)},
                   {"welch_df", num(w.df)},
                   {"welch_p", num(w.p)},
                   {"holm_p", num(holm[i])},
                   {"mann_whitney_u", num(mw.u)},
                   {"mann_whitney_p", num(mw.p)},
                   {"mann_whitney_exact", mw.exact},
                   {"verdict", verdict(w, holm[i], others[i]->label, baseline.label)}});
  }
  return out;
}

std::string md_header(const nlohmann::json& report, const nlohmann::json& study,
                      const std::string& dir) {
  std::string md = fmt::format("# Study report: {}\n\n", dir);
  md += fmt::format("- **Metric**: {}.\n", report["metric"]["source"].get<std::string>());
  md += fmt::format("- **Budget rule**: {}.\n", report["budget_rule"].get<std::string>());
  md += fmt::format("- **Seeds**: {} per strategy. **Recipes**: {}.\n", study["seeds"].dump(),
                    study["recipes"] == "published"
                        ? "each strategy's published `<space>-<strategy>` preset where one "
                          "exists, under the study's shared settings (column *recipe*)"
                        : "one shared recipe (the study's settings) for every strategy");
  md +=
      "- **Statistics**: mean ± sample standard deviation over seeds; 95% confidence "
      "interval of the mean from Student's t (none for n = 1); differences against the "
      "baseline by Welch's t-test, p-values Holm-adjusted across strategies, with the "
      "Mann–Whitney U test (exact without ties) beside it.\n\n";
  return md;
}

std::string md_results(const std::vector<Group>& groups, const std::string& metric,
                       bool latency) {
  std::string md = "## Results per strategy\n\n";
  md += fmt::format(
      "| strategy | kind | recipe | n | {} (mean ± std) | 95% CI | median | min – "
      "max | search s | peak RSS MiB | passes | param-free ops |{}\n",
      metric, latency ? " latency ms |" : "");
  md += fmt::format("|---|---|---|---|---|---|---|---|---|---|---|---|{}\n", latency ? "---|" : "");
  for (const auto& g : groups) {
    const auto m = core::summarize(g.values(&RunRecord::metric));
    md += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n", g.label,
        g.trial ? "trial" : "one-shot", g.recipe, m.n, mean_std(m, 4), interval(m, 4),
        m.n > 0 ? fmt::format("{:.4f}", m.median) : "–",
        m.n > 0 ? fmt::format("{:.4f} – {:.4f}", m.min, m.max) : "–",
        mean_std(core::summarize(g.values(&RunRecord::search_seconds)), 0),
        mean_std(core::summarize(g.values(&RunRecord::peak_rss)), 0),
        mean_std(core::summarize(g.values(&RunRecord::passes)), 0),
        mean_std(core::summarize(g.values(&RunRecord::param_free)), 2),
        latency ? fmt::format(" {} |", mean_std(core::summarize(g.values(&RunRecord::latency)), 3))
                : "");
  }
  md +=
      "\n*param-free ops*: the fraction of the answer's edges that are `none`, skip or "
      "pooling (a cell of them is DARTS's known collapse).\n\n";
  return md;
}

std::string md_comparison_row(const nlohmann::json& c) {
  const bool ok = c["ci95"].is_array();
  return fmt::format(
      "| {} | {} | {} | {} | {} | {} | {} | {}{} | {} |\n", c["label"].get<std::string>(),
      c["difference"].is_number() ? fmt::format("{:+.4f}", c["difference"].get<double>()) : "–",
      ok ? fmt::format("[{:+.4f}, {:+.4f}]", c["ci95"][0].get<double>(), c["ci95"][1].get<double>())
         : "–",
      c["welch_t"].is_number()
          ? fmt::format("{:.2f} ({:.1f})", c["welch_t"].get<double>(), c["welch_df"].get<double>())
          : "–",
      fmt_p(number(c["welch_p"])), fmt_p(number(c["holm_p"])),
      c["mann_whitney_u"].is_number() ? fmt::format("{:g}", c["mann_whitney_u"].get<double>())
                                      : "–",
      fmt_p(number(c["mann_whitney_p"])), c["mann_whitney_exact"].get<bool>() ? " (exact)" : "",
      c["verdict"].get<std::string>());
}

std::string md_comparisons(const nlohmann::json& comparisons, const std::string& baseline) {
  std::string md = fmt::format("## Compared with {}\n\n", baseline);
  if (comparisons.empty()) return md + "Only one strategy: nothing to compare.\n\n";
  md +=
      "| strategy | difference of means | 95% CI (Welch) | Welch t (df) | p | Holm p | "
      "Mann–Whitney U | p (U) | verdict |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : comparisons) md += md_comparison_row(c);
  md += "\n";
  for (const auto& c : comparisons) {
    md += fmt::format("- {} vs {}: {}.\n", c["label"].get<std::string>(), baseline,
                      c["verdict"].get<std::string>());
  }
  return md + "\n";
}

std::string md_problems_and_figures(const nlohmann::json& report, const Figures& figures) {
  std::string md;
  if (!report["problems"].empty()) {
    md += "## Failed, unfinished or missing runs (left out of the statistics)\n\n";
    for (const auto& p : report["problems"]) md += fmt::format("- {}\n", p.get<std::string>());
    md += "\n";
  }
  md += "## Figures\n\n";
  for (const auto& [file, caption] : figures.files) {
    md += fmt::format("![{}]({})\n\n*{}.*\n\n", caption, file, caption);
  }
  return md;
}

std::string md_reproduce(const nlohmann::json& report, const nlohmann::json& study) {
  std::string md = "## Reproduce\n\n";
  const auto& rep = report["reproduce"];
  if (rep.contains("environment")) {
    const auto& env = rep["environment"];
    md += fmt::format(
        "- Command: `{}`\n- Rerun from scratch: `{}`\n- naskit {} (commit {}), "
        "LibTorch {}\n- Machine: {} ({}), {} threads, device {}\n",
        rep["command_line"].get<std::string>(), rep["rerun"].get<std::string>(),
        env.value("toolkit_version", "?"), env.value("git_commit", "?"),
        env.value("libtorch_version", "?"), env.value("cpu_model", "?"), env.value("hostname", "?"),
        env.value("threads", 0), env.value("device", "?"));
  }
  md += fmt::format(
      "- Seeds: {}; evaluation seeds: {}\n- Every run's config is its "
      "`config.json`; the study's is `study.json`.\n",
      study["seeds"].dump(), study["evaluation"]["seeds"].dump());
  return md;
}

}  // namespace

nlohmann::json study_report(const std::string& dir, const Registries& registries) {
  const auto study = load_study(dir, registries);
  const bool evaluates = study["evaluation"]["estimator"] != "none";
  const auto groups = read_groups(study, dir, evaluates, registries);
  const auto metric = metric_name(groups, evaluates);
  bool latency = false;
  for (const auto& g : groups) latency = latency || !g.values(&RunRecord::latency).empty();

  nlohmann::json report = {{"study", dir},
                           {"metric", {{"name", metric}, {"source", metric_source(study, metric)}}},
                           {"budget", study["budget"]},
                           {"budget_rule", budget_text(study["budget"])},
                           {"seeds", study["seeds"]},
                           {"baseline", study["baseline"]},
                           {"confidence_interval", "Student t, 95%, over seeds"},
                           {"strategies", nlohmann::json::array()},
                           {"comparisons", nlohmann::json::array()},
                           {"problems", nlohmann::json::array()}};
  for (const auto& g : groups) {
    report["strategies"].push_back(strategy_json(g, latency, report["problems"]));
  }
  const auto& baseline = baseline_group(groups, study["baseline"].get<std::string>());
  report["comparisons"] = comparisons_json(groups, baseline);
  const auto figures = write_figures(groups, dir, metric, latency);
  report["figures"] = nlohmann::json::array();
  for (const auto& [file, caption] : figures.files) report["figures"].push_back(file);
  report["reproduce"] = reproduce_info(groups, dir);
  core::write_json_file(dir + "/report.json", report);

  const auto md = md_header(report, study, dir) + md_results(groups, metric, latency) +
                  md_comparisons(report["comparisons"], baseline.label) +
                  md_problems_and_figures(report, figures) + md_reproduce(report, study);
  core::write_text_file(dir + "/report.md", md);
  return report;
}

}  // namespace nas::experiments
