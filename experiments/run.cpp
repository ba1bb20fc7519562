#include "experiments/run.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/runtime.h"

namespace nas::experiments {

std::string search_run_dir(const nlohmann::json& config) {
  auto out = core::option<std::string>(config, "out");
  if (!out.empty()) return out;
  return fmt::format("runs/{}-{}-seed{}", config["space"]["name"].get<std::string>(),
                     config["strategy"]["name"].get<std::string>(),
                     config["seed"].get<int64_t>());
}

Run::Run(const nlohmann::json& config_in, bool resume_in, const Registries& registries,
         const std::string& log, bool writer)
    : config(config_in), resume(resume_in), dir(search_run_dir(config_in), log) {
  dir.set_writer(writer);
  if (writer || resume) dir.check(resume);  // before any work
  dir.set_tensorboard(core::option<bool>(config["log"], "tensorboard"));
  device = setup_runtime(config, &threads);
  seed = core::option<uint64_t>(config, "seed");
  core::seed_everything(seed);
  space = registries.spaces.create(config["space"]["name"], config["space"]["options"]);
  rng = core::Rng(core::mix_seed(seed, 99));
}

std::string Run::strategy_name() const { return config["strategy"]["name"].get<std::string>(); }

void Run::build_objective(int64_t classes, int64_t channels, int64_t input_size) {
  auto sizes = space->eval_defaults();
  sizes.num_classes = classes;
  sizes.in_channels = channels;
  sizes.input_size = input_size;
  objective =
      hardware::CostObjective::from_config(config["objective"], *space, strategy_name(), sizes);
}

void Run::check_log(torch::serialize::InputArchive& archive, int64_t lines,
                    const std::string& checkpoint) const {
  const auto log = dir.file(dir.log());
  const auto found = dir.log_lines();
  if (found < lines) {
    throw ConfigError(fmt::format(
        "--resume {}: {} has {} lines, but {} was written after {} (the log was truncated or "
        "edited); the run cannot continue exactly. Start it again with another --out",
        dir.path(), log, found, checkpoint, lines));
  }
  torch::Tensor crc;
  if (!archive.try_read("log_crc", crc)) return;  // a checkpoint from before the check
  if (crc.item<int64_t>() != dir.log_crc(lines)) {
    throw ConfigError(fmt::format(
        "--resume {}: the first {} lines of {} are not those {} was written with (the log "
        "was edited); the run cannot continue exactly. Start it again with another --out",
        dir.path(), lines, log, checkpoint));
  }
}

void Run::open(const std::function<void(torch::serialize::InputArchive&)>& load) {
  dir.create(resume);
  if (resume) {
    const auto path = dir.file("checkpoint.pt");
    torch::serialize::InputArchive archive;
    core::load_checked(archive, path, device);
    core::check_fingerprint(archive, config, path);
    try {
      torch::Tensor seconds, log_lines;
      c10::IValue rng_state;
      archive.read("seconds", seconds);
      archive.read("log_lines", log_lines);
      archive.read("rng", rng_state);
      seconds_before_ = seconds.item<double>();
      check_log(archive, log_lines.item<int64_t>(), path);
      dir.truncate_log(log_lines.item<int64_t>());
      core::read_generators(archive, device);
      rng.set_state(rng_state.toStringRef());
      load(archive);
    } catch (const c10::Error& e) {
      throw Error(fmt::format("{}: the checkpoint does not fit this search ({})", path,
                              std::string(e.what_without_backtrace())));
    }
  }
  dir.start(config, resume, device, threads, seed);
}

void Run::save_checkpoint(const std::function<void(torch::serialize::OutputArchive&)>& save,
                          double seconds) const {
  if (!dir.writer()) return;
  torch::serialize::OutputArchive archive;
  save(archive);
  archive.write("seconds", torch::tensor(seconds < 0 ? elapsed() : seconds, torch::kFloat64));
  const auto lines = dir.log_lines();
  archive.write("log_lines", torch::tensor(lines, torch::kInt64));
  archive.write("log_crc", torch::tensor(dir.log_crc(lines), torch::kInt64));
  core::write_generators(archive, device);
  archive.write("rng", c10::IValue(rng.state()));
  core::write_fingerprint(archive, config);
  core::save_checked(archive, dir.file("checkpoint.pt"));
}

void Run::report_interrupted(const std::string& what) const {
  core::info("{}: checkpoint saved; continue with `nas search --resume {}`", what, dir.path());
}

double Run::elapsed() const {
  return seconds_before_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

nlohmann::json Run::result(const search_space::Architecture& answer,
                           const torch::Tensor& probs) const {
  nlohmann::json r = {
      {"arch", space->format(answer)},
      {"space", space->name()},
      {"strategy", strategy_name()},
      {"seed", config["seed"]},
      {"search_seconds", elapsed()},
      {"threads", threads},
      {"device", device.str()},
      {"peak_rss_mib", core::peak_rss_mib()},
  };
  if (!objective.empty()) {
    r["costs"] = objective.report(probs, answer);
    r["objective"] = config["objective"];
  }
  return r;
}

void Run::write_result(const nlohmann::json& result) const {
  if (!dir.writer()) return;
  core::write_json_file(dir.file("result.json"), result);
  core::info("result: {} (search {:.1f}s) -> {}", result["arch"].get<std::string>(), elapsed(),
             dir.file("result.json"));
}

estimators::EstimatorContext estimator_context(const nlohmann::json& config,
                                               const search_space::SearchSpace& space,
                                               torch::Device device, uint64_t seed,
                                               const data::DataPair* data) {
  estimators::EstimatorContext ctx;
  ctx.space = &space;
  ctx.device = device;
  ctx.seed = seed;
  ctx.data_options = config["data"];
  ctx.network = space.eval_defaults();
  ctx.network.C = core::option<int64_t>(config["network"], "C");
  ctx.network.layers = core::option<int64_t>(config["network"], "layers");
  ctx.network.cells_per_stage = core::option<int64_t>(config["network"], "cells_per_stage");
  ctx.network.width_mult = config["network"].value("width_mult", 0.0);
  ctx.network.auxiliary = false;
  if (data != nullptr) {
    ctx.data = data;
    ctx.network.num_classes = data->train.num_classes;
    ctx.network.in_channels = data->train.channels();
    ctx.network.input_size = data->train.height();
  }
  return ctx;
}

}  // namespace nas::experiments
