#include "experiments/run_dir.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"
#include "core/runtime.h"

namespace nas::experiments {

namespace fs = std::filesystem;

bool RunDir::has(const std::string& name) const { return fs::exists(file(name)); }

void RunDir::create(bool resume) const {
  if (!resume && has("config.json")) {
    throw ConfigError(fmt::format(
        "{} already holds a run (config.json exists); use --resume {} to "
        "continue it, or --out to choose another directory",
        path_, path_));
  }
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) {
    throw Error(fmt::format("cannot create run directory {}: {}", path_,
                            ec.message()));
  }
}

void RunDir::start(const nlohmann::json& config, bool resuming,
                   const torch::Device& device, int threads,
                   uint64_t seed) const {
  if (!resuming) {
    truncate_log(0);
    core::write_json_file(file("config.json"), config);
  }
  auto env = core::environment_info(device, threads);
  env["seed"] = seed;
  env["command_line"] = command_line();
  env["resumed"] = resuming;
  core::write_json_file(file(resuming ? "env.resume.json" : "env.json"), env);
}

int64_t RunDir::log_lines() const {
  std::ifstream in(file("log.jsonl"));
  int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ++n;
  }
  return n;
}

void RunDir::truncate_log(int64_t lines) const {
  if (!has("log.jsonl")) return;
  std::ifstream in(file("log.jsonl"));
  std::ostringstream kept;
  std::string line;
  for (int64_t n = 0; n < lines && std::getline(in, line);) {
    if (line.empty()) continue;
    kept << line << "\n";
    ++n;
  }
  in.close();
  core::write_text_file(file("log.jsonl"), kept.str());
}

namespace {
std::string g_command_line;
volatile std::sig_atomic_t g_interrupted = 0;
int64_t g_countdown = 0;
void on_signal(int) { g_interrupted = 1; }
}  // namespace

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    if (i > 0) g_command_line += ' ';
    g_command_line += argv[i];
  }
}

const std::string& command_line() { return g_command_line; }

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() {
  if (g_countdown > 0 && --g_countdown == 0) g_interrupted = 1;
  return g_interrupted != 0;
}
void request_interrupt(bool value) { g_interrupted = value ? 1 : 0; }
void request_interrupt_after(int64_t polls) {
  g_interrupted = 0;
  g_countdown = polls;
}

torch::Device setup_runtime(const nlohmann::json& config, int* threads_out) {
  const auto device = core::parse_device(core::option<std::string>(config, "device"));
  const int threads = core::set_threads(core::option<int>(config, "threads"));
  if (threads_out != nullptr) *threads_out = threads;
  return device;
}

}  // namespace nas::experiments
