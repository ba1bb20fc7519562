#include "core/task_claims.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <fmt/format.h>
#include <unistd.h>

#include "core/error.h"

namespace nas::core {

namespace fs = std::filesystem;

std::string worker_id() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "unknown-host");
  return fmt::format("{}:{}", host, ::getpid());
}

namespace {

/// The generations of `task`'s claim files in `dir`, ascending.
std::vector<int64_t> generations(const std::string& dir, const std::string& task) {
  std::vector<int64_t> gens;
  const auto prefix = task + ".";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const auto rest = name.substr(prefix.size());
    if (rest.size() > 15 ||
        !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    gens.push_back(std::stoll(rest));
  }
  std::sort(gens.begin(), gens.end());
  return gens;
}

std::string claim_path(const std::string& dir, const std::string& task, int64_t gen) {
  return fmt::format("{}/{}.{}", dir, task, gen);
}

/// A claim file's text; "" when it is gone or not readable.
std::string read_claim(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Rewrites the claim in place, the same length every time, and flushes it
/// to the filesystem (other machines read it through theirs).
void write_beat(int fd, int64_t beats) {
  const auto text = fmt::format("{} {:012d}\n", worker_id(), beats);
  if (::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
    ::fdatasync(fd);
  }
}

/// Whether a claim's holder ("host:pid beats") is a process of this
/// machine that no longer exists: taken over at once (a killed worker's run
/// resumes without waiting out the timeout). A reused pid only delays that
/// to the timeout.
bool holder_is_gone(const std::string& content) {
  const auto colon = content.rfind(':', content.find(' '));
  const auto me = worker_id();
  if (colon == std::string::npos || content.compare(0, colon + 1, me, 0, me.rfind(':') + 1) != 0) {
    return false;
  }
  const long pid = std::strtol(content.c_str() + colon + 1, nullptr, 10);
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

TaskClaims::TaskClaims(std::string dir, double timeout_s)
    : dir_(std::move(dir)), timeout_(timeout_s) {
  if (!(timeout_s > 0)) {
    throw ConfigError(fmt::format("claim timeout: expected seconds > 0, found {}", timeout_s));
  }
  fs::create_directories(dir_);
}

bool TaskClaims::claimed(const std::string& task) const { return !generations(dir_, task).empty(); }

double TaskClaims::heartbeat() const {
  return std::clamp(timeout_ / 8.0, 0.1, 15.0);
}

std::unique_ptr<TaskClaims::Claim> TaskClaims::try_claim(const std::string& task,
                                                         std::function<void()> on_lost) {
  const auto gens = generations(dir_, task);
  int64_t next = 0;
  if (!gens.empty()) {
    const auto newest = claim_path(dir_, task, gens.back());
    const auto content = read_claim(newest);
    const auto now = std::chrono::steady_clock::now();
    auto& seen = seen_[task];
    if (holder_is_gone(content)) {
      next = gens.back() + 1;  // a process of this machine that has exited
    } else if (seen.file != newest || seen.content != content) {
      seen = {newest, content, now};  // alive (or first seen): watch it from now
      return nullptr;
    } else if (std::chrono::duration<double>(now - seen.since).count() < timeout_) {
      return nullptr;
    } else {
      next = gens.back() + 1;  // no heartbeat for the timeout: dead, take it over
    }
  }
  const auto path = claim_path(dir_, task, next);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return nullptr;  // another worker won
    throw Error(fmt::format("cannot create the claim {}: {}", path, std::strerror(errno)));
  }
  write_beat(fd, 0);
  seen_.erase(task);
  for (const auto g : gens) fs::remove(claim_path(dir_, task, g));  // the dead claims
  return std::make_unique<Claim>(dir_, task, next, fd, heartbeat(), std::move(on_lost));
}

TaskClaims::Claim::Claim(std::string dir, std::string task, int64_t generation, int fd,
                         double period, std::function<void()> on_lost)
    : dir_(std::move(dir)),
      task_(std::move(task)),
      path_(claim_path(dir_, task_, generation)),
      generation_(generation),
      fd_(fd),
      period_(period),
      on_lost_(std::move(on_lost)) {
  beat_ = std::thread([this] { beat_loop(); });
}

TaskClaims::Claim::~Claim() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  beat_.join();
  ::close(fd_);
  if (!lost_) fs::remove(path_);
}

void TaskClaims::Claim::beat_loop() {
  const auto period = std::chrono::duration<double>(period_);
  for (int64_t beats = 1;; ++beats) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, period, [this] { return stop_; })) return;
    lock.unlock();
    const auto gens = generations(dir_, task_);
    const bool mine = std::find(gens.begin(), gens.end(), generation_) != gens.end();
    if (!lost_ && (!mine || gens.back() > generation_)) {  // taken over
      lost_ = true;
      if (on_lost_) on_lost_();
    }
    if (!lost_) write_beat(fd_, beats);
  }
}

}  // namespace nas::core
