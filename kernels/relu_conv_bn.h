#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <optional>
#include <utility>
#include <vector>

#include "kernels/depthwise.h"

namespace nas::kernels {

/// The activation a unit starts with.
enum class Activation { relu, relu6, none };

/// One unit of a ReLU-conv-BN chain: activation -> [depthwise conv] ->
/// [conv] -> BatchNorm (at least one of the convs). The tensors are the
/// modules' own parameters and buffers; undefined ones are absent (no
/// depthwise conv, no conv, no conv bias, BatchNorm without affine
/// parameters or without running statistics). The DARTS ops are ReLU units;
/// an MBConv block is three: (none, 1x1 expand), (ReLU6, depthwise),
/// (ReLU6, 1x1 project).
struct ConvBnUnit {
  Activation act = Activation::relu;
  torch::Tensor dw_weight;  ///< [C_in, 1, k, k]
  DepthwiseGeometry dw;
  torch::Tensor conv_weight;  ///< [C_out, C_in, k, k]
  torch::Tensor conv_bias;
  int64_t stride = 1;
  int64_t padding = 0;
  torch::Tensor bn_weight, bn_bias;
  torch::Tensor running_mean, running_var, num_batches_tracked;
  std::optional<double> momentum = 0.1;  ///< none: cumulative average
  double eps = 1e-5;
};

/// The unit made of these modules' own tensors (`dw` or `conv` may be
/// empty: no depthwise conv, no conv; the activation is a ReLU).
ConvBnUnit conv_bn_unit(const torch::nn::Conv2d& conv, int64_t stride, int64_t padding,
                        const torch::nn::BatchNorm2d& bn,
                        const torch::nn::Conv2d& dw = torch::nn::Conv2d{nullptr},
                        const DepthwiseGeometry& geometry = {});

/// `scale * unit_n(... unit_1(x))` in one autograd node, where each unit is
/// `BN(conv(dw(act(h))))` with BatchNorm as torch::nn::BatchNorm2d computes
/// it (batch statistics and a running-statistics update in training mode or
/// without running statistics, running statistics otherwise). `scale` (a
/// 0-dim tensor, e.g. a DARTS op weight) may be undefined (= 1).
///
/// The DARTS sep/dil convs, the NB201 ReLU-conv-BN ops and the cells'
/// preprocessing and the chains' MBConv blocks all are such chains. As one node the chain keeps only its
/// input and each unit's conv output (plus per-channel statistics) for the
/// backward pass and recomputes the rest there (the ReLUs, the depthwise
/// conv, the inner BatchNorm outputs): an unfused sep conv keeps eight
/// activation tensors, this two; an unfused MBConv ten, this three. The op weight is folded into the last
/// BatchNorm, so the weighted op output is not kept either. Gradients are
/// those of the unfused modules up to float rounding (a finite-difference
/// test checks them); second derivatives through the chain are not
/// supported (a clear error).
torch::Tensor relu_conv_bn(const torch::Tensor& x, const std::vector<ConvBnUnit>& units,
                           bool training, const torch::Tensor& scale = {});

/// Per-channel mean and biased variance of x [N, C, H, W], without
/// autograd (deterministic; ~3x faster than torch::var_mean on the CPU).
std::pair<torch::Tensor, torch::Tensor> batch_moments(const torch::Tensor& x);

/// BatchNorm's training-mode update of its running statistics from the
/// batch moments of `n` values per channel (unbiased variance, as
/// torch::nn::BatchNorm2d does); counts the batch in `num_batches_tracked`
/// if defined. No momentum: the cumulative average over the counted batches
/// (BN recalibration).
void update_running_statistics(const torch::Tensor& mean, const torch::Tensor& var, int64_t n,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               const torch::Tensor& num_batches_tracked,
                               std::optional<double> momentum);

}  // namespace nas::kernels
