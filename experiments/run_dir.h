#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "core/dir_lock.h"
#include "core/interrupt.h"

namespace nas::core {
class EventFile;
}

namespace nas::experiments {

/// A run directory: config.json, env.json, the log (log.jsonl: one line
/// per epoch of a one-shot search; trials.jsonl: one line per trial),
/// checkpoint.pt, result.json (see README, "A run directory").
class RunDir {
 public:
  explicit RunDir(std::string path, std::string log = "log.jsonl")
      : path_(std::move(path)), log_(std::move(log)) {}
  /// The log's file name.
  const std::string& log() const { return log_; }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  bool has(const std::string& name) const;

  /// What may happen to this directory, checked before any work: a new run
  /// needs a directory that does not exist or is empty (anything else —
  /// another run, a stray file, a dangling link — is refused, so nothing is
  /// ever overwritten); a resume needs config.json and checkpoint.pt and no
  /// result.json (a finished run has nothing left to do). ConfigError that
  /// says what was found and what to do instead.
  void check(bool resume) const;
  /// check(), then creates the directory and locks it (core::DirLock, held
  /// as long as this RunDir or a copy of it lives): a second process that
  /// tries to write the same run meanwhile is refused.
  void create(bool resume) const;

  /// Records the start of a run: config.json and an empty log for a
  /// new run, and env.json (env.resume.json when resuming) with the
  /// environment, the seed and the command line.
  void start(const nlohmann::json& config, bool resuming,
             const torch::Device& device, int threads, uint64_t seed) const;

  /// Appends one line to the log and, with TensorBoard on, its numbers as
  /// scalars at step = the line's index to this process's event file
  /// (core::EventFile; a resumed run starts a new file that tells
  /// TensorBoard to drop the older files' steps from its first line on).
  void append_log(const nlohmann::json& line) const;
  /// Writes TensorBoard event files beside the log (config `log.tensorboard`).
  void set_tensorboard(bool on) { tensorboard_ = on; }
  /// Whether this process writes the directory: false on the ranks other
  /// than 0 of a data-parallel search, which read it (a resume's
  /// checkpoint) but leave create, start, append_log and truncate_log,
  /// and the run's checkpoints and result, to rank 0.
  void set_writer(bool on) { writer_ = on; }
  bool writer() const { return writer_; }

  /// Keeps the first `lines` lines of the log (after a resume).
  void truncate_log(int64_t lines) const;
  int64_t log_lines() const;
  /// CRC-32 of the log's first `lines` non-empty lines (a checkpoint keeps
  /// it, so a resume can tell an edited or truncated log).
  int64_t log_crc(int64_t lines) const;

 private:
  std::string path_;
  std::string log_;
  mutable std::shared_ptr<core::DirLock> lock_;
  bool tensorboard_ = false;
  bool writer_ = true;
  mutable std::shared_ptr<core::EventFile> events_;
  /// What has been read of the log so far (it only grows between
  /// checkpoints): complete lines, their CRC and the bytes they take, so
  /// each checkpoint reads only the new lines.
  struct LogScan {
    int64_t lines = 0;
    int64_t crc = 0;
    int64_t bytes = 0;
  };
  mutable LogScan scan_;
  void scan_log() const;
};

/// The command line of this process, for env.json.
void set_command_line(int argc, char** argv);
const std::string& command_line();

// The interrupt flag lives in core/ (strategies poll it too).
using core::install_interrupt_handlers;
using core::interrupted;
using core::request_interrupt;
using core::request_interrupt_after;

/// Applies --threads and --device from a resolved config; returns the
/// device and writes the thread count actually set into `threads_out`.
torch::Device setup_runtime(const nlohmann::json& config, int* threads_out);

}  // namespace nas::experiments
