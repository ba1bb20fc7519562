#pragma once

#include <memory>

#include <torch/optim/adam.h>

#include "strategies/one_shot.h"

namespace nas::strategies {

/// GDAS: Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU
/// Hours", CVPR 2019 (AutoDL-Projects).
///
/// Per forward pass, one hard Gumbel sample per decision: h = one_hot -
/// p.detach() + p with p = softmax((log_softmax(alpha) + g) / tau); only the
/// sampled op runs, weighted by h (value 1). `variant` "autodl" also adds
/// the unselected entries of h (value 0) so every alpha gets a gradient
/// (AutoDL's NB201 forward_gdas); "single" uses the sampled term only
/// (forward_gdas_v1, AutoDL's NASNet-space MixedOp); "auto" (default):
/// "single" on the DARTS space, "autodl" elsewhere. Per step: the weight
/// step on the training batch, then the alpha step on the validation batch,
/// each with a fresh sample. tau goes linearly from tau_max (10) to tau_min
/// (0.1) over the epochs. Weights as AutoDL's GDAS configs: SGD 0.025
/// cosine to 0.001, Nesterov momentum 0.9, weight decay 5e-4, clip 5. The
/// epoch-end eval pass runs the argmax path.
struct GdasOptions : OneShotOptions, AlphaOptions {
  GdasOptions() {
    // AutoDL's GDAS configs (NB201 and NASNet space): weight decay 5e-4,
    // Nesterov momentum.
    w_weight_decay = 5e-4;
    w_nesterov = true;
    alpha_beta1 = 0.5;
    alpha_weight_decay = 1e-3;
    eval_every = 1;
  }
  double tau_max = 10.0;
  double tau_min = 0.1;
  std::string variant = "auto";
};

class Gdas : public OneShotStrategy {
 public:
  explicit Gdas(const GdasOptions& options);
  explicit Gdas(const nlohmann::json& options);
  static const core::OptionTable<GdasOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// The weight step's pass and the alpha step's.
  double passes_per_step(const search_space::SearchSpace&) const override { return 2; }
  nlohmann::json state() const override;
  search_space::PathSpec eval_path() const override;

  /// A PathSpec of one hard sample (exposed for tests).
  search_space::PathSpec sample_path(const torch::Tensor& alpha) const;
  double tau() const { return tau_; }


 private:
  GdasOptions opts_;
  bool autodl_variant_ = true;
  double tau_ = 10;
};

}  // namespace nas::strategies
