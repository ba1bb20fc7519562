#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/serialize/archive.h>

#include "data/dataset.h"
#include "estimators/estimator.h"
#include "experiments/config.h"
#include "experiments/run_dir.h"
#include "hardware/objective.h"

namespace nas::experiments {

/// What a finished (or interrupted) search returns.
struct SearchOutcome {
  std::string run_dir;
  bool interrupted = false;
  nlohmann::json result;  ///< the content of result.json (when finished)
};

/// The run directory a config writes to.
std::string search_run_dir(const nlohmann::json& config);

/// What an estimator of a run works on: the space, the data (null when no
/// estimator needs it; then the image shape stays the space's default),
/// the stand-alone network sizes of the config's `network` section at the
/// data's shape, the device and the seed.
estimators::EstimatorContext estimator_context(const nlohmann::json& config,
                                               const search_space::SearchSpace& space,
                                               torch::Device device, uint64_t seed,
                                               const data::DataPair* data);

/// What every search run holds, whichever loop drives it (the one-shot
/// loop's epochs and steps, the trial loop's proposals): the run
/// directory, device and threads, the seed, the space, the cost objective,
/// the run's random stream and its clock, and the checkpoint pieces they
/// share. Built before the run directory is touched, so a config mistake
/// leaves nothing behind. The loops own what is theirs (supernet and
/// strategy, or strategy and estimator) and hand it to `save_checkpoint` /
/// `load_checkpoint` as the extra part of the archive.
class Run {
 public:
  /// Checks the run directory for a new run or a resume (nothing is
  /// created yet), applies --threads/--device, seeds every generator with
  /// the config's seed and creates the space. `log` names the log file.
  /// `writer` false: a data-parallel rank other than 0 (see
  /// RunDir::set_writer); a new run's directory is then rank 0's to check.
  Run(const nlohmann::json& config, bool resume, const Registries& registries,
      const std::string& log, bool writer = true);

  const nlohmann::json& config;
  const bool resume;
  RunDir dir;
  torch::Device device = torch::kCPU;
  int threads = 0;
  uint64_t seed = 0;
  std::unique_ptr<search_space::SearchSpace> space;
  hardware::CostObjective objective;
  core::Rng rng;  ///< the search's stream (checkpointed)

  std::string strategy_name() const;
  /// The objective from the config's `objective` section; the FLOPs and
  /// parameter tables count the stand-alone network (the space's
  /// evaluation sizes) at the data's shape.
  void build_objective(int64_t classes, int64_t channels, int64_t input_size);

  /// Creates the directory; with `resume`, `load` reads the loop's part of
  /// the checkpoint (after the shared part: fingerprint, streams, clock,
  /// log length); then records the start (config.json, env.json).
  void open(const std::function<void(torch::serialize::InputArchive&)>& load);

  /// Writes checkpoint.pt: the loop's part (`save`), the run's streams,
  /// its search seconds so far (`seconds`, default: now), the log length
  /// and the config's fingerprint.
  void save_checkpoint(const std::function<void(torch::serialize::OutputArchive&)>& save,
                       double seconds = -1) const;
  /// The message of an interrupted run, with the command that resumes it.
  void report_interrupted(const std::string& what = "interrupted") const;

  /// ConfigError when the log holds fewer than `lines` lines or its first
  /// `lines` lines differ from those the checkpoint was written with.
  void check_log(torch::serialize::InputArchive& archive, int64_t lines,
                 const std::string& checkpoint) const;

  /// Search seconds: before this process (from the checkpoint) and in it.
  double elapsed() const;

  /// The fields every result.json has: arch, space, strategy, seed, search
  /// seconds, threads, device, peak memory; with an objective, the
  /// answer's costs (`probs`: op probabilities for expected costs, may be
  /// undefined) and the objective section.
  nlohmann::json result(const search_space::Architecture& answer,
                        const torch::Tensor& probs = {}) const;
  /// Writes result.json and logs where.
  void write_result(const nlohmann::json& result) const;

 private:
  double seconds_before_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace nas::experiments
