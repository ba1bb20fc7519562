#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/config.h"
#include "experiments/run.h"

namespace nas::experiments {

/// Runs a search from a resolved config into its run directory (`out`, or
/// runs/<space>-<strategy>-seed<seed>): config.json, env.json, one log.jsonl
/// line per epoch, checkpoint.pt after every epoch (and on SIGINT/SIGTERM),
/// result.json at the end. Trial strategies (random, evolution, list) run
/// in the trial loop instead (`trials.h`): one trials.jsonl line and a checkpoint per
/// trial. `resume`: continue the run in `out` from its
/// checkpoint. A non-finite loss stops the run with an Error; the last
/// checkpoint stays.
SearchOutcome run_search(const nlohmann::json& config, bool resume,
                         const Registries& registries);

}  // namespace nas::experiments
