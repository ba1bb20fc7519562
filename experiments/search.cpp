#include "experiments/search.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/source.h"
#include "estimators/one_shot_eval.h"
#include "experiments/run.h"
#include "experiments/run_dir.h"
#include "experiments/trials.h"
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
    const auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();  // loaded onto the run's device
    const auto* p = c.data_ptr<double>();
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

/// The mean over decisions of the entropy (nats) of their op weights, the
/// rows of a strategy's "arch_weights": log(ops) when uniform, 0 when
/// each decision has settled on one op.
double mean_entropy(const nlohmann::json& rows) {
  double sum = 0;
  for (const auto& row : rows) {
    for (const auto& p : row) {
      const auto v = p.get<double>();
      if (v > 0) sum -= v * std::log(v);
    }
  }
  return rows.empty() ? 0.0 : sum / static_cast<double>(rows.size());
}

struct Position {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t val_step = 0;
};

/// What the one-shot loop holds besides the run: the strategy, the data
/// split, the supernet and where the loop stands.
struct SearchState {
  explicit SearchState(Run& r) : run(r) {}
  Run& run;
  std::unique_ptr<strategies::SearchStrategy> strategy;
  data::SearchSplit split;
  search_space::Supernet supernet;
  strategies::SearchContext ctx;
  Position pos;
  EpochSums sums;
  std::unique_ptr<core::ProcessGroup> group;  ///< data-parallel ranks (null: one process)
  bool stop = false;  ///< a data-parallel rank saw an interrupt (agreed at each step's end)
};

void save_checkpoint(SearchState& s, const Position& pos) {
  s.run.save_checkpoint([&](torch::serialize::OutputArchive& archive) {
    torch::serialize::OutputArchive net_archive, strategy_archive;
    s.supernet->save(net_archive);
    archive.write("supernet", net_archive);
    s.strategy->save(strategy_archive);
    archive.write("strategy", strategy_archive);
    archive.write("position", torch::tensor({pos.epoch, pos.step, pos.val_step,
                                             s.supernet->passes()},
                                            torch::kInt64));
    archive.write("sums", s.sums.to_tensor());
    archive.write("world", torch::tensor(s.group ? s.group->world() : 1, torch::kInt64));
  });
}

/// Saves the state at `pos` (the current step) and reports how to resume.
void save_interrupted(SearchState& s, Position pos) {
  save_checkpoint(s, pos);
  s.run.report_interrupted();
}

void load_checkpoint(SearchState& s, torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive net_archive, strategy_archive;
  archive.read("supernet", net_archive);
  s.supernet->load(net_archive);
  archive.read("strategy", strategy_archive);
  s.strategy->load(strategy_archive);
  torch::Tensor position, sum_tensor;
  archive.read("position", position);
  archive.read("sums", sum_tensor);
  torch::Tensor world_tensor;
  const int64_t world = archive.try_read("world", world_tensor) ? world_tensor.item<int64_t>() : 1;
  const int64_t here = s.group ? s.group->world() : 1;
  if (world != here) {
    throw ConfigError(fmt::format(
        "--resume {}: the checkpoint was written by a search over {} process{}, this one has "
        "{}; resume with the same number (each batch is split the same way only then){}",
        s.run.dir.path(), world, world == 1 ? "" : "es", here,
        world > 1 ? fmt::format(": nas search --resume {} --nproc {}", s.run.dir.path(), world)
                  : ""));
  }
  s.pos.epoch = position[0].item<int64_t>();
  s.pos.step = position[1].item<int64_t>();
  s.pos.val_step = position[2].item<int64_t>();
  s.supernet->set_passes(position[3].item<int64_t>());
  s.sums = EpochSums::from_tensor(sum_tensor);
}

