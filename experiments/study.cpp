#include "experiments/study.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/dir_lock.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/task_claims.h"
#include "data/source.h"
#include "experiments/run.h"
#include "experiments/search.h"

namespace nas::experiments {

namespace fs = std::filesystem;

namespace {

const char* const kRules[] = {"epochs", "seconds", "passes", "none"};

nlohmann::json strategy_entry_defaults() {
  return {{"name", ""},
          {"label", ""},
          {"preset", ""},
          {"options", nlohmann::json::object()},
          {"set", nlohmann::json::object()}};
}

std::vector<int64_t> checked_seeds(const nlohmann::json& j, const std::string& key) {
  std::vector<int64_t> seeds;
  for (const auto& s : j) {
    if (!s.is_number_integer() || s.get<int64_t>() < 0) {
      throw ConfigError(fmt::format("{}: expected non-negative integers, found {}", key, s.dump()));
    }
    seeds.push_back(s.get<int64_t>());
  }
  if (seeds.empty())
    throw ConfigError(fmt::format("{}: expected at least one seed, found none", key));
  if (std::set<int64_t>(seeds.begin(), seeds.end()).size() != seeds.size()) {
    throw ConfigError(fmt::format("{}: expected distinct seeds, found {}", key, j.dump()));
  }
  return seeds;
}

void check_label(const std::string& label) {
  const bool ok = !label.empty() &&
                  std::all_of(label.begin(), label.end(),
                              [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                       c == '-' || c == '.';
                              }) &&
                  label != "." && label != "..";
  if (!ok) {
    throw ConfigError(fmt::format(
        "strategies: label '{}' is not a directory name; expected letters, digits, '_', '-', '.'",
        label));
  }
}

/// The strategy entries with their defaults, labels and unique labels checked.
nlohmann::json resolve_strategies(const nlohmann::json& given, const Registries& registries) {
  if (!given.is_array() || given.empty()) {
    throw ConfigError(
        fmt::format("strategies: expected a non-empty list of {{\"name\": ...}}, "
                    "found {}",
                    core::printable(given.dump(), 60)));
  }
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> labels;
  for (size_t i = 0; i < given.size(); ++i) {
    const auto where = fmt::format("strategies[{}]", i);
    auto e = given[i].is_string() ? nlohmann::json{{"name", given[i]}} : given[i];
    e = core::resolve_options(strategy_entry_defaults(), e, where);
    const auto name = core::option<std::string>(e, "name");
    try {
      registries.kind(name);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}.name: {}", where, e.what()));
    }
    if (e["label"] == "") e["label"] = name;
    check_label(e["label"]);
    if (!labels.insert(e["label"]).second) {
      throw ConfigError(fmt::format("{}.label: '{}' is used twice; give each entry its own label",
                                    where, e["label"].get<std::string>()));
    }
    out.push_back(e);
  }
  return out;
}

void check_rule(const nlohmann::json& budget) {
  const auto rule = core::option<std::string>(budget, "rule");
  if (std::find(std::begin(kRules), std::end(kRules), rule) == std::end(kRules)) {
    throw ConfigError(
        fmt::format("budget.rule: expected one of {}, found '{}'", fmt::join(kRules, ", "), rule));
  }
  if (rule == "none") return;
  const auto amount = core::option<double>(budget, rule);
  if (!(amount > 0)) {
    throw ConfigError(fmt::format("budget.{}: the rule '{}' needs an amount above 0, found {}",
                                  rule, rule, budget[rule].dump()));
  }
}

/// The evaluation section: "none", or an estimator resolved like a search's
/// (the space's recipe under the user's options; `scratch` defaults to the
/// final split: the whole training set, test accuracy).
nlohmann::json resolve_evaluation(nlohmann::json e, const std::string& space,
                                  const Registries& registries) {
  checked_seeds(e["seeds"], "evaluation.seeds");
  const auto name = core::option<std::string>(e, "estimator");
  if (name == "none") return e;
  if (!registries.estimators.contains(name)) {
    throw ConfigError(
        fmt::format("evaluation.estimator: unknown estimator '{}'; valid names: "
                    "none, {}",
                    name, fmt::join(registries.estimators.names(), ", ")));
  }
  auto options = estimator_space_recipe(space, name);
  if (name == "scratch") options["split"] = "final";
  for (auto it = e["options"].begin(); it != e["options"].end(); ++it) options[it.key()] = *it;
  e["options"] = registries.estimators.resolve(name, options);
  registries.estimators.create(name, e["options"]);
  return e;
}

/// The search config of one run, from its layers.
nlohmann::json run_config(const nlohmann::json& study, const nlohmann::json& entry,
                          const std::string& recipe, int64_t seed, const std::string& dir,
                          const Registries& registries) {
  const auto name = entry["name"].get<std::string>();
  std::vector<nlohmann::json> layers;
  if (!recipe.empty()) layers.push_back(preset("search", recipe));
  layers.push_back(study["search"]);
  layers.push_back({{"strategy", {{"name", name}, {"options", entry["options"]}}}});
  layers.push_back(budget_layer(study["budget"], registries.is_trial_strategy(name)));
  layers.push_back(entry["set"]);
  layers.push_back({{"seed", seed}, {"out", dir}});
  try {
    return resolve_config(search_defaults(), layers, registries);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("strategy '{}'{}: {}", entry["label"].get<std::string>(),
                                  recipe.empty() ? "" : " (recipe " + recipe + ")", e.what()));
  }
}

