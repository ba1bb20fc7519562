#pragma once

#include <nlohmann/json.hpp>

#include "experiments/config.h"
#include "experiments/run.h"

namespace nas::experiments {

/// The trial loop, for trial (black-box) strategies: each proposal is
/// estimated (`estimator`), appended to trials.jsonl and checkpointed,
/// within `budget`; with `vs`, the rank correlation of the two estimators
/// goes into result.json. `run_search` calls it for trial strategies.
SearchOutcome run_trials(const nlohmann::json& config, bool resume,
                         const Registries& registries);

}  // namespace nas::experiments
