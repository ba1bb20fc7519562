#include "experiments/search.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/source.h"
#include "experiments/run_dir.h"
#include "hardware/cost.h"
#include "hardware/objective.h"
#include "strategies/scoring.h"

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

/// Everything a search holds while it runs (built before the run directory
/// is touched, so a config mistake leaves nothing behind).
struct SearchState {
  const nlohmann::json& config;
  RunDir dir;
  std::unique_ptr<search_space::SearchSpace> space;
  std::unique_ptr<strategies::SearchStrategy> strategy;
  data::SearchSplit split;
  search_space::Supernet supernet;
  core::Rng rng;
  strategies::SearchContext ctx;
  hardware::CostObjective objective;
  Position pos;
  EpochSums sums;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  double elapsed() const {
    return pos.seconds +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

void save_checkpoint(SearchState& s, const Position& pos) {
  torch::serialize::OutputArchive archive, net_archive, strategy_archive;
  s.supernet->save(net_archive);
  archive.write("supernet", net_archive);
  s.strategy->save(strategy_archive);
  archive.write("strategy", strategy_archive);
  archive.write("position", torch::tensor({pos.epoch, pos.step, pos.val_step,
                                           s.dir.log_lines()},
                                          torch::kInt64));
  archive.write("seconds", torch::tensor(pos.seconds, torch::kFloat64));
  archive.write("sums", s.sums.to_tensor());
  archive.write("torch_rng", core::torch_rng_state());
  archive.write("rng", c10::IValue(s.rng.state()));
  core::write_fingerprint(archive, s.config);
  core::save_checked(archive, s.dir.file("checkpoint.pt"));
}

/// Saves the state at `pos` (the current step) and reports how to resume.
void save_interrupted(SearchState& s, Position pos) {
  pos.seconds = s.elapsed();
  save_checkpoint(s, pos);
  core::info("interrupted: checkpoint saved; continue with `nas search --resume {}`",
             s.dir.path());
}

void load_checkpoint(SearchState& s) {
  const auto path = s.dir.file("checkpoint.pt");
  torch::serialize::InputArchive archive;
  core::load_checked(archive, path);
  core::check_fingerprint(archive, s.config, path);
  try {
    torch::serialize::InputArchive net_archive, strategy_archive;
    archive.read("supernet", net_archive);
    s.supernet->load(net_archive);
    archive.read("strategy", strategy_archive);
    s.strategy->load(strategy_archive);
    torch::Tensor position, seconds, sum_tensor, torch_rng;
    archive.read("position", position);
    archive.read("seconds", seconds);
    archive.read("sums", sum_tensor);
    archive.read("torch_rng", torch_rng);
    c10::IValue rng_state;
    archive.read("rng", rng_state);
    s.pos.epoch = position[0].item<int64_t>();
    s.pos.step = position[1].item<int64_t>();
    s.pos.val_step = position[2].item<int64_t>();
    s.dir.truncate_log(position[3].item<int64_t>());
    s.pos.seconds = seconds.item<double>();
    s.sums = EpochSums::from_tensor(sum_tensor);
    core::set_torch_rng_state(torch_rng);
    s.rng.set_state(rng_state.toStringRef());
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: the checkpoint does not fit this search ({})", path,
                            std::string(e.what_without_backtrace())));
  }
}

/// The steps of the current epoch from `s.pos.step` on; false when
/// interrupted (a checkpoint at the current step is saved).
bool run_steps(SearchState& s, core::Progress& progress) {
  auto& pos = s.pos;
  for (; pos.step < s.ctx.steps_per_epoch; ++pos.step) {
    if (interrupted()) {
      save_interrupted(s, pos);
      return false;
    }
    const auto train = s.split.train->batch(pos.epoch, pos.step);
    const auto val = s.split.val->cycling(pos.val_step++);
    const auto st = s.strategy->step(train, val);
    if (!std::isfinite(st.train_loss) || !std::isfinite(st.val_loss)) {
      throw Error(fmt::format(
          "epoch {}, step {}: the {} loss is {}; the search stopped. The checkpoint of "
          "the last finished epoch is in {} (resume with `nas search --resume {}`); a "
          "lower learning rate may help",
          pos.epoch + 1, pos.step + 1, std::isfinite(st.train_loss) ? "validation" : "training",
          std::isfinite(st.train_loss) ? st.val_loss : st.train_loss, s.dir.path(),
          s.dir.path()));
    }
    s.sums.add(st);
    const auto& m = s.sums;
    progress.update(
        pos.step + 1,
        fmt::format("train loss {:.3f} acc {:.1f}%{}", EpochSums::ratio(m.train_loss, m.train_count),
                    100 * EpochSums::ratio(m.train_correct, m.train_count),
                    m.val_count > 0 ? fmt::format(" | val acc {:.1f}%",
                                                  100 * EpochSums::ratio(m.val_correct, m.val_count))
                                    : ""));
  }
  return true;
}

