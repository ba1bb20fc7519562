#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace nas::core {

/// "host:pid": who a worker is, in claims and logs.
std::string worker_id();

/// Exclusive claims on named tasks, shared by several worker processes on
/// one or several machines through a directory (on a shared filesystem for
/// a cluster). Nothing but files: no server, no flock (which some cluster
/// filesystems lack).
///
/// A claim on task T is the file `<dir>/T.<g>`, created with O_EXCL, so of
/// several workers that try generation g at once exactly one wins. Its
/// holder rewrites it every `heartbeat()` seconds ("worker beat-count").
/// A worker that sees the newest claim of T unchanged for `timeout` seconds
/// of its own clock (no clocks compared across machines) takes T over by
/// creating generation g+1, again with O_EXCL: a dead (SIGKILL, lost node)
/// or frozen worker's task is retried, by exactly one worker. A holder whose
/// claim was taken over learns it at its next heartbeat (`lost()`).
class TaskClaims {
 public:
  class Claim;

  /// `timeout_s` > 0: how long a claim may go without a heartbeat before it
  /// counts as dead. Creates `dir`.
  TaskClaims(std::string dir, double timeout_s);

  /// Claims `task` (a file-name-safe name) when it has no claim or only a
  /// dead one; nullptr when a live worker holds it or another worker won
  /// the race. Call it again later to watch a held claim for staleness.
  /// `on_lost` runs on the heartbeat thread if the claim is taken over.
  std::unique_ptr<Claim> try_claim(const std::string& task, std::function<void()> on_lost = {});

  /// Whether any claim file of `task` exists (live or dead).
  bool claimed(const std::string& task) const;

  double timeout() const { return timeout_; }
  /// The heartbeat period: an eighth of the timeout, within [0.1 s, 15 s].
  double heartbeat() const;

 private:
  struct Seen {
    std::string file, content;
    std::chrono::steady_clock::time_point since;
  };
  std::string dir_;
  double timeout_;
  std::map<std::string, Seen> seen_;  ///< per task: the newest claim and since when it is unchanged
};

/// A held claim: beats until destroyed, then removes its file.
class TaskClaims::Claim {
 public:
  Claim(std::string dir, std::string task, int64_t generation, int fd, double period,
        std::function<void()> on_lost);
  ~Claim();
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;

  /// True once another worker has taken the task over.
  bool lost() const { return lost_.load(); }
  const std::string& path() const { return path_; }

 private:
  void beat_loop();

  std::string dir_, task_, path_;
  int64_t generation_;
  int fd_;
  double period_;
  std::function<void()> on_lost_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread beat_;
};

}  // namespace nas::core
