#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/config.h"

namespace nas::experiments {

/// Trains the architecture `config.arch` (text in the space's format) from
/// scratch as the reference evaluation does, into a run directory (`out`,
/// or runs/train-<space>-seed<seed>): config.json, env.json, log.jsonl (one
/// line per epoch), weights.pt, result.json (arch, test accuracy, params).
/// `resume`: continue the run in `out` from its checkpoint.pt (saved after
/// every epoch). On SIGINT/SIGTERM the run stops and returns
/// {"interrupted": true}; resuming repeats the unfinished epoch exactly.
nlohmann::json run_train(const nlohmann::json& config,
                         const Registries& registries, bool resume = false);

}  // namespace nas::experiments