/// The epoch's log line: sums, the strategy's epoch-end fields and state.
nlohmann::json epoch_line(SearchState& s, const nlohmann::json& monitor, double seconds) {
  const auto& m = s.sums;
  const auto arch = s.strategy->best();
  const auto state = s.strategy->state();
  nlohmann::json line = {
      {"epoch", s.pos.epoch},
      {"train_loss", EpochSums::ratio(m.train_loss, m.train_count)},
      {"train_acc", EpochSums::ratio(m.train_correct, m.train_count)},
      {"val_loss", EpochSums::maybe(m.val_loss, m.val_count)},
      {"val_acc", EpochSums::maybe(m.val_correct, m.val_count)},
      {"arch", s.space->format(arch)},
  };
  line.update(monitor);
  if (!s.objective.empty()) line.update(s.objective.report(s.strategy->op_probabilities(), arch));
  const auto decisions = s.space->decisions();
  for (auto it = state.begin(); it != state.end(); ++it) {
    line[it.key()] = it.key() == "arch_weights" ? group_weights(decisions, *it) : *it;
  }
  line["seconds"] = seconds;
  line["peak_rss_mib"] = core::peak_rss_mib();
  return line;
}

std::string epoch_summary(const nlohmann::json& line) {
  auto pct = [&](const char* key) { return 100 * line[key].get<double>(); };
  return fmt::format(
      "train loss {:.3f} acc {:.2f}%{}{}{} | {}", line["train_loss"].get<double>(),
      pct("train_acc"),
      line["val_acc"].is_null()
          ? ""
          : fmt::format(" | val loss {:.3f} acc {:.2f}%", line["val_loss"].get<double>(),
                        pct("val_acc")),
      line.contains("eval_acc") ? fmt::format(" | eval acc {:.2f}%", pct("eval_acc")) : "",
      line.contains("latency_ms")
          ? fmt::format(" | {:.3f} ms{}", line["latency_ms"].get<double>(),
                        line.contains("expected_latency_ms")
                            ? fmt::format(" (E {:.3f})", line["expected_latency_ms"].get<double>())
                            : "")
          : "",
      line["arch"].get<std::string>());
}

