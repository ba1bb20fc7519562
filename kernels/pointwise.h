#pragma once

#include <torch/types.h>

#include <utility>

namespace nas::kernels {

/// True when `pointwise_conv` runs naskit's own kernel for this input and
/// weight (a CPU float/double tensor, weight [C_out, C_in, 1, 1]); other
/// inputs go to ATen's convolution.
bool pointwise_is_own(const torch::Tensor& x, const torch::Tensor& weight);

/// 1x1 convolution, stride 1, no bias: x [N, C_in, H, W], weight
/// [C_out, C_in, 1, 1] -> [N, C_out, H, W].
///
/// On the CPU this is naskit's own kernel: per sample one small matrix
/// product W [C_out, C_in] x X [C_in, H*W], register-blocked (4 output
/// channels x 16 positions). At the DARTS search sizes (8-32 channels, batch
/// 32) oneDNN's 1x1 convolution spends most of its time outside the
/// arithmetic (0.3-0.5 ms per call at C=8, 28x28; `kernels_bench
/// --benchmark_filter=BM_PointwiseConv`). Deterministic: every output
/// element and every weight gradient is summed in a fixed order, whatever
/// the number of threads.
torch::Tensor pointwise_conv(const torch::Tensor& x, const torch::Tensor& weight);

/// Gradients of `pointwise_conv` for `grad` [N, C_out, H, W]: with respect
/// to x and to the weight; an undefined tensor for each one not asked for.
std::pair<torch::Tensor, torch::Tensor> pointwise_conv_backward(const torch::Tensor& grad,
                                                                const torch::Tensor& x,
                                                                const torch::Tensor& weight,
                                                                bool need_input, bool need_weight);

}  // namespace nas::kernels
