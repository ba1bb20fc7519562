#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "core/option_table.h"
#include "data/source.h"
#include "estimators/estimator.h"

namespace nas::estimators {

/// Zero-cost proxies: scores of an untrained network from one batch, as
/// NASLib computes them (naslib/predictors/utils/pruners/measures, after
/// Abdelfattah et al., ICLR 2021, and Mellor et al., 2021). "The layers"
/// are the network's Conv2d and Linear modules; the network is in train
/// mode (BatchNorm on batch statistics) unless said otherwise.
/// - `grad_norm`: sum over the layers of ||dL/dW||_2, L the mean
///   cross-entropy of the batch;
/// - `snip`: sum over the layers' weights of |W * dL/dW| (the gradient of
///   the loss with respect to a multiplicative mask of ones);
/// - `synflow`: the network in float64 with every parameter replaced by its
///   absolute value and BatchNorm switched off (identity); R = sum of the
///   outputs for one all-ones input; sum over the layers' weights of
///   |W * dR/dW|. The network's own parameters are changed (use a fresh one);
/// - `jacov`: J = the gradient of the summed outputs with respect to each
///   input image (one row per image); C = corrcoef(J) (rows); with v its
///   eigenvalues and k = 1e-5: -sum(log(v + k) + 1 / (v + k)).
/// All four: higher is better.
using Forward = std::function<torch::Tensor(const torch::Tensor&)>;

double grad_norm_proxy(torch::nn::Module& net, const Forward& forward, const torch::Tensor& x,
                       const torch::Tensor& y);
double snip_proxy(torch::nn::Module& net, const Forward& forward, const torch::Tensor& x,
                  const torch::Tensor& y);
double synflow_proxy(torch::nn::Module& net, const Forward& forward,
                     std::vector<int64_t> input_shape);
double jacov_proxy(const Forward& forward, const torch::Tensor& x);

/// The proxy named `name` (grad_norm | snip | synflow | jacov) on a batch.
double zero_cost_proxy(const std::string& name, torch::nn::Module& net, const Forward& forward,
                       const torch::Tensor& x, const torch::Tensor& y);
const std::vector<std::string>& zero_cost_names();

struct ZeroCostOptions {
  int64_t batches = 1;
};

/// The estimators `synflow`, `snip`, `grad_norm`, `jacov`: the proxy of the
/// architecture's stand-alone network (the run's `network` sizes), freshly
/// initialised (torch's generator, seeded per trial by the loop), on the
/// first `batches` training batches of the search split. A non-finite
/// value is a failed estimate.
class ZeroCostEstimator : public PerformanceEstimator {
 public:
  ZeroCostEstimator(std::string proxy, const nlohmann::json& options);
  static const core::OptionTable<ZeroCostOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const EstimatorContext& ctx) override;
  Estimate evaluate(const search_space::Architecture& arch,
                    const Fidelity& fidelity) override;
  /// One pass over the scored images.
  int64_t passes_per_estimate() const override { return 1; }

 private:
  std::string proxy_;
  int64_t batches_ = 1;
  EstimatorContext ctx_;
  torch::Tensor x_, y_;
};

}  // namespace nas::estimators
