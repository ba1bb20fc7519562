#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/config.h"

namespace nas::experiments {

/// A study: several strategies on one space, data and budget rule, each
/// over several seeds, every answer evaluated the same way (see README,
/// "Studies"). Its directory:
///
///   study.json                 the resolved study config
///   study.jsonl                one line per finished task (search, evaluation),
///                              with the worker ("host:pid") that did it
///   claims/<label>.seed<k>.<g> a worker's claim on a run while it works on it
///   runs/<label>/seed<k>/      an ordinary run directory (`nas search --resume`
///                              works on it) + evaluation.json, or error.json
///   report.md, report.json, figures/*.svg   (`nas study report`)

/// Every key a study config may set, with its default.
nlohmann::json study_defaults();

/// Merges `layers` over the defaults (unknown keys fail with their path),
/// checks every value and builds every run's config once, so a mistake in
/// any strategy's options fails before the first run.
nlohmann::json resolve_study(const std::vector<nlohmann::json>& layers,
                             const Registries& registries);

/// One (strategy, seed) search of a study.
struct StudyRun {
  std::string label;   ///< the strategy entry's label (its name by default)
  int64_t seed = 0;
  std::string recipe;  ///< the preset layered under the study's settings, or ""
  std::string dir;     ///< <out>/runs/<label>/seed<seed>
  nlohmann::json config;  ///< the resolved search config
};

/// The runs of a resolved study writing into `out`, strategy by strategy.
std::vector<StudyRun> plan_study(const nlohmann::json& study, const std::string& out,
                                 const Registries& registries);

/// The search config layer a study's budget rule adds to one run.
nlohmann::json budget_layer(const nlohmann::json& budget, bool trial_strategy);

struct StudyOutcome {
  bool interrupted = false;
  int64_t searches = 0, evaluations = 0;  ///< finished (now or before)
  int64_t failed = 0;                     ///< searches or evaluations that failed
};

/// How a worker comes to its study directory.
enum class StudyStart {
  create,  ///< `out` must be new or empty
  resume,  ///< `out` holds the study (its study.json was loaded)
  join,    ///< either: creates the study, or joins the same study already in `out`
};

/// Seconds a claim may go without a heartbeat before another worker takes
/// its run over (`nas study run --claim-timeout`).
constexpr double kDefaultClaimTimeout = 120;

struct StudyRunOptions {
  StudyStart start = StudyStart::create;
  double claim_timeout = kDefaultClaimTimeout;
};

/// One worker of the study in `out`: takes each unfinished run under a
/// claim (so any number of workers, on any machines sharing `out`, fill one
/// study and none runs a task another is running), searches it and
/// evaluates its answer, and waits while other live workers hold runs, so a
/// dead worker's run is resumed from its checkpoint by a survivor. A failed
/// run (an error, e.g. a NaN loss) is recorded in its error.json and the
/// study goes on; one that had failed before this worker started is tried
/// again. SIGINT/SIGTERM stops it with every finished piece kept. The
/// outcome counts the whole study's finished pieces, whoever did them.
StudyOutcome run_study(const nlohmann::json& study, const std::string& out,
                       const StudyRunOptions& options, const Registries& registries);

/// The same with `resume` selecting StudyStart::resume or ::create.
StudyOutcome run_study(const nlohmann::json& study, const std::string& out, bool resume,
                       const Registries& registries);

/// The study.json of a study directory, checked again (ConfigError naming
/// the file when it is not a study's).
nlohmann::json load_study(const std::string& dir, const Registries& registries);

}  // namespace nas::experiments
