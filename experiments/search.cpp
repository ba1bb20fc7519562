#include "experiments/search.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/source.h"
#include "experiments/run_dir.h"
#include "hardware/cost.h"

namespace nas::experiments {

namespace {

/// Sums of one epoch's step statistics (checkpointed mid-epoch).
struct EpochSums {
  double train_loss = 0, train_correct = 0, train_count = 0;
  double val_loss = 0, val_correct = 0, val_count = 0;

  void add(const strategies::StepStats& s) {
    train_loss += s.train_loss * s.train_count;
    train_correct += s.train_correct;
    train_count += s.train_count;
    val_loss += s.val_loss * s.val_count;
    val_correct += s.val_correct;
    val_count += s.val_count;
  }
  torch::Tensor to_tensor() const {
    return torch::tensor({train_loss, train_correct, train_count, val_loss,
                          val_correct, val_count},
                         torch::kFloat64);
  }
  static EpochSums from_tensor(const torch::Tensor& t) {
    const auto* p = t.data_ptr<double>();
    return {p[0], p[1], p[2], p[3], p[4], p[5]};
  }
  static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
  /// The ratio, or null when nothing was measured (single-level strategies
  /// have no validation batches during the search).
  static nlohmann::json maybe(double a, double b) {
    return b > 0 ? nlohmann::json(a / b) : nlohmann::json();
  }
};

/// Groups rows of architecture weights by cell type (the decision name's
/// first word), for the epoch log.
nlohmann::json group_weights(const std::vector<search_space::Decision>& decisions,
                             const nlohmann::json& rows) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < decisions.size() && i < rows.size(); ++i) {
    const auto& name = decisions[i].name;
    const auto group = name.substr(0, name.find(' '));
    out[group].push_back(rows[i]);
  }
  return out;
}

struct Position {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t val_step = 0;
  double seconds = 0;  // search time spent before this process
};

void save_checkpoint(const RunDir& dir, const search_space::SupernetImpl& net,
                     const strategies::SearchStrategy& strategy,
                     const core::Rng& rng, const Position& pos,
                     const EpochSums& sums, int64_t log_lines) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive net_archive;
  net.save(net_archive);
  archive.write("supernet", net_archive);
  torch::serialize::OutputArchive strategy_archive;
  strategy.save(strategy_archive);
  archive.write("strategy", strategy_archive);
  archive.write("position",
                torch::tensor({pos.epoch, pos.step, pos.val_step, log_lines},
                              torch::kInt64));
  archive.write("seconds", torch::tensor(pos.seconds, torch::kFloat64));
  archive.write("sums", sums.to_tensor());
  archive.write("torch_rng", core::torch_rng_state());
  archive.write("rng", c10::IValue(rng.state()));
  const auto tmp = dir.file("checkpoint.pt.tmp");
  archive.save_to(tmp);
  if (std::rename(tmp.c_str(), dir.file("checkpoint.pt").c_str()) != 0) {
    throw Error(fmt::format("cannot write {}", dir.file("checkpoint.pt")));
  }
}

void load_checkpoint(const RunDir& dir, search_space::SupernetImpl& net,
                     strategies::SearchStrategy& strategy, core::Rng& rng,
                     Position& pos, EpochSums& sums) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(dir.file("checkpoint.pt"));
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: not a readable checkpoint ({})",
                            dir.file("checkpoint.pt"),
                            std::string(e.what_without_backtrace())));
  }
  torch::serialize::InputArchive net_archive, strategy_archive;
  archive.read("supernet", net_archive);
  net.load(net_archive);
  archive.read("strategy", strategy_archive);
  strategy.load(strategy_archive);
  torch::Tensor position, seconds, sum_tensor, torch_rng;
  archive.read("position", position);
  archive.read("seconds", seconds);
  archive.read("sums", sum_tensor);
  archive.read("torch_rng", torch_rng);
  c10::IValue rng_state;
  archive.read("rng", rng_state);
  pos.epoch = position[0].item<int64_t>();
  pos.step = position[1].item<int64_t>();
  pos.val_step = position[2].item<int64_t>();
  dir.truncate_log(position[3].item<int64_t>());
  pos.seconds = seconds.item<double>();
  sums = EpochSums::from_tensor(sum_tensor);
  core::set_torch_rng_state(torch_rng);
  rng.set_state(rng_state.toStringRef());
}

}  // namespace

