#pragma once

#include <cstdint>

#include "core/option_table.h"
#include "data/loader.h"
#include "data/source.h"
#include "estimators/estimator.h"
#include "search_space/path.h"
#include "search_space/search_space.h"

namespace nas::estimators {

/// A trained supernet with the data that scores architectures in it: what
/// one-shot evaluation needs, inside a search (strategies/scoring.h) or
/// after it (the `supernet` estimator).
struct OneShotModel {
  const search_space::SearchSpace* space = nullptr;
  search_space::Supernet supernet;
  const data::Loader* train_loader = nullptr;  ///< BatchNorm recalibration
  const data::Loader* val_loader = nullptr;    ///< scoring
};

/// How one architecture is scored in the supernet.
struct ScoreOptions {
  int64_t batches = 10;     ///< validation batches per score (0: all)
  int64_t recalibrate = 0;  ///< training batches to re-estimate BN statistics first
};

/// Mean loss and accuracy of the supernet through `path` on the first
/// `batches` validation batches (0: all), in eval mode without gradients.
/// Polls the interrupt flag between batches (core::Interrupted).
EvalResult evaluate_path(const OneShotModel& model, const search_space::PathSpec& path,
                         int64_t batches);

/// Validation loss and accuracy of `arch` in the supernet (eval mode). With
/// `recalibrate` > 0 the BatchNorm running statistics are first
/// re-estimated on that many training batches through the architecture's
/// path (cumulative average); the supernet's statistics are restored after.
EvalResult score_architecture(const OneShotModel& model, const search_space::Architecture& arch,
                              const ScoreOptions& options);

}  // namespace nas::estimators

namespace nas::estimators {

/// The `supernet` estimator: one-shot estimates outside of a one-shot
/// search. Loads the supernet of a finished one-shot run (`run`: its
/// directory; config.json and checkpoint.pt are read), that run's data and
/// its search split (same data options and seed), and scores an
/// architecture as the run scored its answer (`final.derived_acc`): its
/// path, BatchNorm statistics re-estimated on `recalibrate` training
/// batches (0: the supernet's own), eval mode, the first `batches`
/// validation batches (0: all). Always the validation half of the training
/// set, also for runs of single-level strategies (SNAS), whose weights saw
/// those images.
struct SupernetEstimatorOptions {
  std::string run;  ///< checked when the estimator attaches
  int64_t recalibrate = 10;
  int64_t batches = 0;
};

class SupernetEstimator : public PerformanceEstimator {
 public:
  explicit SupernetEstimator(const nlohmann::json& options);
  static const core::OptionTable<SupernetEstimatorOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const EstimatorContext& ctx) override;
  Estimate evaluate(const search_space::Architecture& arch,
                    const Fidelity& fidelity) override;
  bool needs_data() const override { return false; }

 private:
  std::string run_;
  ScoreOptions score_;
  data::DataPair data_;
  data::SearchSplit split_;
  OneShotModel model_;
};

}  // namespace nas::estimators
