#include "tools/launch.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <csignal>
#include <cstring>

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

extern char** environ;

namespace nas::tools {

namespace {

volatile std::sig_atomic_t g_signal = 0;
void remember(int sig) {
  g_signal = sig;
}

pid_t spawn_copy(const std::vector<std::string>& args, const ExtraEnv& extra) {
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    if (extra.count(name) == 0) env_text.push_back(entry);
  }
  for (const auto& [name, value] : extra) env_text.push_back(name + "=" + value);
  std::vector<char*> argv{const_cast<char*>("nas")};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) throw Error(fmt::format("cannot start a copy of nas: {}", std::strerror(rc)));
  return pid;
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int run_copies(int n, const std::vector<std::string>& args,
               const std::function<ExtraEnv(int)>& env_of, bool stop_all_on_failure) {
  struct sigaction act {};
  act.sa_handler = remember;  // no SA_RESTART: waitpid returns to pass the signal on
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &act, &old_int);
  ::sigaction(SIGTERM, &act, &old_term);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) pids.push_back(spawn_copy(args, env_of(i)));
  auto signal_all = [&](int sig) {
    for (const auto pid : pids) {
      if (pid > 0) ::kill(pid, sig);
    }
  };
  int result = 0;
  // After a failure the others get SIGTERM (they save what they can), and
  // SIGKILL if they are still there `kGrace` later (a rank blocked in a
  // collective with a dead peer waits for its timeout otherwise).
  constexpr auto kGrace = std::chrono::seconds(10);
  std::chrono::steady_clock::time_point kill_at = std::chrono::steady_clock::time_point::max();
  for (int left = n; left > 0;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (g_signal != 0) signal_all(g_signal);
      g_signal = 0;
      if (std::chrono::steady_clock::now() >= kill_at) signal_all(SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    for (auto& p : pids) {
      if (p != pid) continue;
      p = -1;
      --left;
      const int code = exit_status(status);
      if (code != 0 && result == 0) {
        result = code;
        if (stop_all_on_failure) {
          signal_all(SIGTERM);
          kill_at = std::chrono::steady_clock::now() + kGrace;
        }
      }
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

std::string threads_per_copy(int64_t n) {
  const auto cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  return fmt::format("--threads={}", std::max<int64_t>(1, cores / std::max<int64_t>(1, n)));
}

std::vector<std::string> without_option(const std::vector<std::string>& args,
                                        const std::string& name) {
  std::vector<std::string> rest;
  const auto flag = "--" + name;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag) {
      ++i;  // and its value
    } else if (args[i].rfind(flag + "=", 0) != 0) {
      rest.push_back(args[i]);
    }
  }
  return rest;
}

}  // namespace nas::tools