std::string search_run_dir(const nlohmann::json& config) {
  auto out = core::option<std::string>(config, "out");
  if (!out.empty()) return out;
  return fmt::format("runs/{}-{}-seed{}", config["space"]["name"].get<std::string>(),
                     config["strategy"]["name"].get<std::string>(),
                     config["seed"].get<int64_t>());
}

SearchOutcome run_search(const nlohmann::json& config, bool resume,
                         const Registries& registries) {
  const RunDir dir(search_run_dir(config));
  const bool resuming = resume && dir.has("checkpoint.pt");
  int threads = 0;
  const auto device = setup_runtime(config, &threads);
  const auto seed = core::option<uint64_t>(config, "seed");
  const auto epochs = core::option<int64_t>(config, "epochs");
  if (epochs < 1) {
    throw ConfigError(fmt::format("epochs: expected 1 or more, found {}", epochs));
  }

  // Build everything before touching the run directory: a config mistake
  // must not leave a half-made run behind.
  core::seed_everything(seed);
  const auto space = registries.spaces.create(config["space"]["name"],
                                              config["space"]["options"]);
  auto strategy = registries.strategies.create(config["strategy"]["name"],
                                               config["strategy"]["options"]);
  core::info("loading {} data", config["data"]["dataset"].get<std::string>());
  const auto data = data::load_data(config["data"]);
  const auto split = data::make_search_split(data, config["data"], seed, device,
                                             strategy->uses_whole_training_set());
  auto net_options = space->search_defaults();
  net_options.C = core::option<int64_t>(config["network"], "C");
  net_options.layers = core::option<int64_t>(config["network"], "layers");
  net_options.cells_per_stage =
      core::option<int64_t>(config["network"], "cells_per_stage");
  net_options.num_classes = split.num_classes;
  net_options.in_channels = split.channels;
  net_options.input_size = split.input_size;
  auto supernet = space->build_supernet(net_options);
  supernet->to(device);
  const auto decisions = space->decisions();

  core::Rng rng(core::mix_seed(seed, 99));
  strategies::SearchContext ctx;
  ctx.space = space.get();
  ctx.supernet = supernet;
  ctx.device = device;
  ctx.rng = &rng;
  ctx.seed = seed;
  ctx.epochs = epochs;
  ctx.steps_per_epoch = split.train->batches();
  ctx.train_loader = split.train.get();
  ctx.val_loader = split.val.get();
  strategy->attach(ctx);

  dir.create(resume);
  Position pos;
  EpochSums sums;
  if (resuming) {
    load_checkpoint(dir, *supernet, *strategy, rng, pos, sums);
    core::info("resuming {} at epoch {}, step {}", dir.path(), pos.epoch + 1,
               pos.step + 1);
  }
  dir.start(config, resuming, device, threads, seed);

  const int64_t supernet_params = hardware::count_parameters(*supernet);
  core::info("search: space {} strategy {} | supernet {} weights, {} "
             "decisions | {} train / {} val images, {} steps per epoch | {} "
             "threads on {}",
             space->name(), config["strategy"]["name"].get<std::string>(),
             supernet_params, decisions.size(), split.train->size(),
             split.val->size(), ctx.steps_per_epoch, threads, device.str());

  SearchOutcome outcome;
  outcome.run_dir = dir.path();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return pos.seconds + std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  };
  for (; pos.epoch < epochs; ++pos.epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    strategy->new_epoch(pos.epoch);
    core::Progress progress(fmt::format("epoch {}/{}", pos.epoch + 1, epochs),
                            ctx.steps_per_epoch);
    for (; pos.step < ctx.steps_per_epoch; ++pos.step) {
      if (interrupted()) {
        save_checkpoint(dir, *supernet, *strategy, rng,
                        {pos.epoch, pos.step, pos.val_step, elapsed()}, sums,
                        dir.log_lines());
        core::info("interrupted: checkpoint saved; continue with `nas search "
                   "--resume {}`",
                   dir.path());
        outcome.interrupted = true;
        return outcome;
      }
      const auto train = split.train->batch(pos.epoch, pos.step);
      const auto val = split.val->cycling(pos.val_step++);
      const auto s = strategy->step(train, val);
      if (!std::isfinite(s.train_loss) || !std::isfinite(s.val_loss)) {
        throw Error(fmt::format(
            "epoch {}, step {}: the {} loss is {}; the search stopped. The "
            "checkpoint of the last finished epoch is in {} (resume with "
            "`nas search --resume {}`); a lower learning rate may help",
            pos.epoch + 1, pos.step + 1,
            std::isfinite(s.train_loss) ? "validation" : "training",
            std::isfinite(s.train_loss) ? s.val_loss : s.train_loss,
            dir.path(), dir.path()));
      }
      sums.add(s);
      progress.update(
          pos.step + 1,
          fmt::format("train loss {:.3f} acc {:.1f}%{}",
                      EpochSums::ratio(sums.train_loss, sums.train_count),
                      100 * EpochSums::ratio(sums.train_correct, sums.train_count),
                      sums.val_count > 0
                          ? fmt::format(" | val acc {:.1f}%",
                                        100 * EpochSums::ratio(sums.val_correct,
                                                               sums.val_count))
                          : ""));
    }
    const auto monitor = strategy->end_epoch(pos.epoch);
    const auto arch = strategy->best();
    const auto state = strategy->state();
    nlohmann::json line = {
        {"epoch", pos.epoch},
        {"train_loss", EpochSums::ratio(sums.train_loss, sums.train_count)},
        {"train_acc", EpochSums::ratio(sums.train_correct, sums.train_count)},
        {"val_loss", EpochSums::maybe(sums.val_loss, sums.val_count)},
        {"val_acc", EpochSums::maybe(sums.val_correct, sums.val_count)},
        {"arch", space->format(arch)},
    };
    line.update(monitor);
    for (auto it = state.begin(); it != state.end(); ++it) {
      line[it.key()] = it.key() == "arch_weights"
                           ? group_weights(decisions, *it)
                           : *it;
    }
    line["seconds"] = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - epoch_start)
                          .count();
    line["peak_rss_mib"] = core::peak_rss_mib();
    core::append_json_line(dir.file("log.jsonl"), line);
    progress.finish(fmt::format(
        "train loss {:.3f} acc {:.2f}%{}{} | {}", line["train_loss"].get<double>(),
        100 * line["train_acc"].get<double>(),
        sums.val_count > 0
            ? fmt::format(" | val loss {:.3f} acc {:.2f}%",
                          line["val_loss"].get<double>(),
                          100 * line["val_acc"].get<double>())
            : "",
        line.contains("eval_acc")
            ? fmt::format(" | eval acc {:.2f}%", 100 * line["eval_acc"].get<double>())
            : "",
        line["arch"].get<std::string>()));
    pos.step = 0;
    sums = EpochSums{};
    save_checkpoint(dir, *supernet, *strategy, rng,
                    {pos.epoch + 1, 0, pos.val_step, elapsed()}, sums,
                    dir.log_lines());
  }

  strategy->finish();
  const auto arch = strategy->best();
  nlohmann::json result = {
      {"arch", space->format(arch)},
      {"space", space->name()},
      {"strategy", config["strategy"]["name"]},
      {"seed", seed},
      {"epochs", epochs},
      {"search_seconds", elapsed()},
      {"threads", threads},
      {"device", device.str()},
      {"supernet_params", supernet_params},
      {"peak_rss_mib", core::peak_rss_mib()},
  };
  const auto log_text = core::read_text_file(dir.file("log.jsonl"));
  const auto last_newline = log_text.rfind('\n', log_text.size() - 2);
  const auto last = nlohmann::json::parse(
      log_text.substr(last_newline == std::string::npos ? 0 : last_newline + 1));
  for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc"}) {
    result["final"][key] = last[key];
  }
  for (const char* key : {"eval_loss", "eval_acc"}) {
    if (last.contains(key)) result["final"][key] = last[key];
  }
  core::write_json_file(dir.file("result.json"), result);
  core::info("result: {} (search {:.1f}s) -> {}", result["arch"].get<std::string>(),
             elapsed(), dir.file("result.json"));
  outcome.result = result;
  return outcome;
}

}  // namespace nas::experiments
