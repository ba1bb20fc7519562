#pragma once

#include <memory>


#include "strategies/one_shot.h"

namespace nas::strategies {

struct SnasOptions : OneShotOptions, AlphaOptions {
  SnasOptions() {
    alpha_beta1 = 0.5;
    alpha_weight_decay = 1e-3;
    eval_every = 1;
  }
  double tau_max = 1.0;
  double tau_min = 0.03;
  int64_t tau_epochs = 150;
  std::string train_data = "all";
  double alpha_grad_clip = 10.0;
  double resource_lambda = 0.0;
  std::string derive = "all";
};

/// SNAS: Xie, Zheng, Liu, Lin, "SNAS: Stochastic Neural Architecture
/// Search", ICLR 2019 (SNAS-Series).
///
/// Every op runs, weighted by a relaxed Gumbel-softmax sample Z =
/// softmax((alpha + G) / tau), one sample per forward pass shared by the
/// cells of a type. Single level: one forward on the training batch, one
/// backward, and both the weights and alpha step on that gradient (weights
/// clipped at 5, alpha at 10). `train_data` "all" (default): the weights
/// train on the whole training set and the validation split is the test
/// set, used only for the epoch-end eval pass, as train_search.py;
/// "split": the DARTS split. tau anneals linearly from tau_max (1) to
/// tau_min (0.03) as SNAS's Temp_Scheduler: epoch e uses t = e + 1 over a
/// horizon of `tau_epochs` (150, hard-coded in the reference; 0: the run's
/// epochs). The resource penalty (the log form of SNAS, with weight
/// `resource_lambda`): per edge (log E[size] + log E[flops] + log E[mac]) / 3
/// under Z with the costs of SNAS's operations.py (hardware/snas_cost.h),
/// averaged over the cells of a type. Derive: `derive` "all" (default, the
/// edge-all genotype: every edge keeps its argmax op, `none` included) or
/// "top2".
///
/// Defaults: alpha optimizer Adam(3e-4, betas (0.5, 0.999), wd 1e-3) — the
/// reference's distributed setting; its single-GPU script uses plain SGD
/// with lr 3e-4 (`alpha_optimizer` "sgd"). Not reproduced: drop-path on
/// MixedOp outputs during search.
class Snas : public OneShotStrategy {
 public:
  explicit Snas(const SnasOptions& options);
  explicit Snas(const nlohmann::json& options);
  static const core::OptionTable<SnasOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  bool uses_whole_training_set() const override;
  search_space::Architecture best() const override;
  nlohmann::json state() const override;
  double tau() const { return tau_; }

  /// The log resource penalty of relaxed samples `z` [D, K] (exposed for
  /// tests). `costs` [D, K, 3]: params, FLOPs and memory access per op.
  /// `rows` [M] maps each MixedOp to its decision; each MixedOp's log
  /// penalty counts with `row_weights` [M] (1 / cells sharing the decision).
  static torch::Tensor resource_penalty(const torch::Tensor& z,
                                        const torch::Tensor& costs,
                                        const torch::Tensor& rows,
                                        const torch::Tensor& row_weights);
  const torch::Tensor& costs() const { return costs_; }


 private:
  SnasOptions opts_;
  double tau_ = 1;
  void measure_costs(const torch::Tensor& x);
  torch::Tensor costs_, rows_, row_weights_;  // [M, K, 3], [M], [M]
};

}  // namespace nas::strategies
