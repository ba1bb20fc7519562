#pragma once

// Shared by the experiments tests: temporary run directories, a tiny search
// config on synthetic data, the interrupt guard and a log reader.

#include <unistd.h>

#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_io.h"
#include "experiments/config.h"
#include "experiments/run_dir.h"

namespace nas::experiments {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("naskit_run_" + std::to_string(::getpid()) + "_" + std::to_string(salt_) + "_" +
             std::to_string(n_++));
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int n_ = 0;
  static inline const unsigned salt_ = std::random_device{}();  // per test file
};

[[maybe_unused]] nlohmann::json tiny_config(const std::string& out, int64_t seed) {
  nlohmann::json layer = {
      {"seed", seed},
      {"threads", 1},
      {"epochs", 2},
      {"out", out},
      {"network", {{"C", 2}, {"layers", 3}}},
      {"data",
       {{"dataset", "synthetic"},
        {"batch", 16},
        {"synthetic",
         {{"train_size", 128}, {"channels", 1}, {"size", 8}, {"classes", 3}}}}},
  };
  return resolve_config(search_defaults(), {layer}, builtin_registries());
}

/// Clears the interrupt flag and any pending countdown when a test ends,
/// even a failed one, so no interrupt leaks into the next test.
struct InterruptGuard {
  ~InterruptGuard() { request_interrupt(false); }
};

/// A run's log (log.jsonl, or trials.jsonl) without the wall-clock and
/// memory fields.
[[maybe_unused]] std::vector<nlohmann::json> log_of(const std::string& dir,
                                                     const std::string& log = "log.jsonl") {
  std::vector<nlohmann::json> lines;
  std::istringstream in(core::read_text_file(dir + "/" + log));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("seconds");
    j.erase("peak_rss_mib");
    lines.push_back(j);
  }
  return lines;
}

}  // namespace
}  // namespace nas::experiments