/// The preset an entry's runs layer under the study's settings: its own
/// `preset`, or with `recipes: published` the `<space>-<strategy>` preset
/// when there is one.
std::string recipe_of(const nlohmann::json& study, const nlohmann::json& entry,
                      const std::string& space) {
  const auto own = entry["preset"].get<std::string>();
  if (!own.empty()) return own;
  if (study["recipes"] != "published") return "";
  const auto name = space + "-" + entry["name"].get<std::string>();
  const auto names = preset_names("search");
  return std::find(names.begin(), names.end(), name) != names.end() ? name : "";
}

std::string study_space(const nlohmann::json& study) {
  return space_of({study["search"]}, search_defaults()["space"]["name"]);
}

}  // namespace

nlohmann::json study_defaults() {
  return {
      // The settings every run shares: a search config layer (space and
      // network sizes, data, threads, device, objective, ...).
      {"search", nlohmann::json::object()},
      {"seeds", {0, 1, 2}},
      // Each entry: {"name", "label" (default: name), "preset" (a search
      // preset under the study's settings), "options" (the strategy's),
      // "set" (a search config layer of this strategy's own: e.g. its
      // estimator)}; a plain string is {"name": string}.
      {"strategies", nlohmann::json::array()},
      // "published": each strategy's `<space>-<strategy>` preset (the
      // reference code's optimiser, batch and schedules) when there is one;
      // "shared": only the study's settings.
      {"recipes", "published"},
      // rule: "epochs" (one-shot: epochs; trial: training epochs of all
      // estimates), "seconds" (search seconds; one-shot runs stop at the
      // first epoch end past them), "passes" (forward+backward batch
      // passes), or "none" (each run's own epochs and budget).
      {"budget", {{"rule", "epochs"}, {"epochs", 10}, {"seconds", 0.0}, {"passes", 0}}},
      // How every found architecture is evaluated: an estimator ("scratch":
      // trained from scratch on the training set, test accuracy; "tabular";
      // ...) once per evaluation seed, or "none" (the searches' own metrics).
      {"evaluation",
       {{"estimator", "scratch"}, {"options", nlohmann::json::object()}, {"seeds", {0}}}},
      // The strategy the others are compared with ("": random, else
      // random_ws, else the first).
      {"baseline", ""},
  };
}

nlohmann::json budget_layer(const nlohmann::json& budget, bool trial_strategy) {
  const auto rule = budget["rule"].get<std::string>();
  if (rule == "none") return nlohmann::json::object();
  nlohmann::json layer = nlohmann::json::object();
  if (rule == "epochs" && !trial_strategy) {
    layer["epochs"] = budget["epochs"];
    return layer;
  }
  layer["budget"][rule] = budget[rule];
  if (trial_strategy) layer["budget"]["trials"] = 0;  // the rule alone limits
  return layer;
}

