#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "strategies/controller.h"
#include "strategies/one_shot.h"

namespace nas::strategies {

/// ENAS: Pham, Guan, Zoph, Le, Dean, "Efficient Neural Architecture Search
/// via Parameter Sharing", ICML 2018, as AutoDL-Projects runs it on
/// NAS-Bench-201 (exps/NAS-Bench-201-algos/ENAS.py) and melodyguan/enas's
/// micro search on the DARTS space (recipe `darts-enas`).
///
/// Per step the controller (ControllerOptions) samples one architecture
/// and the weights take one SGD step on the training batch through its
/// path alone. After the last step of each epoch the controller trains:
/// `controller_steps` updates of `aggregate` samples, each rewarded with
/// its accuracy on the next validation batch (supernet in train mode, as
/// both references, without gradients; the objective's penalty subtracted), by REINFORCE
/// (ReinforceOptions). The answer, after the last epoch: the best of
/// `select_archs` controller samples scored on `select_batches` validation
/// batches (AutoDL's get_best_arch); before it (epoch logs) the controller's
/// greedy rollout. Weights (AutoDL's ENAS.config): SGD 0.05 cosine to
/// 5e-4, momentum 0.9 Nesterov, weight decay 2.5e-4, clip 5.
struct EnasOptions : OneShotOptions, ControllerOptions, ReinforceOptions {
  EnasOptions() {
    w_lr = 0.05;
    w_lr_min = 0.0005;
    w_weight_decay = 2.5e-4;
    w_nesterov = true;
    alpha_init_std = 0.0;  // no alpha: the controller holds the policy
  }
  int64_t controller_steps = 50;
  int64_t select_archs = 100;
  int64_t select_batches = 1;
};

class Enas : public OneShotStrategy {
 public:
  explicit Enas(const EnasOptions& options);
  explicit Enas(const nlohmann::json& options);
  static const core::OptionTable<EnasOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  StepStats step(const Batch& train, const Batch& val) override;
  void finish() override;
  search_space::Architecture best() const override;
  torch::Tensor op_probabilities() const override;
  nlohmann::json state() const override;
  /// The weight step; the controller's phase adds forward-only passes
  /// (controller_steps * aggregate per epoch), which the count leaves out.
  double passes_per_step(const search_space::SearchSpace&) const override { return 1; }

  Controller controller() const { return controller_; }

 protected:
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  /// The controller's phase; its mean reward accuracy goes to `stats`' val fields.
  void train_controller(StepStats& stats);
  /// The accuracy of `arch` on `batch`; adds its loss and counts to `stats`.
  double reward_accuracy(const search_space::Architecture& arch, const Batch& batch,
                         StepStats& stats) const;

  EnasOptions opts_;
  Controller controller_{nullptr};
  std::unique_ptr<Reinforce> learner_;
  int64_t steps_ = 0;        ///< weight steps so far
  int64_t val_batches_ = 0;  ///< validation batches the controller has read
  search_space::Architecture final_;
  bool has_final_ = false;
};

}  // namespace nas::strategies
