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
///   study.jsonl                one line per finished task (search, evaluation)
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

/// Runs every search of the study into `out` that has not finished, then
/// every evaluation. `resume`: `out` holds the study (its study.json is
/// used); otherwise `out` must be new or empty. A failed run (an error,
/// e.g. a NaN loss) is recorded in its error.json and the study goes on;
/// SIGINT/SIGTERM stops it with every finished piece kept.
StudyOutcome run_study(const nlohmann::json& study, const std::string& out, bool resume,
                       const Registries& registries);

/// The study.json of a study directory, checked again (ConfigError naming
/// the file when it is not a study's).
nlohmann::json load_study(const std::string& dir, const Registries& registries);

}  // namespace nas::experiments
