#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace nas::experiments {

/// A run directory: config.json, env.json, log.jsonl, checkpoint.pt,
/// result.json (see README, "A run directory").
class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  bool has(const std::string& name) const;

  /// Creates the directory. A directory that already holds a run is a
  /// ConfigError (nothing is overwritten) unless `resume`.
  void create(bool resume) const;

  /// Records the start of a run: config.json and an empty log.jsonl for a
  /// new run, and env.json (env.resume.json when resuming) with the
  /// environment, the seed and the command line.
  void start(const nlohmann::json& config, bool resuming,
             const torch::Device& device, int threads, uint64_t seed) const;

  /// Keeps the first `lines` lines of log.jsonl (after a resume).
  void truncate_log(int64_t lines) const;
  int64_t log_lines() const;

 private:
  std::string path_;
};

/// The command line of this process, for env.json.
void set_command_line(int argc, char** argv);
const std::string& command_line();

/// SIGINT/SIGTERM set a flag the loops poll: the run saves a checkpoint at
/// the current step and stops, so an interrupted run loses nothing.
void install_interrupt_handlers();
bool interrupted();
/// Test hook: request an interrupt as if a signal arrived.
void request_interrupt(bool value = true);
/// Test hook: act as if a signal arrived at the `polls`-th poll from now.
void request_interrupt_after(int64_t polls);

/// Applies --threads and --device from a resolved config; returns the
/// device and writes the thread count actually set into `threads_out`.
torch::Device setup_runtime(const nlohmann::json& config, int* threads_out);

}  // namespace nas::experiments
