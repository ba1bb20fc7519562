#pragma once

#include <vector>

#include "strategies/darts.h"

namespace nas::strategies {

/// sharpDARTS's search-time changes to DARTS: Hundt, Jain, Hager,
/// "sharpDARTS: Faster and More Accurate Differentiable Architecture
/// Search", 2019 (ahundt/sharpDARTS `cnn/train_search.py`,
/// `cnn/model_search.py`, `cnn/cosine_power_annealing.py`).
///
/// - `weighting` "max_w" (the paper's MaxW DARTS): each op of an edge runs
///   with weight 1 - max(w) + w, w = softmax(alpha), so the strongest op
///   always has weight 1 (max taken with its gradient, as model_search.py's
///   MixedOp); "scalar" is DARTS's w. The cost objectives still read w.
/// - Cosine Power Annealing of the weights' learning rate per epoch
///   (`cosine_power_annealing`): lr_max 0.025 to lr_min 1e-4, exponent 2,
///   a linear warm-up over the first `warmup_epochs` + 1 epochs (5).
/// The rest is DARTS's (DartsOptions, train_search.py's defaults: alpha Adam
/// 3e-4, wd 1e-3; weights momentum 0.9, wd 3e-4, clip 5). SharpSepConv, the
/// paper's op family, is not part of this strategy (an op family of the
/// DARTS space, still to come).
struct SharpDartsOptions : DartsOptions {
  SharpDartsOptions() { w_lr_min = 1e-4; }
  std::string weighting = "max_w";
  double lr_exponent = 2.0;
  int64_t warmup_epochs = 5;
};

/// ahundt/sharpDARTS's `cosine_power_annealing(epochs, max_lr, min_lr,
/// exponent_order, warmup_epochs)`: the learning rate of epochs 1..epochs.
/// p = exponent^(c + 1) with c = (1 + cos(pi x / X)) / 2 (x the epoch and X
/// the last, both shifted by the warm-up), normalised to 0..1 over the
/// schedule (c itself for exponent 1); the first warmup + 1 epochs instead
/// rise linearly to 1; lr = p (max - min) + min.
std::vector<double> cosine_power_annealing(int64_t epochs, double max_lr, double min_lr,
                                           double exponent, int64_t warmup_epochs);

class SharpDarts : public Darts {
 public:
  explicit SharpDarts(const SharpDartsOptions& options);
  explicit SharpDarts(const nlohmann::json& options);
  static const core::OptionTable<SharpDartsOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void new_epoch(int64_t epoch) override;

 protected:
  torch::Tensor mixture_weights(const torch::Tensor& p) const override;

 private:
  SharpDartsOptions sharp_;
};

}  // namespace nas::strategies