/// result.json from the strategy's answer and the last log line.
nlohmann::json write_result(SearchState& s, int64_t supernet_params, int threads) {
  const auto& config = s.config;
  nlohmann::json result = {
      {"arch", s.space->format(s.strategy->best())},
      {"space", s.space->name()},
      {"strategy", config["strategy"]["name"]},
      {"seed", config["seed"]},
      {"epochs", config["epochs"]},
      {"search_seconds", s.elapsed()},
      {"threads", threads},
      {"device", s.ctx.device.str()},
      {"supernet_params", supernet_params},
      {"peak_rss_mib", core::peak_rss_mib()},
      {"train_data", s.strategy->uses_whole_training_set() ? "whole training set"
                                                           : "search split"},
  };
  const auto log_text = core::read_text_file(s.dir.file("log.jsonl"));
  const auto last_newline =
      log_text.size() < 2 ? std::string::npos : log_text.rfind('\n', log_text.size() - 2);
  const auto last_text =
      log_text.substr(last_newline == std::string::npos ? 0 : last_newline + 1);
  const auto last = last_text.empty() ? nlohmann::json::object()
                                      : core::parse_json(last_text, s.dir.file("log.jsonl"));
  for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc", "eval_loss",
                          "eval_acc"}) {
    if (last.contains(key)) result["final"][key] = last[key];
  }
  if (s.ctx.val_loader != nullptr) {
    // The answer's one-shot accuracy, the same measure for every strategy:
    // its path through the trained supernet after BatchNorm statistics are
    // re-estimated on 10 training batches through that path (the mixture's
    // statistics do not fit a single path), eval mode, the whole
    // validation split.
    strategies::ScoreOptions o;
    o.batches = 0;
    o.recalibrate = 10;
    result["final"]["derived_acc"] = strategies::score_architecture(s.ctx, s.strategy->best(), o);
  }
  if (!s.objective.empty()) {
    // The answer's costs (after any final selection) and the objective used.
    result["costs"] = s.objective.report(s.strategy->op_probabilities(), s.strategy->best());
    result["objective"] = config["objective"];
  }
  core::write_json_file(s.dir.file("result.json"), result);
  core::info("result: {} (search {:.1f}s) -> {}", result["arch"].get<std::string>(),
             s.elapsed(), s.dir.file("result.json"));
  return result;
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
  SearchState s{config, RunDir(search_run_dir(config))};
  s.dir.check(resume);  // before any work
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
  s.space = registries.spaces.create(config["space"]["name"], config["space"]["options"]);
  s.strategy = registries.strategies.create(config["strategy"]["name"],
                                            config["strategy"]["options"]);
  core::info("loading {} data", config["data"]["dataset"].get<std::string>());
  const auto data = data::load_data(config["data"]);
  core::throw_if_interrupted("data loading");
  s.split = data::make_search_split(data, config["data"], seed, device,
                                    s.strategy->uses_whole_training_set());
  auto net_options = s.space->search_defaults();
  net_options.C = core::option<int64_t>(config["network"], "C");
  net_options.layers = core::option<int64_t>(config["network"], "layers");
  net_options.cells_per_stage = core::option<int64_t>(config["network"], "cells_per_stage");
  net_options.num_classes = s.split.num_classes;
  net_options.in_channels = s.split.channels;
  net_options.input_size = s.split.input_size;
  s.supernet = s.space->build_supernet(net_options);
  s.supernet->to(device);
  auto eval_sizes = s.space->eval_defaults();
  eval_sizes.num_classes = net_options.num_classes;
  eval_sizes.in_channels = net_options.in_channels;
  eval_sizes.input_size = net_options.input_size;
  s.objective = hardware::CostObjective::from_config(config["objective"], *s.space,
                                                     config["strategy"]["name"].get<std::string>(), eval_sizes);

  s.rng = core::Rng(core::mix_seed(seed, 99));
  auto& ctx = s.ctx;
  ctx.space = s.space.get();
  ctx.supernet = s.supernet;
  ctx.device = device;
  ctx.rng = &s.rng;
  ctx.seed = seed;
  ctx.epochs = epochs;
  ctx.steps_per_epoch = s.split.train->batches();
  ctx.train_loader = s.split.train.get();
  ctx.val_loader = s.split.val.get();
  if (s.objective.trains()) {
    ctx.objective.loss = [&s](const torch::Tensor& loss, const torch::Tensor& probs) {
      return s.objective.apply(loss, probs);
    };
  }
  if (s.objective.selects()) {
    ctx.objective.penalty = [&s](const search_space::Architecture& arch) {
      return s.objective.penalty(arch);
    };
  }
  s.strategy->attach(ctx);

  s.dir.create(resume);
  if (resume) {
    load_checkpoint(s);
    core::info("resuming {} at epoch {}, step {}", s.dir.path(), s.pos.epoch + 1,
               s.pos.step + 1);
  }
  s.dir.start(config, resume, device, threads, seed);

  const int64_t supernet_params = hardware::count_parameters(*s.supernet);
  core::info("search: space {} strategy {} | supernet {} weights, {} decisions | {} train "
             "/ {} val images{}, {} steps per epoch | {} threads on {}",
             s.space->name(), config["strategy"]["name"].get<std::string>(), supernet_params,
             s.space->decisions().size(), s.split.train->size(), s.split.val->size(),
             s.strategy->uses_whole_training_set() ? " (test set, monitoring only)" : "",
             ctx.steps_per_epoch, threads, device.str());

  for (const auto& line : s.objective.describe()) core::info("{}", line);

  SearchOutcome outcome;
  outcome.run_dir = s.dir.path();
  auto& pos = s.pos;
  try {
    for (; pos.epoch < epochs; ++pos.epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      s.strategy->new_epoch(pos.epoch);
      core::Progress progress(fmt::format("epoch {}/{}", pos.epoch + 1, epochs),
                              ctx.steps_per_epoch);
      if (!run_steps(s, progress)) {
        outcome.interrupted = true;
        return outcome;
      }
      const auto monitor = s.strategy->end_epoch(pos.epoch);
      const auto line = epoch_line(
          s, monitor,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count());
      core::append_json_line(s.dir.file("log.jsonl"), line);
      progress.finish(epoch_summary(line));
      pos.step = 0;
      s.sums = EpochSums{};
      save_checkpoint(s, {pos.epoch + 1, 0, pos.val_step, s.elapsed()});
    }
    s.strategy->finish();
  } catch (const core::Interrupted& e) {
    // An epoch-end or final phase saw the signal: its epoch's steps are
    // kept (the resume redoes only the phase, with the same random state).
    if (pos.epoch < epochs) save_interrupted(s, pos);
    core::info("{}; continue with `nas search --resume {}`", e.what(), s.dir.path());
    outcome.interrupted = true;
    return outcome;
  }
  outcome.result = write_result(s, supernet_params, threads);
  return outcome;
}

}  // namespace nas::experiments
