#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/config.h"

namespace nas::experiments {

/// What a finished (or interrupted) search returns.
struct SearchOutcome {
  std::string run_dir;
  bool interrupted = false;
  nlohmann::json result;  ///< the content of result.json (when finished)
};

/// Runs a search from a resolved config into its run directory (`out`, or
/// runs/<space>-<strategy>-seed<seed>): config.json, env.json, one log.jsonl
/// line per epoch, checkpoint.pt after every epoch (and on SIGINT/SIGTERM),
/// result.json at the end. Trial strategies (random, evolution, list) run
/// in the trial loop instead: one trials.jsonl line and a checkpoint per
/// trial. `resume`: continue the run in `out` from its
/// checkpoint. A non-finite loss stops the run with an Error; the last
/// checkpoint stays.
SearchOutcome run_search(const nlohmann::json& config, bool resume,
                         const Registries& registries);

/// The run directory a config writes to.
std::string search_run_dir(const nlohmann::json& config);

/// The trial loop (experiments/trials.cpp), for trial strategies.
SearchOutcome run_trials(const nlohmann::json& config, bool resume,
                         const Registries& registries);

}  // namespace nas::experiments
