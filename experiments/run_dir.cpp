#include "experiments/run_dir.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/event_file.h"
#include "core/json_io.h"
#include "core/options.h"
#include "core/runtime.h"

namespace nas::experiments {

namespace fs = std::filesystem;

bool RunDir::has(const std::string& name) const { return fs::exists(file(name)); }

namespace {

/// True when `dir` holds nothing, or nothing but the lock file a run that
/// was stopped before its config.json left behind.
bool empty_but_lock(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != core::DirLock::kFile) return false;
  }
  return true;
}

}  // namespace

void RunDir::check(bool resume) const {
  std::error_code ec;
  const auto status = fs::symlink_status(path_, ec);
  const bool exists = !ec && fs::exists(status);
  if (!resume) {
    if (!exists) return;
    if (!fs::is_directory(fs::status(path_, ec))) {
      throw ConfigError(fmt::format("--out {}: exists and is not a directory", path_));
    }
    if (empty_but_lock(path_)) return;
    if (has("config.json")) {
      throw ConfigError(fmt::format(
          "{} already holds a run (config.json exists); use --resume {} to continue it, "
          "or --out to choose another directory",
          path_, path_));
    }
    throw ConfigError(fmt::format(
        "--out {}: the directory is not empty and holds no run; choose another --out "
        "(or empty it): naskit never writes over files it did not make",
        path_));
  }
  if (!exists || !fs::exists(file("config.json"))) {
    throw ConfigError(fmt::format("--resume {}: no {} (not a run directory)", path_,
                                  file("config.json")));
  }
  if (has("result.json")) {
    throw ConfigError(fmt::format(
        "--resume {}: the run has finished (result.json exists); nothing to resume. "
        "Start a new run with another --out",
        path_));
  }
  if (!has("checkpoint.pt")) {
    throw ConfigError(fmt::format(
        "--resume {}: no checkpoint.pt (the run stopped before its first checkpoint, or "
        "the file was removed); nothing can be resumed. Start the run again with another "
        "--out",
        path_));
  }
}

void RunDir::create(bool resume) const {
  if (!writer_) return;
  check(resume);
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) {
    throw Error(fmt::format("cannot create run directory {}: {}", path_,
                            ec.message()));
  }
  lock_ = std::make_shared<core::DirLock>(path_, "run directory");
  // Checked again under the lock: another process may have started a run
  // here between the first check and the lock.
  check(resume);
}

void RunDir::start(const nlohmann::json& config, bool resuming,
                   const torch::Device& device, int threads,
                   uint64_t seed) const {
  if (!writer_) return;
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

namespace {

uLong crc_of_line(uLong crc, const std::string& line) {
  crc = crc32(crc, reinterpret_cast<const Bytef*>(line.data()), static_cast<uInt>(line.size()));
  return crc32(crc, reinterpret_cast<const Bytef*>("\n"), 1);
}

}  // namespace

void RunDir::scan_log() const {
  std::ifstream in(file(log_), std::ios::binary);
  if (!in) {
    scan_ = LogScan{0, static_cast<int64_t>(crc32(0L, Z_NULL, 0)), 0};
    return;
  }
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  if (size < scan_.bytes || scan_.bytes == 0) {  // rewritten (or first look): from the start
    scan_ = LogScan{0, static_cast<int64_t>(crc32(0L, Z_NULL, 0)), 0};
  }
  in.seekg(scan_.bytes);
  uLong crc = static_cast<uLong>(scan_.crc);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a line still being written: not counted yet
    scan_.bytes += static_cast<int64_t>(line.size()) + 1;
    if (line.empty()) continue;
    crc = crc_of_line(crc, line);
    ++scan_.lines;
  }
  scan_.crc = static_cast<int64_t>(crc);
}

void RunDir::append_log(const nlohmann::json& line) const {
  if (!writer_) return;
  const auto step = tensorboard_ ? log_lines() : 0;
  core::append_json_line(file(log_), line);
  if (!tensorboard_) return;
  if (!events_) {
    events_ = std::make_shared<core::EventFile>(path_);
    // NOTE: a resumed run redoes the steps from its checkpoint on; earlier
    // files may hold some of them (written after that checkpoint by the
    // killed process), so TensorBoard is told to drop them.
    if (step > 0) events_->session_start(step);
  }
  events_->scalars(step, core::json_scalars(line));
}

int64_t RunDir::log_lines() const {
  scan_log();
  return scan_.lines;
}

int64_t RunDir::log_crc(int64_t lines) const {
  scan_log();
  if (lines == scan_.lines) return scan_.crc;
  std::ifstream in(file(log_));
  uLong crc = crc32(0L, Z_NULL, 0);
  std::string line;
  for (int64_t n = 0; n < lines && std::getline(in, line);) {
    if (line.empty()) continue;
    crc = crc_of_line(crc, line);
    ++n;
  }
  return static_cast<int64_t>(crc);
}

void RunDir::truncate_log(int64_t lines) const {
  if (!writer_) return;
  if (!has(log_)) return;
  std::ifstream in(file(log_));
  std::ostringstream kept;
  std::string line;
  for (int64_t n = 0; n < lines && std::getline(in, line);) {
    if (line.empty()) continue;
    kept << line << "\n";
    ++n;
  }
  in.close();
  core::write_text_file(file(log_), kept.str());
  scan_ = LogScan{};
}

namespace {
std::string g_command_line;
}  // namespace

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    if (i > 0) g_command_line += ' ';
    g_command_line += argv[i];
  }
}

const std::string& command_line() { return g_command_line; }

torch::Device setup_runtime(const nlohmann::json& config, int* threads_out) {
  const auto device = core::parse_device(core::option<std::string>(config, "device"));
  const int threads = core::set_threads(core::option<int>(config, "threads"));
  if (threads_out != nullptr) *threads_out = threads;
  return device;
}

}  // namespace nas::experiments
