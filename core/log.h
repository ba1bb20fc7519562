#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace nas::core {

/// Elapsed seconds since `start` (a steady_clock time point).
double seconds_since(std::chrono::steady_clock::time_point start);

/// Verbosity: 0 quiet (errors only), 1 normal, 2 verbose.
void set_verbosity(int level);
int verbosity();

/// One line on stderr, prefixed with the elapsed wall time.
void log_line(const std::string& text);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (verbosity() >= 1) log_line(fmt::format(f, std::forward<Args>(args)...));
}

/// A progress line on stderr for long loops: redrawn in place on a terminal,
/// one line every ~10% otherwise (so CI logs stay short).
class Progress {
 public:
  Progress(std::string label, int64_t total);
  /// Advances to `done` steps and shows `status` (e.g. "loss 0.53 acc 81.2%").
  void update(int64_t done, const std::string& status);
  /// Ends the line.
  void finish(const std::string& status);

 private:
  std::string label_;
  int64_t total_;
  int last_decile_ = -1;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace nas::core
