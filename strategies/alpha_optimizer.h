#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/serialize/archive.h>
#include <torch/types.h>

namespace nas::strategies {

/// The optimizer of the architecture parameters alpha [D, K]: Adam (as
/// torch.optim.Adam, L2 weight decay added to the gradient) or plain SGD,
/// with its state kept per row (per decision). A row left out of a step keeps
/// its value, its moments and its step count — as a decision whose
/// parameter had no gradient in the reference code, where every edge owns
/// its own alpha (ProxylessNAS sets `grad = None` when `none` is active).
///
/// Options (read from a strategy's options): `alpha_optimizer` "adam" |
/// "sgd" (default "adam" when absent), alpha_lr, alpha_beta1, alpha_beta2,
/// alpha_eps (1e-8 when absent), alpha_weight_decay (0 when absent).
class AlphaOptimizer {
 public:

  AlphaOptimizer(const nlohmann::json& options, const torch::Tensor& alpha);

  /// One step of `alpha` (in place, no autograd) with gradient `grad`
  /// [D, K]; `rows` [D] bool selects the rows that step (undefined: all).
  void step(torch::Tensor& alpha, const torch::Tensor& grad,
            const torch::Tensor& rows = {});

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  bool adam_ = true;
  double lr_ = 0, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8, weight_decay_ = 0;
  torch::Tensor exp_avg_, exp_avg_sq_, steps_;  // [D, K], [D, K], [D] float64
};

}  // namespace nas::strategies