nlohmann::json resolve_study(const std::vector<nlohmann::json>& layers,
                             const Registries& registries) {
  auto study =
      core::resolve_options(study_defaults(), merge_layers(layers, "study config"), "study");
  checked_seeds(study["seeds"], "seeds");
  study["strategies"] = resolve_strategies(study["strategies"], registries);
  const auto recipes = core::option<std::string>(study, "recipes");
  if (recipes != "published" && recipes != "shared") {
    throw ConfigError(
        fmt::format("recipes: expected \"published\" or \"shared\", found \"{}\"", recipes));
  }
  check_rule(study["budget"]);
  study["evaluation"] = resolve_evaluation(study["evaluation"], study_space(study), registries);
  auto& baseline = study["baseline"];
  std::vector<std::string> labels;
  for (const auto& e : study["strategies"]) labels.push_back(e["label"]);
  auto has = [&](const std::string& l) {
    return std::find(labels.begin(), labels.end(), l) != labels.end();
  };
  if (baseline == "") {
    baseline = has("random") ? "random" : has("random_ws") ? "random_ws" : labels.front();
  } else if (!has(baseline)) {
    throw ConfigError(fmt::format("baseline: expected one of the labels {}, found '{}'",
                                  fmt::join(labels, ", "), baseline.get<std::string>()));
  }
  plan_study(study, "", registries);  // every run's config resolves
  return study;
}

