#pragma once

#include "strategies/one_shot.h"

namespace nas::strategies {

/// FBNet's differentiable search: Wu et al., "FBNet: Hardware-Aware
/// Efficient ConvNet Design via Differentiable Neural Architecture Search",
/// CVPR 2019.
///
/// Every candidate runs, weighted by a relaxed Gumbel-softmax mask m =
/// softmax((theta + G) / tau) per block (the stochastic super net; a fresh
/// mask for every forward pass). Per step: the weights' SGD step on the
/// training batch, then — from epoch `warmup_epochs` on (-1: a ninth of
/// the epochs) — theta's Adam step
/// on the validation batch (the paper's 80/20 split of the training set:
/// `data.train_portion` 0.8 in the recipes). The latency term is the
/// objective's: mode "fbnet" (the default for this strategy) is the paper's
/// `CE * alpha * log(LAT)^beta` with LAT = sum m * LUT over a profiled
/// table, `objective.latency.lambda` = alpha, `beta` = beta (the recipes'
/// 0.2, 0.6). tau = tau_max * tau_decay^(epochs since the warm-up): 5.0
/// and exp(-0.045) per epoch. Derive: the most probable candidate per
/// block (theta's argmax).
///
/// Defaults: the paper's (theta: Adam lr 0.01, weight decay 5e-4; weights:
/// SGD lr 0.1, momentum 0.9, weight decay 1e-4; 90 epochs, 10 of them
/// weights only; theta starts uniform) as AnnaAraslanova/FBNet's
/// reproduction uses them (its `config_for_supernet.py`, with a cosine
/// learning rate). FBNet's own search code is not public; two choices are
/// ours: the weight step's loss is the cross-entropy alone (the latency
/// factor is constant in the weights for a given mask and would only
/// rescale their learning rate) and the weights' gradient is clipped at 5.
struct FbnetOptions : OneShotOptions, AlphaOptions {
  FbnetOptions() {
    w_lr = 0.1;
    w_lr_min = 0.0;
    w_weight_decay = 1e-4;
    alpha_init_std = 0.0;
    alpha_lr = 0.01;
    alpha_weight_decay = 5e-4;
    eval_every = 1;
  }
  double tau_max = 5.0;
  double tau_decay = 0.955997481833100;  ///< exp(-0.045)
  int64_t warmup_epochs = -1;  ///< -1: a ninth of the epochs (the paper's 10 of 90)
};

class Fbnet : public OneShotStrategy {
 public:
  explicit Fbnet(const FbnetOptions& options);
  explicit Fbnet(const nlohmann::json& options);
  static const core::OptionTable<FbnetOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// The weight step's pass and, after the warm-up, theta's.
  double passes_per_step(const search_space::SearchSpace&) const override { return 2; }
  nlohmann::json state() const override;
  double tau() const { return tau_; }
  bool theta_phase() const { return epoch_ >= warmup_epochs(); }
  int64_t warmup_epochs() const;

 private:
  FbnetOptions opts_;
  double tau_ = 5.0;
  int64_t epoch_ = 0;
};

}  // namespace nas::strategies
