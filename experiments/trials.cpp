#include "experiments/trials.h"

// The trial loop: black-box strategies (random, evolution, reinforce, list) propose
// architectures, an estimator evaluates each, one trials.jsonl line and a
// checkpoint follow every trial. Shares the run mechanism (experiments/
// run.h) with the one-shot loop.

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/stats.h"
#include "data/source.h"
#include "experiments/run.h"

namespace nas::experiments {

namespace {

constexpr double kNoScore = -std::numeric_limits<double>::infinity();

/// What a run may spend; 0: no limit by that measure.
struct Budget {
  int64_t trials = 0;
  double seconds = 0;  ///< estimator seconds (measured, or a table's recorded cost)
  int64_t epochs = 0;  ///< training epochs of the estimates
  int64_t passes = 0;  ///< forward+backward batch passes of the estimates
  int64_t max_failures_in_a_row = 0;

  static Budget from_json(const nlohmann::json& j) {
    return {core::option<int64_t>(j, "trials"), core::option<double>(j, "seconds"),
            core::option<int64_t>(j, "epochs"), core::option<int64_t>(j, "passes"),
            core::option<int64_t>(j, "max_failures_in_a_row")};
  }
};

/// Where the trial loop stands (checkpointed as JSON).
struct TrialPosition {
  int64_t trials = 0;  ///< trials done
  int64_t failed = 0;
  int64_t failures_in_a_row = 0;
  double estimator_seconds = 0;
  int64_t epochs = 0;
  int64_t passes = 0;
  int64_t best_trial = -1;
  double best_score = kNoScore;
  std::string best_arch;
  nlohmann::json best_estimate;
  std::vector<double> scores, vs_scores;  ///< pairs for the rank correlation

