#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace nas::tools {

/// What a launched copy gets in its environment beyond ours.
using ExtraEnv = std::map<std::string, std::string>;

/// Runs `n` copies of this program (/proc/self/exe) with `args`, copy i with
/// `env_of(i)` added to the environment, and waits for all of them.
/// SIGINT/SIGTERM are passed on to every copy (so Ctrl-C stops them as it
/// stops one). `stop_all_on_failure`: the first copy that fails has the
/// others stopped with SIGTERM, and SIGKILL 10 s later if still running (a
/// collective job cannot go on without it).
/// Returns 0 when every copy exited 0, otherwise the first failure's status
/// (128 + signal for a copy killed by a signal).
int run_copies(int n, const std::vector<std::string>& args,
               const std::function<ExtraEnv(int)>& env_of, bool stop_all_on_failure);

/// "--threads=T" with T = cores / n (at least 1): the copies' share of
/// this machine when the user gave no --threads.
std::string threads_per_copy(int64_t n);

/// `args` without the option `name` and its value (`--name V` or `--name=V`).
std::vector<std::string> without_option(const std::vector<std::string>& args,
                                        const std::string& name);

}  // namespace nas::tools
