#pragma once

#include <string>

namespace nas::core {

/// An exclusive lock on a directory that naskit writes (a run or a study):
/// flock(2) on `<dir>/.nas.lock`, held until destruction. The kernel drops
/// it when the process ends however it ends (SIGKILL included), so a killed
/// run never leaves a stale lock behind; a second process that tries to
/// write the same directory meanwhile is refused.
class DirLock {
 public:
  /// The lock file's name inside the directory (which must exist).
  static constexpr const char* kFile = ".nas.lock";

  /// Takes the lock; ConfigError naming `dir`, `what` ("run directory",
  /// "study directory") and the other process's pid when it is held.
  DirLock(const std::string& dir, const std::string& what);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace nas::core
