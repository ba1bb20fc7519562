#pragma once

#include <torch/types.h>

#include <cstdint>

namespace nas::kernels {

/// 3x3 pooling, padding 1, stride 1 or 2, of x [N, C, H, W], as the DARTS
/// and NAS-Bench-201 cells use it: the maximum over the window (padding
/// never wins) or the average over the window's positions inside the plane
/// (count_include_pad=False).
///
/// On the CPU (float and double) this is naskit's own kernel with its own
/// backward: LibTorch 1.13's pools take 1-2.5 ms per call at the DARTS
/// search sizes (batch 32, C=8, 28x28; `kernels_bench --benchmark_filter=BM_Pool`),
/// where one pass over the plane's taps takes a tenth of that. The values
/// are ATen's (the maximum; the window sum in row-major order divided by
/// the count); a tie in the maximum sends the gradient to the first tap in
/// row-major order, as ATen does. The max pool keeps its output (not int64
/// indices) for backward and finds the winning tap again. Other devices
/// and types use ATen's pools. Second derivatives are not supported.
torch::Tensor pool_3x3(const torch::Tensor& x, int64_t stride, bool max);

}  // namespace nas::kernels
