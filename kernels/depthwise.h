#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>

namespace nas::kernels {

/// Geometry of a depthwise convolution (square kernel, equal stride,
/// padding and dilation in both directions: the DARTS sep/dil convs).
struct DepthwiseGeometry {
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t padding = 1;
  int64_t dilation = 1;
};

/// Depthwise convolution of `relu(x)` (when `relu_input`) or `x`:
/// x [N, C, H, W], weight [C, 1, k, k] -> [N, C, H_out, W_out].
///
/// On the CPU this is naskit's own kernel (one zero-padded plane per
/// (sample, channel), k*k shifted multiply-adds over whole rows): at the
/// small channel counts of CPU searches oneDNN's depthwise backward for 5x5
/// and dilated kernels takes 10-30x its forward, and a DARTS cell has 42 of
/// them per pass. Other devices use ATen's convolution. Deterministic: every
/// output element and every weight gradient is summed in a fixed order.
torch::Tensor depthwise_conv(const torch::Tensor& x, const torch::Tensor& weight,
                             const DepthwiseGeometry& g, bool relu_input);

/// Gradients of `depthwise_conv` for `grad` [N, C, H_out, W_out]: with
/// respect to x (masked by x > 0 when `relu_input`) and to the weight; an
/// undefined tensor for each one not asked for.
std::pair<torch::Tensor, torch::Tensor> depthwise_conv_backward(
    const torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& weight,
    const DepthwiseGeometry& g, bool relu_input, bool need_input, bool need_weight);

}  // namespace nas::kernels
