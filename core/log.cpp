#include "core/log.h"

#include <unistd.h>

#include <cstdio>

namespace nas::core {

namespace {
int g_verbosity = 1;
const auto g_start = std::chrono::steady_clock::now();
}  // namespace

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void set_verbosity(int level) { g_verbosity = level; }
int verbosity() { return g_verbosity; }

void log_line(const std::string& text) {
  fmt::print(stderr, "[{:7.1f}s] {}\n", seconds_since(g_start), text);
  std::fflush(stderr);
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t done, const std::string& status) {
  if (verbosity() < 1) return;
  const double elapsed = seconds_since(start_);
  const double eta = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  const std::string line =
      fmt::format("{} {:>5}/{} [{:5.1f}s, eta {:5.1f}s] {}", label_, done,
                  total_, elapsed, eta, status);
  if (tty_) {
    if (seconds_since(last_draw_) < 0.2 && done < total_) return;
    last_draw_ = std::chrono::steady_clock::now();
    fmt::print(stderr, "\r\033[K{}", line);
    std::fflush(stderr);
    return;
  }
  const int decile = static_cast<int>(10 * done / total_);
  if (decile != last_decile_ && decile < 10) {
    last_decile_ = decile;
    log_line(line);
  }
}

void Progress::finish(const std::string& status) {
  if (verbosity() < 1) return;
  if (tty_) fmt::print(stderr, "\r\033[K");
  log_line(fmt::format("{} done in {:.1f}s: {}", label_, seconds_since(start_),
                       status));
}

}  // namespace nas::core
