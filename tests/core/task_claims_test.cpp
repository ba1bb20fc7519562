#include "core/task_claims.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nas::core {
namespace {

namespace fs = std::filesystem;

struct ClaimDir {
  std::string path;
  ClaimDir() {
    static int n = 0;
    path = (fs::temp_directory_path() /
            ("nas-claims-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
               .string();
    fs::remove_all(path);
  }
  ~ClaimDir() { fs::remove_all(path); }
};

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

/// A claim left by a worker that died: a file nobody rewrites.
void dead_claim(const std::string& dir, const std::string& name) {
  fs::create_directories(dir);
  std::ofstream(dir + "/" + name) << "gone-host:1 000000000007\n";
}

TEST(TaskClaims, OneHolderAtATimeAndALiveClaimIsNeverTaken) {
  ClaimDir d;
  TaskClaims a(d.path, 1.0), b(d.path, 1.0);
  auto held = a.try_claim("darts.seed0");
  ASSERT_TRUE(held);
  EXPECT_TRUE(fs::exists(d.path + "/darts.seed0.0"));
  EXPECT_FALSE(b.try_claim("darts.seed0"));
  EXPECT_TRUE(b.try_claim("darts.seed1"));  // another task is free (and released at once)
  for (int i = 0; i < 6; ++i) {             // well past the timeout: the heartbeat keeps it
    sleep_s(0.4);
    EXPECT_FALSE(b.try_claim("darts.seed0")) << "after " << 0.4 * (i + 1) << " s";
  }
  EXPECT_FALSE(held->lost());
  held.reset();  // released: the file is gone, the task free
  EXPECT_FALSE(fs::exists(d.path + "/darts.seed0.0"));
  EXPECT_TRUE(b.try_claim("darts.seed0"));
}

TEST(TaskClaims, ADeadClaimIsTakenOverAfterTheTimeoutOfTheObserversClock) {
  ClaimDir d;
  dead_claim(d.path, "evolution.seed3.0");
  TaskClaims b(d.path, 0.3);
  EXPECT_FALSE(b.try_claim("evolution.seed3"));  // first sight: watched from now
  sleep_s(0.1);
  EXPECT_FALSE(b.try_claim("evolution.seed3"));  // unchanged, but not for long enough
  sleep_s(0.3);
  auto taken = b.try_claim("evolution.seed3");
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->path(), d.path + "/evolution.seed3.1");
  EXPECT_FALSE(fs::exists(d.path + "/evolution.seed3.0"));  // the dead claim is cleared
  // A label with a dot does not mistake another task's files for its own.
  EXPECT_TRUE(b.try_claim("evolution"));
}

TEST(TaskClaims, AClaimOfAProcessOfThisMachineThatHasExitedIsTakenAtOnce) {
  ClaimDir d;
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // its pid names no process now
  const auto me = worker_id();
  fs::create_directories(d.path);
  std::ofstream(d.path + "/enas.seed2.0")
      << me.substr(0, me.rfind(':') + 1) << child << " 000000000003\n";
  TaskClaims b(d.path, 1000);
  EXPECT_TRUE(b.try_claim("enas.seed2"));
}

TEST(TaskClaims, OfManyWorkersTakingOverOneDeadClaimExactlyOneWins) {
  ClaimDir d;
  dead_claim(d.path, "random.seed0.4");
  constexpr int kWorkers = 8;
  std::vector<std::unique_ptr<TaskClaims>> workers;
  for (int i = 0; i < kWorkers; ++i) workers.push_back(std::make_unique<TaskClaims>(d.path, 0.2));
  for (auto& w : workers) EXPECT_FALSE(w->try_claim("random.seed0"));
  sleep_s(0.3);
  std::atomic<int> wins{0};
  std::vector<std::unique_ptr<TaskClaims::Claim>> held(kWorkers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) {
    threads.emplace_back([&, i] {
      held[i] = workers[i]->try_claim("random.seed0");
      if (held[i]) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_TRUE(fs::exists(d.path + "/random.seed0.5"));
}

TEST(TaskClaims, AHolderTakenForDeadLearnsItAtItsNextHeartbeat) {
  ClaimDir d;
  TaskClaims a(d.path, 0.4);
  std::atomic<int> told{0};
  auto held = a.try_claim("gdas.seed1", [&] { ++told; });
  ASSERT_TRUE(held);
  dead_claim(d.path, "gdas.seed1.1");  // as a worker that saw it frozen would
  for (int i = 0; i < 40 && !held->lost(); ++i) sleep_s(0.05);
  EXPECT_TRUE(held->lost());
  EXPECT_EQ(told.load(), 1);
  held.reset();
  EXPECT_TRUE(fs::exists(d.path + "/gdas.seed1.1"));  // the new holder's claim stays
}

TEST(TaskClaims, TheTimeoutMustBePositive) {
  ClaimDir d;
  EXPECT_THROW(TaskClaims(d.path, 0), std::exception);
  EXPECT_THROW(TaskClaims(d.path, -1), std::exception);
}

}  // namespace
}  // namespace nas::core
