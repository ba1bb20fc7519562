#pragma once

#include <functional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/option_table.h"

#include "data/loader.h"
#include "data/source.h"
#include "estimators/estimator.h"
#include "search_space/network.h"

namespace nas::estimators {

/// Training a stand-alone network from scratch as the DARTS reference
/// evaluation does (train.py): SGD with momentum and weight decay, cosine
/// learning rate to `lr_min` (stepped at the start of each epoch), gradient
/// clipping, drop-path probability ramped linearly from 0 to
/// `drop_path_prob`, auxiliary loss weighted `auxiliary_weight`.
struct TrainOptions {
  int64_t epochs = 600;
  double lr = 0.025;
  double lr_min = 0.0;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  bool nesterov = false;
  double grad_clip = 5.0;  ///< 0: no clipping
  double auxiliary_weight = 0.4;
  double drop_path_prob = 0.2;

  static nlohmann::json defaults();
  /// Parses a `train` section (ConfigError naming `where.key`).
  static TrainOptions from_json(const nlohmann::json& j, const std::string& where = "train");
};

/// Declares TrainOptions' fields in a table (the `train` section's and the
/// scratch estimator's).
template <class O>
void add_train_options(core::OptionTable<O>& t) {
  using core::in_closed;
  t.add("epochs", &TrainOptions::epochs, "training epochs", in_closed(1, 1e6))
      .add("lr", &TrainOptions::lr, "SGD learning rate (cosine schedule)", in_closed(0, 10))
      .add("lr_min", &TrainOptions::lr_min, "learning rate at the end (0 to lr)",
           in_closed(0, 10))
      .add("momentum", &TrainOptions::momentum, "SGD momentum", in_closed(0, 1))
      .add("weight_decay", &TrainOptions::weight_decay, "SGD weight decay", in_closed(0, 1))
      .add("nesterov", &TrainOptions::nesterov, "Nesterov momentum")
      .add("grad_clip", &TrainOptions::grad_clip, "max gradient norm (0: no clipping)",
           in_closed(0, 1e9))
      .add("auxiliary_weight", &TrainOptions::auxiliary_weight,
           "weight of the auxiliary head's loss", in_closed(0, 1e3))
      .add("drop_path_prob", &TrainOptions::drop_path_prob,
           "drop-path probability at the last epoch (ramped from 0)", in_closed(0, 0.99))
      .check([](const O& o, const std::string& where) {
        if (o.lr_min > o.lr) {
          core::throw_rule_broken(where, "lr_min", fmt::format("0 to lr ({})", o.lr), o.lr_min);
        }
      });
}

/// The scratch estimator's options: a training recipe (10 epochs, no
/// drop-path) and the network's size.
struct ScratchOptions : TrainOptions {
  ScratchOptions() {
    epochs = 10;
    drop_path_prob = 0.0;
  }
  int64_t C = 0;  ///< 0: the run's `network` section
  int64_t layers = 0;
  int64_t cells_per_stage = 0;
  bool auxiliary = false;
  std::string split = "search";  ///< or "final": whole training set, test accuracy
};

/// Loss and accuracy of `net` (eval mode) over every batch of `loader`
/// (the first `max_batches` when > 0).
EvalResult evaluate(search_space::NetworkImpl& net, const data::Loader& loader,
                    int64_t max_batches = 0);

/// Checkpointing and stopping of a training run.
struct TrainControl {
  /// Where to save after every epoch (and to resume from when it exists);
  /// empty: no checkpoint.
  std::string checkpoint;
  /// The run's config, whose fingerprint the checkpoint stores and a resume
  /// must match (null: not checked).
  nlohmann::json fingerprint;
  /// Polled before every step; true stops the run (the last epoch's
  /// checkpoint — one is written before the first epoch too — resumes it
  /// exactly: the epoch restarts with the same random state).
  std::function<bool()> should_stop;
  /// Evaluate on `test` after the last epoch only (estimates), not after
  /// every epoch.
  bool evaluate_last_only = false;
};

struct TrainResult {
  bool ok = true;
  bool interrupted = false;
  std::string message;
  EvalResult train;  ///< running average over the last epoch
  EvalResult test;
  double seconds = 0;
};

/// Trains `net` on `train`, evaluates on `test` after every epoch, calls
/// `on_epoch(log_line)` after each. A non-finite loss stops training with
/// `ok == false` and a message naming the epoch and step. With a
/// checkpoint in `control`, a run continues from it.
TrainResult train_network(
    search_space::NetworkImpl& net, const data::Loader& train,
    const data::Loader& test, const TrainOptions& options,
    const std::function<void(const nlohmann::json&)>& on_epoch = {},
    const TrainControl& control = {});

/// The number of finished epochs in a training checkpoint.
int64_t checkpoint_epoch(const std::string& path);

/// The `scratch` estimator: builds the architecture's stand-alone network
/// (the run's `network` sizes unless `C`/`layers`/`cells_per_stage` are set)
/// and trains it for `fidelity.epochs` (or `epochs`). With `split: search`
/// (a search's estimates) it trains on the training half of the search
/// split and reports the accuracy on the validation half (the test set is
/// never seen during a search); with `split: final` (a study's evaluation
/// of what searches found) on the whole training set (or `train_subset`),
/// reporting test accuracy. Stops at SIGINT/SIGTERM (an interrupted
/// estimate).
class ScratchEstimator : public PerformanceEstimator {
 public:
  explicit ScratchEstimator(const nlohmann::json& options);
  static const core::OptionTable<ScratchOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const EstimatorContext& ctx) override;
  Estimate evaluate(const search_space::Architecture& arch,
                    const Fidelity& fidelity) override;
  int64_t epochs_per_estimate() const override { return train_.epochs; }
  int64_t passes_per_estimate() const override;

 private:
  ScratchOptions opts_;
  TrainOptions train_;
  bool final_ = false;  ///< split: final
  EstimatorContext ctx_;
  std::unique_ptr<data::Loader> train_loader_, eval_loader_;
};

}  // namespace nas::estimators