/// A data-parallel step's end on every rank: the step's statistics summed
/// over the ranks (so the log has the global batch's numbers), whether any
/// rank was interrupted, rank 0's BatchNorm statistics everywhere (as
/// DDP's broadcast_buffers), and a check that the architecture weights are
/// still the same bits on every rank.
strategies::StepStats sync_step(SearchState& s, const strategies::StepStats& st) {
  auto& g = *s.group;
  auto t = torch::tensor({st.train_loss * static_cast<double>(st.train_count), st.train_correct,
                          static_cast<double>(st.train_count),
                          st.val_loss * static_cast<double>(st.val_count), st.val_correct,
                          static_cast<double>(st.val_count), interrupted() ? 1.0 : 0.0},
                         torch::kFloat64)
                .to(s.run.device);  // NCCL reduces device tensors only
  g.sum({t});
  t = t.cpu();
  const auto* p = t.data_ptr<double>();
  strategies::StepStats sum;
  sum.train_count = static_cast<int64_t>(p[2]);
  sum.train_loss = EpochSums::ratio(p[0], p[2]);
  sum.train_correct = p[1];
  sum.val_count = static_cast<int64_t>(p[5]);
  sum.val_loss = EpochSums::ratio(p[3], p[5]);
  sum.val_correct = p[4];
  s.stop = p[6] > 0;
  g.broadcast(s.supernet->buffers());
  const auto probs = s.strategy->op_probabilities();
  if (probs.defined()) {
    auto leader = probs.detach().clone();
    g.broadcast({leader});
    if (!torch::equal(leader, probs.detach())) {
      throw Error(fmt::format("rank {}: after epoch {} step {} the architecture weights differ "
                              "from rank 0's (a random draw or a decision from this rank's own "
                              "data); the ranks no longer search one supernet",
                              g.rank(), s.pos.epoch + 1, s.pos.step + 1));
    }
  }
  return sum;
}

