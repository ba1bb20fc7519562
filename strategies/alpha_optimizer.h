#pragma once

#include <string>

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "core/option_table.h"

namespace nas::strategies {

/// The options of the alpha optimizer, as a strategy's options carry them.
/// These defaults stand where a strategy does not declare the key (Adam,
/// torch.optim.Adam's betas and eps, no weight decay); each strategy sets its
/// reference's values in its own options struct.
struct AlphaOptions {
  std::string alpha_optimizer = "adam";
  double alpha_lr = 3e-4;
  double alpha_beta1 = 0.9;
  double alpha_beta2 = 0.999;
  double alpha_eps = 1e-8;
  double alpha_weight_decay = 0.0;
  double alpha_rms_decay = 0.9;  ///< rmsprop
  double alpha_momentum = 0.9;   ///< rmsprop
};

/// Declares alpha_lr, alpha_beta1, alpha_beta2 and alpha_weight_decay in a
/// strategy's table (alpha_optimizer and alpha_eps where a strategy has them:
/// `add_alpha_kind`, `add_alpha_eps`).
template <class O>
void add_alpha_options(core::OptionTable<O>& t) {
  t.add("alpha_lr", &AlphaOptions::alpha_lr, "alpha learning rate", core::at_least(0))
      .add("alpha_beta1", &AlphaOptions::alpha_beta1, "Adam beta1 of alpha",
           core::in_half_open(0, 1))
      .add("alpha_beta2", &AlphaOptions::alpha_beta2, "Adam beta2 of alpha",
           core::in_half_open(0, 1))
      .add("alpha_weight_decay", &AlphaOptions::alpha_weight_decay,
           "L2 weight decay of alpha (added to its gradient)", core::at_least(0));
}
template <class O>
void add_alpha_kind(core::OptionTable<O>& t) {
  t.add("alpha_optimizer", &AlphaOptions::alpha_optimizer, "the alpha optimizer",
        core::one_of({"adam", "sgd"}));
}
/// alpha_optimizer with "rmsprop" (TensorFlow's RMSPropOptimizer, Single-
/// Path NAS's) and its alpha_rms_decay, alpha_momentum, alpha_eps.
template <class O>
void add_alpha_rmsprop(core::OptionTable<O>& t) {
  t.add("alpha_optimizer", &AlphaOptions::alpha_optimizer, "the alpha optimizer",
        core::one_of({"rmsprop", "adam", "sgd"}))
      .add("alpha_rms_decay", &AlphaOptions::alpha_rms_decay,
           "RMSProp decay of the squared-gradient average", core::in_half_open(0, 1))
      .add("alpha_momentum", &AlphaOptions::alpha_momentum, "RMSProp momentum",
           core::in_half_open(0, 1))
      .add("alpha_eps", &AlphaOptions::alpha_eps, "RMSProp epsilon (inside the square root)",
           core::greater_than(0));
}
template <class O>
void add_alpha_eps(core::OptionTable<O>& t) {
  t.add("alpha_eps", &AlphaOptions::alpha_eps, "Adam epsilon of alpha", core::greater_than(0));
}

/// The optimizer of the architecture parameters alpha [D, K]: Adam (as
/// torch.optim.Adam, L2 weight decay added to the gradient), plain SGD or
/// TensorFlow's RMSProp with momentum (ms starts at 1; ms = rho ms + (1 -
/// rho) g^2, mom = mu mom + lr g / sqrt(ms + eps), alpha -= mom),
/// with its state kept per row (per decision). A row left out of a step keeps
/// its value, its moments and its step count — as a decision whose
/// parameter had no gradient in the reference code, where every edge owns
/// its own alpha (ProxylessNAS sets `grad = None` when `none` is active).
///
/// Options: AlphaOptions (checked where the strategy's options are parsed).
class AlphaOptimizer {
 public:
  AlphaOptimizer(const AlphaOptions& options, const torch::Tensor& alpha);
  /// From JSON holding any of AlphaOptions' keys (the rest default).
  AlphaOptimizer(const nlohmann::json& options, const torch::Tensor& alpha);

  /// One step of `alpha` (in place, no autograd) with gradient `grad`
  /// [D, K]; `rows` [D] bool selects the rows that step (undefined: all).
  void step(torch::Tensor& alpha, const torch::Tensor& grad,
            const torch::Tensor& rows = {});

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  bool adam_ = true, rmsprop_ = false;
  double rms_decay_ = 0.9, momentum_ = 0.9;
  double lr_ = 0, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8, weight_decay_ = 0;
  torch::Tensor exp_avg_, exp_avg_sq_, steps_;  // [D, K], [D, K], [D] float64
};

}  // namespace nas::strategies
