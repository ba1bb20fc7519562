#pragma once

#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/adam.h>

#include "strategies/one_shot.h"

namespace nas::strategies {

/// DARTS: Liu, Simonyan, Yang, "DARTS: Differentiable Architecture Search",
/// ICLR 2019 (quark0/darts).
///
/// Every op of every edge runs, weighted by softmax(alpha). Per step: the
/// alpha step on a validation batch first, then the weight step on the
/// training batch. `order` 1: dL_val(w, alpha)/dalpha. `order` 2 (Eq. 7-8):
/// dL_val(w', alpha)/dalpha - xi * (dL_trn(w+, alpha)/dalpha -
/// dL_trn(w-, alpha)/dalpha) / (2 R), with w' = w - xi * (mu * buf + g +
/// wd * w) one virtual step of the real SGD (momentum buffer and weight
/// decay included), xi = the current weight learning rate, v = dL_val/dw',
/// w+- = w +- R v, R = unrolled_r / ||v||.
///
/// Defaults (train_search.py): alpha Adam(lr 3e-4, betas (0.5, 0.999),
/// weight decay 1e-3); weights SGD(0.025 cosine to 0.001, momentum 0.9,
/// weight decay 3e-4, clip 5); alpha init 1e-3 * randn; an eval-mode pass
/// over the validation split after every epoch (`infer`).
/// `weight_step_first` true: the weight step before the alpha step, as
/// AutoDL's DARTS-V1 on NAS-Bench-201 (recipe `nb201-darts`).
struct DartsOptions : OneShotOptions, AlphaOptions {
  DartsOptions() {
    alpha_beta1 = 0.5;
    alpha_weight_decay = 1e-3;
    eval_every = 1;
  }
  int64_t order = 1;
  double unrolled_r = 0.01;
  bool weight_step_first = false;
};

/// Declares DARTS's options (the weights', alpha's, the eval pass, order,
/// unrolled_r, weight_step_first) in a table of DartsOptions or a struct
/// derived from it.
template <class O>
void add_darts_options(core::OptionTable<O>& t) {
  add_weight_options(t);
  add_alpha_options(t);
  add_eval_options(t);
  t.add("order", &DartsOptions::order, "1: first-order alpha gradient, 2: second order",
        core::one_of({1, 2}))
      .add("unrolled_r", &DartsOptions::unrolled_r,
           "finite-difference scale of the second-order step (R = unrolled_r / ||v||)",
           core::greater_than(0))
      .add("weight_step_first", &DartsOptions::weight_step_first,
           "the weight step before the alpha step (AutoDL's DARTS-V1)");
}

class Darts : public OneShotStrategy {
 public:
  explicit Darts(const DartsOptions& options);
  /// Parses `options` with options_table() (ConfigError naming the key).
  explicit Darts(const nlohmann::json& options);
  static const core::OptionTable<DartsOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// First order: the alpha step's pass and the weight step's; second
  /// order: the virtual step, the unrolled validation pass, two Hessian
  /// passes, the weight step.
  double passes_per_step(const search_space::SearchSpace&) const override {
    return opts_.order == 1 ? 2 : 5;
  }

  /// The alpha gradient of the configured order, without stepping (for
  /// tests and gradient checks). Fills val stats.
  torch::Tensor alpha_gradient(const Batch& train, const Batch& val,
                               StepStats& stats);


 protected:
  /// The edge weights the alpha step differentiates, [D, K]:
  /// softmax(logits()); DARTS-PRIME's CRB activation clamps alpha instead.
  virtual torch::Tensor activation() const { return torch::softmax(logits(), 1); }
  /// The weights every op of an edge runs with, from the edge's softmax
  /// probabilities `p` [D, K] (differentiable): `p` itself here;
  /// sharpDARTS's max_w changes them.
  virtual torch::Tensor mixture_weights(const torch::Tensor& p) const { return p; }
  /// The supernet path of a mixture with probabilities `p`: every op
  /// weighted by mixture_weights(p); ASAP leaves its pruned ops out.
  virtual search_space::PathSpec mixture_path(const torch::Tensor& p) const {
    return search_space::PathSpec::weighted_all(mixture_weights(p));
  }
  search_space::PathSpec eval_path() const override;

 private:
  torch::Tensor first_order_gradient(const Batch& val, StepStats& stats);
  torch::Tensor second_order_gradient(const Batch& train, const Batch& val,
                                      StepStats& stats);
  search_space::PathSpec path() const;

  DartsOptions opts_;
};

}  // namespace nas::strategies