  nlohmann::json to_json() const {
    return {{"trials", trials},       {"failed", failed},
            {"failures_in_a_row", failures_in_a_row},
            {"estimator_seconds", estimator_seconds},
            {"epochs", epochs},       {"passes", passes},
            {"best_trial", best_trial},
            {"best_score", best_trial >= 0 ? nlohmann::json(best_score) : nlohmann::json()},
            {"best_arch", best_arch}, {"best_estimate", best_estimate},
            {"scores", scores},       {"vs_scores", vs_scores}};
  }
  static TrialPosition from_json(const nlohmann::json& j) {
    TrialPosition p;
    p.trials = j.at("trials").get<int64_t>();
    p.failed = j.at("failed").get<int64_t>();
    p.failures_in_a_row = j.at("failures_in_a_row").get<int64_t>();
    p.estimator_seconds = j.at("estimator_seconds").get<double>();
    p.epochs = j.at("epochs").get<int64_t>();
    p.passes = j.at("passes").get<int64_t>();
    p.best_trial = j.at("best_trial").get<int64_t>();
    p.best_score = j.at("best_score").is_null() ? kNoScore : j.at("best_score").get<double>();
    p.best_arch = j.at("best_arch").get<std::string>();
    p.best_estimate = j.at("best_estimate");
    p.scores = j.at("scores").get<std::vector<double>>();
    p.vs_scores = j.at("vs_scores").get<std::vector<double>>();
    return p;
  }
};

/// What the trial loop holds besides the run.
struct TrialState {
  explicit TrialState(Run& r) : run(r) {}
  Run& run;
  std::unique_ptr<strategies::TrialStrategy> strategy;
  std::unique_ptr<estimators::PerformanceEstimator> estimator, vs;
  data::DataPair data;
  Budget budget;
  TrialPosition pos;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  int64_t trials_at_start = 0;
};

void save_checkpoint(const TrialState& s) {
  s.run.save_checkpoint([&](torch::serialize::OutputArchive& archive) {
    archive.write("strategy_state", c10::IValue(s.strategy->save().dump()));
    archive.write("trial_position", c10::IValue(s.pos.to_json().dump()));
  });
}

void load_checkpoint(TrialState& s, torch::serialize::InputArchive& archive) {
  c10::IValue strategy_state, position;
  archive.read("strategy_state", strategy_state);
  archive.read("trial_position", position);
  const auto where = s.run.dir.file("checkpoint.pt");
  s.strategy->load(core::parse_json(strategy_state.toStringRef(), where));
  s.pos = TrialPosition::from_json(core::parse_json(position.toStringRef(), where));
}

/// Creates and attaches the strategy and the estimators, loading the data
/// only when an estimator needs it.
void build_trials(TrialState& s, const Registries& registries) {
  const auto& config = s.run.config;
  s.strategy = registries.trial_strategies.create(config["strategy"]["name"],
                                                  config["strategy"]["options"]);
  s.strategy->attach({s.run.space.get(), &s.run.rng});
  s.estimator = registries.estimators.create(config["estimator"]["name"],
                                             config["estimator"]["options"]);
  const auto vs_name = core::option<std::string>(config["vs"], "name");
  if (!vs_name.empty()) {
    s.vs = registries.estimators.create(vs_name, config["vs"]["options"]);
  }
  const bool needs_data = s.estimator->needs_data() || (s.vs && s.vs->needs_data());
  if (needs_data) {
    core::info("loading {} data", config["data"]["dataset"].get<std::string>());
    s.data = data::load_data(config["data"]);
    core::throw_if_interrupted("data loading");
  }
  const auto ctx = estimator_context(config, *s.run.space, s.run.device, s.run.seed,
                                     needs_data ? &s.data : nullptr);
  s.estimator->attach(ctx);
  if (s.vs) s.vs->attach(ctx);
  s.run.build_objective(ctx.network.num_classes, ctx.network.in_channels,
                        ctx.network.input_size);
}

int64_t epochs_per_trial(const TrialState& s) {
  return s.estimator->epochs_per_estimate() + (s.vs ? s.vs->epochs_per_estimate() : 0);
}

int64_t passes_per_trial(const TrialState& s) {
  return s.estimator->passes_per_estimate() + (s.vs ? s.vs->passes_per_estimate() : 0);
}

void check_budget(const TrialState& s) {
  const auto& b = s.budget;
  if (b.trials == 0 && b.seconds == 0 && b.epochs == 0 && b.passes == 0 &&
      s.strategy->remaining() < 0) {
    throw ConfigError(
        "budget: expected a limit for the trial loop (budget.trials, budget.seconds, "
        "budget.epochs or budget.passes above 0), found none");
  }
  const auto never_ends = [&](const char* key, const char* what) {
    throw ConfigError(fmt::format(
        "budget.{}: the {} estimator spends no {}, so this budget never ends; set "
        "budget.trials or budget.seconds",
        key, s.run.config["estimator"]["name"].get<std::string>(), what));
  };
  if (b.epochs > 0 && epochs_per_trial(s) == 0) never_ends("epochs", "training epochs");
  if (b.passes > 0 && passes_per_trial(s) == 0) never_ends("passes", "forward+backward passes");
}

/// True when the next trial would exceed the budget (or nothing is left).
bool budget_spent(const TrialState& s) {
  const auto& b = s.budget;
  const auto& p = s.pos;
  return (b.trials > 0 && p.trials >= b.trials) ||
         (b.seconds > 0 && p.estimator_seconds >= b.seconds) ||
         (b.epochs > 0 && p.epochs + epochs_per_trial(s) > b.epochs) ||
         (b.passes > 0 && p.passes + passes_per_trial(s) > b.passes) ||
         s.strategy->remaining() == 0;
}

/// Estimated time left, from this process's mean time per trial.
std::string eta(const TrialState& s) {
  const int64_t done = s.pos.trials - s.trials_at_start;
  if (done <= 0) return "?";
  const double per_trial = core::seconds_since(s.start) / done;
  const double per_estimator_second =
      s.pos.estimator_seconds > 0 ? per_trial * s.pos.trials / s.pos.estimator_seconds : 0;
  double left = std::numeric_limits<double>::infinity();
  const auto& b = s.budget;
  if (b.trials > 0) left = std::min(left, per_trial * (b.trials - s.pos.trials));
  if (b.seconds > 0 && per_estimator_second > 0) {
    left = std::min(left, per_estimator_second * (b.seconds - s.pos.estimator_seconds));
  }
  if (b.epochs > 0 && s.pos.epochs > 0) {
    left = std::min(left, per_trial * s.pos.trials * (b.epochs - s.pos.epochs) / s.pos.epochs);
  }
  if (s.strategy->remaining() > 0) left = std::min(left, per_trial * s.strategy->remaining());
  if (!std::isfinite(left)) return "?";
  left = std::max(0.0, left);
  return left >= 3600 ? fmt::format("{:.0f}h{:02.0f}m", std::floor(left / 3600),
                                    std::fmod(left, 3600) / 60)
                      : fmt::format("{:.0f}m{:02.0f}s", std::floor(left / 60),
                                    std::fmod(left, 60));
}

/// Runs the estimator quietly (its own progress lines only with -v).
estimators::Estimate estimate(estimators::PerformanceEstimator& e,
                              const search_space::Architecture& arch, uint64_t seed) {
  core::seed_everything(seed);
  const int verbosity = core::verbosity();
  if (verbosity < 2) core::set_verbosity(0);
  auto result = e.evaluate(arch, {});
  core::set_verbosity(verbosity);
  return result;
}

/// Records one trial: counters, best so far, its trials.jsonl line.
void record(TrialState& s, const search_space::Architecture& arch, const nlohmann::json& info,
            const estimators::Estimate& e, const estimators::Estimate* vs, double score) {
  auto& p = s.pos;
  const auto text = s.run.space->format(arch);
  const bool ok = e.ok && (vs == nullptr || vs->ok);
  p.estimator_seconds += e.seconds + (vs != nullptr ? vs->seconds : 0);
  p.epochs += e.epochs + (vs != nullptr ? vs->epochs : 0);
  p.passes += e.passes + (vs != nullptr ? vs->passes : 0);
  p.failed += ok ? 0 : 1;
  p.failures_in_a_row = ok ? 0 : p.failures_in_a_row + 1;
  if (e.ok && score > p.best_score) {
    p.best_score = score;
    p.best_trial = p.trials;
    p.best_arch = text;
    p.best_estimate = e.to_json();
  }
  if (ok && vs != nullptr) {
    p.scores.push_back(e.score);
    p.vs_scores.push_back(vs->score);
  }
  nlohmann::json line = {{"trial", p.trials}, {"arch", text}};
  line.update(info);
  line["ok"] = e.ok;
  line["estimate"] = e.to_json();
  line["fidelity"] = e.fidelity;
  line["score"] = e.ok ? nlohmann::json(score) : nlohmann::json();
  if (!s.run.objective.empty()) line["costs"] = s.run.objective.report({}, arch);
  if (vs != nullptr) line["vs"] = vs->to_json();
  line["seconds"] = e.seconds + (vs != nullptr ? vs->seconds : 0);
  line["best_trial"] = p.best_trial >= 0 ? nlohmann::json(p.best_trial) : nlohmann::json();
  s.run.dir.append_log(line);
  ++p.trials;
}

std::string describe_estimate(const estimators::Estimate& e) {
  if (!e.ok) return fmt::format("failed: {}", e.message);
  return fmt::format("{} {:.4g}", e.metric, e.value);
}

/// One trial; false when interrupted (the last checkpoint resumes it).
bool run_trial(TrialState& s) {
  auto& p = s.pos;
  const auto arch = s.strategy->propose();
  const auto info = s.strategy->proposal_info();
  const auto trial_seed = core::mix_seed(s.run.seed, 1000003 + p.trials);
  const auto e = estimate(*s.estimator, arch, trial_seed);
  if (e.interrupted) return false;
  estimators::Estimate vs_e;
  if (s.vs) {
    vs_e = estimate(*s.vs, arch, trial_seed);
    if (vs_e.interrupted) return false;
  }
  const auto& objective = s.run.objective;
  const double penalty = objective.selects() ? objective.penalty(arch) : 0.0;
  const double score = e.ok ? e.score - penalty : kNoScore;
  s.strategy->tell({arch, e.ok, score});
  record(s, arch, info, e, s.vs ? &vs_e : nullptr, score);
  save_checkpoint(s);
  core::info("trial {}{} | {}{} ({:.1f}s) | best {:.4g} (trial {}) | ETA {} | {}", p.trials,
             s.budget.trials > 0 ? fmt::format("/{}", s.budget.trials) : "",
             describe_estimate(e), s.vs ? " | vs " + describe_estimate(vs_e) : "", e.seconds,
             p.best_trial >= 0 ? p.best_score : std::nan(""), p.best_trial + 1, eta(s),
             s.run.space->format(arch));
  if (s.budget.max_failures_in_a_row > 0 &&
      p.failures_in_a_row >= s.budget.max_failures_in_a_row) {
    throw Error(fmt::format(
        "{} trials in a row failed (budget.max_failures_in_a_row); the last: {}. Every trial is "
        "in {}; fix the cause and resume with `nas search --resume {}`",
        p.failures_in_a_row, e.ok ? vs_e.message : e.message,
        s.run.dir.file(s.run.dir.log()), s.run.dir.path()));
  }
  return true;
}

nlohmann::json write_result(TrialState& s) {
  const auto& p = s.pos;
  if (p.best_trial < 0) {
    throw Error(fmt::format("no trial succeeded ({} failed; see {})", p.failed,
                            s.run.dir.file(s.run.dir.log())));
  }
  const auto& config = s.run.config;
  auto result = s.run.result(s.run.space->parse(p.best_arch));
  result.update({{"estimator", config["estimator"]["name"]},
                 {"estimate", p.best_estimate},
                 {"score", p.best_score},
                 {"trial", p.best_trial},
                 {"trials", p.trials},
                 {"failed", p.failed},
                 {"estimator_seconds", p.estimator_seconds},
                 {"epochs_trained", p.epochs},
                 {"passes", p.passes}});
  if (s.vs) {
    const auto n = p.scores.size();
    result["rank"] = {
        {"estimator", config["estimator"]["name"]},
        {"vs", config["vs"]["name"]},
        {"n", n},
        {"kendall_tau", n >= 2 ? nlohmann::json(core::kendall_tau(p.scores, p.vs_scores))
                               : nlohmann::json()},
        {"spearman", n >= 2 ? nlohmann::json(core::spearman(p.scores, p.vs_scores))
                            : nlohmann::json()}};
  }
  s.run.write_result(result);
  return result;
}

}  // namespace

SearchOutcome run_trials(const nlohmann::json& config, bool resume,
                         const Registries& registries) {
  Run run(config, resume, registries, "trials.jsonl");
  TrialState s(run);
  s.budget = Budget::from_json(config["budget"]);
  build_trials(s, registries);
  check_budget(s);
  run.open([&s](torch::serialize::InputArchive& archive) { load_checkpoint(s, archive); });
  if (resume) {
    core::info("resuming {} after trial {}", run.dir.path(), s.pos.trials);
  } else {
    save_checkpoint(s);  // so a stop in the first trial resumes
  }
  s.trials_at_start = s.pos.trials;
  core::info("search: space {} strategy {} | estimator {}{} | budget: {} | {} threads on {}",
             run.space->name(), run.strategy_name(),
             config["estimator"]["name"].get<std::string>(),
             s.vs ? " vs " + config["vs"]["name"].get<std::string>() : "",
             config["budget"].dump(), run.threads, run.device.str());
  for (const auto& line : run.objective.describe()) core::info("{}", line);

  SearchOutcome outcome;
  outcome.run_dir = run.dir.path();
  while (!budget_spent(s)) {
    if (core::interrupted() || !run_trial(s)) {
      run.report_interrupted();
      outcome.interrupted = true;
      return outcome;
    }
  }
  outcome.result = write_result(s);
  return outcome;
}

}  // namespace nas::experiments