std::vector<StudyRun> plan_study(const nlohmann::json& study, const std::string& out,
                                 const Registries& registries) {
  std::vector<StudyRun> runs;
  const auto space = study_space(study);
  for (const auto& entry : study["strategies"]) {
    const auto recipe = recipe_of(study, entry, space);
    for (const auto& seed : study["seeds"]) {
      StudyRun r;
      r.label = entry["label"];
      r.seed = seed;
      r.recipe = recipe;
      r.dir = fmt::format("{}/runs/{}/seed{}", out, r.label, r.seed);
      r.config = run_config(study, entry, recipe, r.seed, r.dir, registries);
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

nlohmann::json load_study(const std::string& dir, const Registries& registries) {
  const auto path = dir + "/study.json";
  if (!fs::exists(path)) {
    throw ConfigError(
        fmt::format("{} is not a study directory: expected {}, found none "
                    "(start one with `nas study run --config FILE --out {}`)",
                    dir, path, dir));
  }
  try {
    return resolve_study({core::read_json_file(path)}, registries);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: not a study's config: {}", path, e.what()));
  }
}

namespace {

/// Runs `body` with the per-run output silenced (unless -v -v).
template <class F>
auto quietly(F&& body) {
  const int verbosity = core::verbosity();
  if (verbosity < 2) core::set_verbosity(0);
  struct Restore {
    int v;
    ~Restore() { core::set_verbosity(v); }
  } restore{verbosity};
  return body();
}

void record_failure(const std::string& dir, const std::string& stage, const std::string& message) {
  fs::create_directories(dir);
  core::write_json_file(dir + "/error.json", {{"stage", stage}, {"message", message}});
}

/// How far one run of the study is, read from its directory (so every
/// worker sees every other worker's progress).
struct RunState {
  bool searched = false;  ///< result.json
  bool failed = false;    ///< error.json and no result
  int64_t evaluated = 0;  ///< evaluation seeds done
  int64_t eval_failed = 0;
};

RunState run_state(const StudyRun& r) {
  RunState s;
  s.searched = fs::exists(r.dir + "/result.json");
  s.failed = !s.searched && fs::exists(r.dir + "/error.json");
  const auto path = r.dir + "/evaluation.json";
  if (!s.searched || !fs::exists(path)) return s;
  try {
    const auto record = core::read_json_file(path);
    for (const auto& e : record.at("results")) {
      ++s.evaluated;
      s.eval_failed += e.value("ok", true) ? 0 : 1;
    }
  } catch (const std::exception&) {
    s.evaluated = 0;  // unreadable: evaluated again (study_evaluate names the file)
  }
  return s;
}

/// The claim name of a run's task: "<label>.seed<k>".
std::string task_name(const StudyRun& r) {
  return fmt::format("{}.seed{}", r.label, r.seed);
}

/// What evaluates the study's answers: the estimator, attached once to the
/// study's shared settings (data, network sizes).
struct Evaluator {
  std::string name;
  nlohmann::json options;
  nlohmann::json base;  ///< the study's `search` layer, resolved
  std::unique_ptr<search_space::SearchSpace> space;
  data::DataPair data;
  std::unique_ptr<estimators::PerformanceEstimator> estimator;
  torch::Device device = torch::kCPU;
  int64_t attached_seed = -1;

  void attach(int64_t seed, const Registries& registries) {
    if (attached_seed == seed) return;
    if (!estimator) {
      int threads = 0;
      device = setup_runtime(base, &threads);
      space = registries.spaces.create(base["space"]["name"], base["space"]["options"]);
      estimator = registries.estimators.create(name, options);
      if (estimator->needs_data()) data = data::load_data(base["data"]);
    }
    // Data order and augmentation follow the evaluation seed.
    estimator->attach(estimator_context(base, *space, device, static_cast<uint64_t>(seed),
                                        estimator->needs_data() ? &data : nullptr));
    attached_seed = seed;
  }
};

/// One worker of a study: takes the runs one by one under a claim (see
/// core::TaskClaims), searches and evaluates each, and waits while other
/// workers hold the rest, so a dead worker's run is taken over.
class StudyWorker {
 public:
  StudyWorker(const nlohmann::json& study, std::string out, std::vector<StudyRun> runs,
              double claim_timeout, const Registries& registries)
      : study_(study),
        out_(std::move(out)),
        runs_(std::move(runs)),
        registries_(registries),
        claims_(out_ + "/claims", claim_timeout),
        evals_(study["evaluation"]["estimator"] != "none"
                   ? static_cast<int64_t>(study["evaluation"]["seeds"].size())
                   : 0) {
    for (const auto& r : runs_) {
      // A failure from before this worker started is tried again, once.
      const auto error = r.dir + "/error.json";
      if (run_state(r).failed) failed_before_[r.dir] = fs::last_write_time(error);
    }
    if (evals_ > 0) {
      ev_.name = study["evaluation"]["estimator"];
      ev_.options = study["evaluation"]["options"];
      ev_.base = resolve_config(search_defaults(), {study["search"]}, registries);
    }
  }

  /// Until every run is finished or failed; false when interrupted.
  bool run() {
    for (;;) {
      bool others = false;  // runs other live workers hold
      for (const auto& r : runs_) {
        if (core::interrupted()) return false;
        // A finished run with a claim left: its worker died before it let go.
        if (finished(r) && !claims_.claimed(task_name(r))) continue;
        auto claim = claims_.try_claim(task_name(r), [this, &r] { lost(r); });
        if (!claim || (!finished(r) && busy(r))) {
          others = true;
          continue;
        }
        if (finished(r)) {  // by another worker just now, or by one that died
          record_missing_lines(r);
          continue;
        }
        tried_.insert(r.dir);
        if (!work_on(r)) return false;
      }
      if (!others) return true;
      if (!wait_for_others()) return false;
    }
  }

  StudyOutcome tally() const {
    StudyOutcome o;
    for (const auto& r : runs_) {
      const auto s = run_state(r);
      o.searches += s.searched ? 1 : 0;
      o.evaluations += s.searched && evals_ > 0 && s.evaluated >= evals_ ? 1 : 0;
      o.failed += (s.failed ? 1 : 0) + s.eval_failed;
    }
    return o;
  }

 private:
  /// Nothing left for this worker to do on `r`.
  bool finished(const StudyRun& r) const {
    const auto s = run_state(r);
    if (s.failed) {
      if (tried_.count(r.dir) != 0) return true;
      const auto before = failed_before_.find(r.dir);
      return before == failed_before_.end() ||
             before->second != fs::last_write_time(r.dir + "/error.json");
    }
    return s.searched && s.evaluated >= evals_;
  }

  /// Another process still writes `r`'s run directory (its own lock).
  static bool busy(const StudyRun& r) {
    if (!fs::exists(r.dir)) return false;
    try {
      core::DirLock probe(r.dir, "run directory");
      return false;
    } catch (const ConfigError&) {
      return true;
    }
  }

  /// Called on the claim's heartbeat thread: this worker was taken for dead.
  void lost(const StudyRun& r) {
    core::log_line(fmt::format(
        "study worker {}: another worker took over {} seed {} (no heartbeat seen for {} s); "
        "stopping",
        core::worker_id(), r.label, r.seed, claims_.timeout()));
    core::request_interrupt();
  }

  /// A pause before looking at the others' runs again: at most a second, so
  /// a worker with nothing left returns soon after the last run finishes.
  bool wait_for_others() {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(std::min(claims_.heartbeat(), 1.0));
    while (std::chrono::steady_clock::now() < until) {
      if (core::interrupted()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  bool work_on(const StudyRun& r) {
    if (!fs::exists(r.dir + "/result.json") && !search(r)) return false;
    if (evals_ == 0 || !fs::exists(r.dir + "/result.json")) return true;
    return evaluate(r);
  }

  /// study.jsonl lines for what `r`'s directory holds but the log lacks: a
  /// worker killed between finishing a task and logging it.
  void record_missing_lines(const StudyRun& r) {
    std::set<std::string> logged;
    const auto path = out_ + "/study.jsonl";
    if (fs::exists(path)) {
      std::istringstream lines(core::read_text_file(path));
      for (std::string text; std::getline(lines, text);) {
        try {
          const auto l = nlohmann::json::parse(text);
          if (l.value("label", "") == r.label && l.value("seed", -1) == r.seed) {
            logged.insert(l.value("task", "") + l.value("eval_seed", nlohmann::json()).dump());
          }
        } catch (const std::exception&) {
          // a torn last line of a killed worker
        }
      }
    }
    const nlohmann::json none;
    if (fs::exists(r.dir + "/result.json") && logged.count("search" + none.dump()) == 0) {
      log_task({{"task", "search"}, {"label", r.label}, {"seed", r.seed}, {"ok", true},
                {"recovered", true}});
    }
    if (evals_ == 0 || !fs::exists(r.dir + "/evaluation.json")) return;
    for (const auto& e : core::read_json_file(r.dir + "/evaluation.json")["results"]) {
      if (logged.count("evaluation" + e["seed"].dump()) != 0) continue;
      log_task({{"task", "evaluation"}, {"label", r.label}, {"seed", r.seed},
                {"eval_seed", e["seed"]}, {"ok", e.value("ok", true)}, {"recovered", true}});
    }
  }

  void log_task(nlohmann::json line) {
    line["worker"] = core::worker_id();
    core::append_json_line(out_ + "/study.jsonl", line);
  }

  void report(const std::string& what) {
    ++done_here_;
    int64_t done = 0;
    for (const auto& r : runs_) {
      const auto s = run_state(r);
      done += s.failed ? 1 + evals_ : (s.searched ? 1 : 0) + std::min(s.evaluated, evals_);
    }
    const int64_t total = static_cast<int64_t>(runs_.size()) * (1 + evals_);
    const double elapsed = core::seconds_since(start_);
    const double eta =
        elapsed / static_cast<double>(done_here_) * static_cast<double>(total - done);
    core::info("study [{}/{}] {} | {:.0f} s, ETA {:.0f} s", done, total, what, elapsed, eta);
  }

  /// One search; false when interrupted.
  bool search(const StudyRun& r) {
    const bool resume = fs::exists(r.dir + "/checkpoint.pt");
    if (!resume && fs::exists(r.dir)) fs::remove_all(r.dir);  // started, nothing saved yet
    const auto start = std::chrono::steady_clock::now();
    const auto what = fmt::format("search {} seed {}", r.label, r.seed);
    try {
      const auto o = quietly([&] { return run_search(r.config, resume, registries_); });
      if (o.interrupted) return false;
    } catch (const core::Interrupted&) {
      return false;
    } catch (const std::exception& e) {
      record_failure(r.dir, "search", e.what());
      log_task({{"task", "search"},
                {"label", r.label},
                {"seed", r.seed},
                {"ok", false},
                {"message", e.what()}});
      report(fmt::format("{} FAILED: {}", what, e.what()));
      return true;
    }
    fs::remove(r.dir + "/error.json");
    const auto seconds = core::seconds_since(start);
    log_task({{"task", "search"},
              {"label", r.label},
              {"seed", r.seed},
              {"ok", true},
              {"seconds", seconds}});
    report(fmt::format("{} ({:.0f} s)", what, seconds));
    return true;
  }

  /// The evaluations of one finished run that are not done yet; false when
  /// interrupted. evaluation.json is rewritten after each evaluation seed.
  bool evaluate(const StudyRun& r) {
    const auto path = r.dir + "/evaluation.json";
    nlohmann::json record = fs::exists(path) ? core::read_json_file(path)
                                             : nlohmann::json{{"estimator", ev_.name},
                                                              {"options", ev_.options},
                                                              {"results", nlohmann::json::array()}};
    std::set<int64_t> done;
    for (const auto& e : record["results"]) done.insert(e["seed"].get<int64_t>());
    const auto result = core::read_json_file(r.dir + "/result.json");
    for (const auto& seed_json : study_["evaluation"]["seeds"]) {
      const auto seed = seed_json.get<int64_t>();
      if (done.count(seed) != 0) continue;
      const auto e = quietly([&] {
        ev_.attach(seed, registries_);
        const auto arch = ev_.space->parse(result["arch"].get<std::string>());
        core::seed_everything(static_cast<uint64_t>(seed));
        return ev_.estimator->evaluate(arch, {});
      });
      if (e.interrupted) return false;
      auto j = e.to_json();
      j["seed"] = seed;
      j["seconds"] = e.seconds;
      record["results"].push_back(j);
      record["metric"] = e.metric;
      core::write_json_file(path, record);
      log_task({{"task", "evaluation"},
                {"label", r.label},
                {"seed", r.seed},
                {"eval_seed", seed},
                {"ok", e.ok},
                {"seconds", e.seconds}});
      report(
          fmt::format("evaluate {} seed {} (eval seed {}): {}", r.label, r.seed, seed,
                      e.ok ? fmt::format("{} {:.4f}", e.metric, e.value) : "FAILED: " + e.message));
    }
    return true;
  }

  const nlohmann::json& study_;
  std::string out_;
  std::vector<StudyRun> runs_;
  const Registries& registries_;
  core::TaskClaims claims_;
  int64_t evals_;
  Evaluator ev_;
  std::map<std::string, fs::file_time_type> failed_before_;
  std::set<std::string> tried_;
  int64_t done_here_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// The study without what may differ between its workers (threads, device).
nlohmann::json what_is_computed(nlohmann::json study) {
  study["search"].erase("threads");
  study["search"].erase("device");
  return study;
}

/// `out` must be new or empty unless its study.json is `study` itself.
void refuse_other_study(const nlohmann::json& study, const std::string& out) {
  const auto path = out + "/study.json";
  const auto diff =
      nlohmann::json::diff(what_is_computed(core::read_json_file(path)), what_is_computed(study));
  if (diff.empty()) return;
  throw ConfigError(fmt::format(
      "{} holds another study: its study.json differs at {}; a worker joins a study with the "
      "same config (or use `nas study run --resume {}`)",
      out, diff[0]["path"].get<std::string>(), out));
}

/// Creates (or, joining or resuming, opens) the study directory.
void start_study_dir(const nlohmann::json& study, const std::string& out, StudyStart how) {
  if (how == StudyStart::resume) return;  // load_study found study.json
  auto refuse_unless_empty = [&] {
    if (!fs::exists(out)) return;
    bool empty = fs::is_directory(out);
    if (empty) {
      for (const auto& entry : fs::directory_iterator(out)) {
        if (entry.path().filename() != core::DirLock::kFile) empty = false;
      }
    }
    if (empty) return;
    const bool study_there = fs::exists(out + "/study.json");
    if (how == StudyStart::join && study_there) return refuse_other_study(study, out);
    throw ConfigError(fmt::format(
        "{} exists and is not an empty directory; a new study needs a new directory{}", out,
        study_there ? fmt::format(" (continue this one with `nas study run --resume {}`)", out)
                    : ""));
  };
  refuse_unless_empty();
  fs::create_directories(out);
  const core::DirLock lock(out, "study directory");  // while it is set up
  refuse_unless_empty();                             // again under the lock
  if (!fs::exists(out + "/study.json")) core::write_json_file(out + "/study.json", study);
}

}  // namespace

StudyOutcome run_study(const nlohmann::json& study, const std::string& out,
                       const StudyRunOptions& options, const Registries& registries) {
  auto runs = plan_study(study, out, registries);
  start_study_dir(study, out, options.start);
  install_interrupt_handlers();
  core::info("study {}: {} strategies x {} seeds, budget rule {}, evaluation {} (worker {})", out,
             study["strategies"].size(), study["seeds"].size(),
             study["budget"]["rule"].get<std::string>(),
             study["evaluation"]["estimator"].get<std::string>(), core::worker_id());
  StudyWorker worker(study, out, std::move(runs), options.claim_timeout, registries);
  const bool whole = worker.run();
  auto outcome = worker.tally();
  if (!whole) {
    core::info(
        "study interrupted; every finished run is kept. Continue with "
        "`nas study run --resume {}`",
        out);
    outcome.interrupted = true;
  }
  return outcome;
}

StudyOutcome run_study(const nlohmann::json& study, const std::string& out, bool resume,
                       const Registries& registries) {
  StudyRunOptions options;
  options.start = resume ? StudyStart::resume : StudyStart::create;
  return run_study(study, out, options, registries);
}

}  // namespace nas::experiments