/// The steps of the current epoch from `s.pos.step` on; false when
/// interrupted (a checkpoint at the current step is saved).
bool run_steps(SearchState& s, core::Progress& progress) {
  auto& pos = s.pos;
  for (; pos.step < s.ctx.steps_per_epoch; ++pos.step) {
    if (s.group ? s.stop : interrupted()) {
      save_interrupted(s, pos);
      return false;
    }
    auto train = s.split.train->batch(pos.epoch, pos.step);
    auto val = s.split.val->cycling(pos.val_step++);
    if (s.group) {
      train = s.group->shard(train);
      val = s.group->shard(val);
    }
    auto st = s.strategy->step(train, val);
    if (s.group) st = sync_step(s, st);
    if (!std::isfinite(st.train_loss) || !std::isfinite(st.val_loss)) {
      throw Error(fmt::format(
          "epoch {}, step {}: the {} loss is {}; the search stopped. The checkpoint of "
          "the last finished epoch is in {} (resume with `nas search --resume {}`); a "
          "lower learning rate may help",
          pos.epoch + 1, pos.step + 1, std::isfinite(st.train_loss) ? "validation" : "training",
          std::isfinite(st.train_loss) ? st.val_loss : st.train_loss, s.run.dir.path(),
          s.run.dir.path()));
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
      {"arch", s.run.space->format(arch)},
  };
  line.update(monitor);
  if (!s.run.objective.empty()) line.update(s.run.objective.report(s.strategy->op_probabilities(), arch));
  const auto decisions = s.run.space->decisions();
  for (auto it = state.begin(); it != state.end(); ++it) {
    line[it.key()] = it.key() == "arch_weights" ? group_weights(decisions, *it) : *it;
  }
  if (state.contains("arch_weights")) line["alpha_entropy"] = mean_entropy(state["arch_weights"]);
  line["passes"] = s.supernet->passes();
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

/// The last line of the log (an empty object when there is none).
nlohmann::json last_log_line(const RunDir& dir) {
  const auto log_text = core::read_text_file(dir.file(dir.log()));
  const auto last_newline =
      log_text.size() < 2 ? std::string::npos : log_text.rfind('\n', log_text.size() - 2);
  const auto last_text =
      log_text.substr(last_newline == std::string::npos ? 0 : last_newline + 1);
  return last_text.empty() ? nlohmann::json::object()
                           : core::parse_json(last_text, dir.file(dir.log()));
}

/// result.json from the strategy's answer and the last log line (rank 0's
/// to write; the other ranks of a data-parallel search return {}).
nlohmann::json write_result(SearchState& s, int64_t supernet_params) {
  if (!s.run.dir.writer()) return nlohmann::json::object();
  auto result = s.run.result(s.strategy->best(), s.strategy->op_probabilities());
  result.update({
      {"epochs", s.pos.epoch},
      {"passes", s.supernet->passes()},
      {"supernet_params", supernet_params},
      {"train_data", s.strategy->uses_whole_training_set() ? "whole training set"
                                                           : "search split"},
  });
  const auto last = last_log_line(s.run.dir);
  for (const char* key : {"train_loss", "train_acc", "val_loss", "val_acc", "eval_loss",
                          "eval_acc"}) {
    if (last.contains(key)) result["final"][key] = last[key];
  }
  if (s.ctx.val_loader != nullptr) {
    // The answer's one-shot accuracy, the same measure for every strategy
    // (and the `supernet` estimator's): its path through the trained
    // supernet after BatchNorm statistics are re-estimated on 10 training
    // batches through that path (the mixture's statistics do not fit a
    // single path), eval mode, the whole validation split.
    strategies::ScoreOptions o;
    o.batches = 0;
    o.recalibrate = 10;
    result["final"]["derived_acc"] = strategies::score_architecture(s.ctx, s.strategy->best(), o);
  }
  s.run.write_result(result);
  return result;
}

/// The epochs the run makes: `epochs`, or with `budget.passes` the number
/// whose forward+backward passes come closest to it (at least 1), so a
/// strategy with fewer passes per step gets more steps.
int64_t planned_epochs(const SearchState& s) {
  const auto& config = s.run.config;
  const auto passes = core::option<int64_t>(config["budget"], "passes");
  if (passes == 0) return core::option<int64_t>(config, "epochs");
  const double per_epoch =
      s.strategy->passes_per_step(*s.run.space) * static_cast<double>(s.ctx.steps_per_epoch);
  const auto epochs = std::max<int64_t>(1, std::llround(static_cast<double>(passes) / per_epoch));
  core::info("budget.passes {}: {} epochs of {} steps at {:g} passes per step", passes, epochs,
             s.ctx.steps_per_epoch, s.strategy->passes_per_step(*s.run.space));
  return epochs;
}

/// True when `budget.seconds` (0: none) is spent; the run then stops at the
/// end of the epoch (the schedules keep their planned length).
bool seconds_spent(const SearchState& s) {
  const auto seconds = core::option<double>(s.run.config["budget"], "seconds");
  return seconds > 0 && s.run.elapsed() >= seconds;
}

/// The process group of a data-parallel search (`nas search --nproc N`,
/// torchrun): every rank must get an equal share of each batch.
std::unique_ptr<core::ProcessGroup> join_process_group(const core::DistEnv& env, const Run& run) {
  const auto batch = core::option<int64_t>(run.config["data"], "batch");
  if (batch % env.world != 0) {
    throw ConfigError(fmt::format("data.batch: expected a multiple of the {} processes (each "
                                  "trains on an equal part of every batch), found {}",
                                  env.world, batch));
  }
  const auto seconds = core::option<double>(run.config["distributed"], "timeout");
  auto group = std::make_unique<core::ProcessGroup>(
      env, run.device, std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  core::info("rank {} of {} ({} over {}:{})", env.rank, env.world, group->backend(),
             env.master_addr, env.master_port);
  return group;
}

/// Builds the strategy, the data split and the supernet, and attaches the
/// strategy (before the run directory is touched).
void build_one_shot(SearchState& s, const Registries& registries) {
  const auto& config = s.run.config;
  s.strategy = registries.strategies.create(config["strategy"]["name"],
                                            config["strategy"]["options"]);
  core::info("loading {} data", config["data"]["dataset"].get<std::string>());
  const auto data = data::load_data(config["data"]);
  core::throw_if_interrupted("data loading");
  s.split = data::make_search_split(data, config["data"], s.run.seed, s.run.device,
                                    s.strategy->uses_whole_training_set());
  auto sizes = search_space::supernet_sizes(*s.run.space, config["network"], s.split.num_classes,
                                           s.split.channels, s.split.input_size);
  s.strategy->configure_supernet(*s.run.space, sizes);
  s.supernet = s.run.space->build_supernet(sizes);
  s.supernet->to(s.run.device);
  s.run.build_objective(s.split.num_classes, s.split.channels, s.split.input_size);

  auto& ctx = s.ctx;
  ctx.space = s.run.space.get();
  ctx.supernet = s.supernet;
  ctx.device = s.run.device;
  ctx.rng = &s.run.rng;
  ctx.seed = s.run.seed;
  ctx.steps_per_epoch = s.split.train->batches();
  ctx.epochs = planned_epochs(s);
  ctx.train_loader = s.split.train.get();
  ctx.val_loader = s.split.val.get();
  ctx.group = s.group.get();
  auto& objective = s.run.objective;
  if (objective.trains()) {
    ctx.objective.loss = [&objective](const torch::Tensor& loss, const torch::Tensor& probs) {
      return objective.apply(loss, probs);
    };
  }
  if (objective.selects()) {
    ctx.objective.penalty = [&objective](const search_space::Architecture& arch) {
      return objective.penalty(arch);
    };
  }
  s.strategy->attach(ctx);
}

/// The epochs from `s.pos` on; false when interrupted (checkpoint saved).
bool run_epochs(SearchState& s) {
  auto& pos = s.pos;
  const auto epochs = s.ctx.epochs;
  try {
    for (; pos.epoch < epochs; ++pos.epoch) {
      if (pos.epoch > 0 && pos.step == 0 && seconds_spent(s)) {
        core::info("budget.seconds spent after {} of {} epochs; finishing", pos.epoch, epochs);
        break;
      }
      const auto epoch_start = std::chrono::steady_clock::now();
      s.strategy->new_epoch(pos.epoch);
      core::Progress progress(fmt::format("epoch {}/{}", pos.epoch + 1, epochs),
                              s.ctx.steps_per_epoch);
      if (!run_steps(s, progress)) return false;
      const auto monitor = s.strategy->end_epoch(pos.epoch);
      const auto line = epoch_line(s, monitor, core::seconds_since(epoch_start));
      s.run.dir.append_log(line);
      progress.finish(epoch_summary(line));
      pos.step = 0;
      s.sums = EpochSums{};
      save_checkpoint(s, {pos.epoch + 1, 0, pos.val_step});
    }
    s.strategy->finish();
  } catch (const core::Interrupted& e) {
    // An epoch-end or final phase saw the signal: its epoch's steps are
    // kept (the resume redoes only the phase, with the same random state).
    if (pos.epoch < epochs) save_checkpoint(s, pos);
    s.run.report_interrupted(e.what());
    return false;
  }
  return true;
}

SearchOutcome run_one_shot(const nlohmann::json& config, bool resume,
                           const Registries& registries) {
  const auto epochs = core::option<int64_t>(config, "epochs");
  if (epochs < 1) {
    throw ConfigError(fmt::format("epochs: expected 1 or more, found {}", epochs));
  }
  const auto env = core::DistEnv::from_environment();
  Run run(config, resume, registries, "log.jsonl", env.rank == 0);
  SearchState s(run);
  if (env.world > 1) s.group = join_process_group(env, run);
  build_one_shot(s, registries);
  run.open([&s](torch::serialize::InputArchive& archive) { load_checkpoint(s, archive); });
  if (resume) {
    core::info("resuming {} at epoch {}, step {}", run.dir.path(), s.pos.epoch + 1,
               s.pos.step + 1);
  }
  const int64_t supernet_params = hardware::count_parameters(*s.supernet);
  core::info("search: space {} strategy {} | supernet {} weights, {} decisions | {} train "
             "/ {} val images{}, {} steps per epoch | {} threads on {}",
             run.space->name(), run.strategy_name(), supernet_params,
             run.space->decisions().size(), s.split.train->size(), s.split.val->size(),
             s.strategy->uses_whole_training_set() ? " (test set, monitoring only)" : "",
             s.ctx.steps_per_epoch, run.threads, run.device.str());
  for (const auto& line : run.objective.describe()) core::info("{}", line);

  SearchOutcome outcome;
  outcome.run_dir = run.dir.path();
  if (!run_epochs(s)) {
    outcome.interrupted = true;
    return outcome;
  }
  if (s.group) {
    const double steps = static_cast<double>(s.ctx.steps_per_epoch * s.pos.epoch);
    core::info("data-parallel: {} processes, rank 0 all-reduced and broadcast {:.1f} MiB ({:.2f} "
               "MiB per step)",
               s.group->world(), static_cast<double>(s.group->bytes_sent()) / (1 << 20),
               static_cast<double>(s.group->bytes_sent()) / (1 << 20) / std::max(1.0, steps));
  }
  outcome.result = write_result(s, supernet_params);
  return outcome;
}

}  // namespace

SearchOutcome run_search(const nlohmann::json& config, bool resume,
                         const Registries& registries) {
  const auto strategy = core::option<std::string>(config["strategy"], "name");
  if (registries.kind(strategy) == StrategyKind::trial) {
    if (core::DistEnv::from_environment().world > 1) {
      throw ConfigError(fmt::format(
          "strategy {}: a trial strategy's search runs in one process (its trials are "
          "independent: spread them, or several searches, with `nas study run --workers N`)",
          strategy));
    }
    return run_trials(config, resume, registries);
  }
  return run_one_shot(config, resume, registries);
}

}  // namespace nas::experiments
