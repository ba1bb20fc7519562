#include "kernels/pointwise.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/simd.h"

#include <cstring>
#include <vector>

namespace nas::kernels {

namespace {

/// Y [co_n, P] = W [co_n, ci_n] X [ci_n, P] for one sample (rows of W
/// `w_stride` apart). Blocks of 4 output channels x 2 vectors of positions
/// stay in registers while the input channels stream past; each output is
/// sum_ci w[co, ci] x[ci, p] in ci order.
template <typename T>
void matmul_plane(const T* w, int64_t w_stride, const T* x, int64_t ci_n, int64_t co_n, int64_t P,
                  T* y) {
  using S = Simd<T>;
  using V = typename S::Vec;
  constexpr int64_t L = S::kLanes, kBlock = 2 * L;
  int64_t co = 0;
  for (; co + 4 <= co_n; co += 4) {
    const T* wr = w + co * w_stride;
    int64_t p = 0;
    for (; p + kBlock <= P; p += kBlock) {
      V acc[4][2] = {};
      for (int64_t c = 0; c < ci_n; ++c) {
        const V x0 = S::load(x + c * P + p), x1 = S::load(x + c * P + p + L);
        for (int r = 0; r < 4; ++r) {
          const V a = S::splat(wr[r * w_stride + c]);
          acc[r][0] += a * x0;
          acc[r][1] += a * x1;
        }
      }
      for (int r = 0; r < 4; ++r) {
        S::store(y + (co + r) * P + p, acc[r][0]);
        S::store(y + (co + r) * P + p + L, acc[r][1]);
      }
    }
    for (; p < P; ++p) {
      for (int r = 0; r < 4; ++r) {
        T sum = 0;
        for (int64_t c = 0; c < ci_n; ++c) sum += wr[r * w_stride + c] * x[c * P + p];
        y[(co + r) * P + p] = sum;
      }
    }
  }
  for (; co < co_n; ++co) {
    const T* wr = w + co * w_stride;
    for (int64_t p = 0; p < P; ++p) {
      T sum = 0;
      for (int64_t c = 0; c < ci_n; ++c) sum += wr[c] * x[c * P + p];
      y[co * P + p] = sum;
    }
  }
}

/// y[n] = W x[n] for every sample, one sample per task.
template <typename T>
void batched_matmul(const T* w, const T* x, int64_t n, int64_t ci_n, int64_t co_n, int64_t P,
                    T* y) {
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      matmul_plane(w, ci_n, x + b * ci_n * P, ci_n, co_n, P, y + b * co_n * P);
    }
  });
}

/// gw[co0 + r, c0 + c] for r < rows, c < CB: sum over samples and
/// positions, in order, of g * x into per-lane register accumulators, then
/// the lanes in order, then the scalar tail.
template <typename T, int CB>
void weight_grad_block(const T* g, const T* x, int64_t n, int64_t ci_n, int64_t co_n, int64_t P,
                       int64_t co0, int64_t rows, int64_t c0, T* gw) {
  using S = Simd<T>;
  using V = typename S::Vec;
  constexpr int64_t L = S::kLanes;
  V acc[4][CB] = {};
  T tail[4][CB] = {};
  for (int64_t b = 0; b < n; ++b) {
    const T* gb = g + (b * co_n + co0) * P;
    const T* xb = x + (b * ci_n + c0) * P;
    int64_t p = 0;
    for (; p + L <= P; p += L) {
      V xv[CB];
      for (int c = 0; c < CB; ++c) xv[c] = S::load(xb + c * P + p);
      for (int64_t r = 0; r < rows; ++r) {
        const V gv = S::load(gb + r * P + p);
        for (int c = 0; c < CB; ++c) acc[r][c] += gv * xv[c];
      }
    }
    for (; p < P; ++p) {
      for (int64_t r = 0; r < rows; ++r) {
        for (int c = 0; c < CB; ++c) tail[r][c] += gb[r * P + p] * xb[c * P + p];
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int c = 0; c < CB; ++c) {
      T sum = 0;
      for (int64_t l = 0; l < L; ++l) sum += acc[r][c][l];
      gw[(co0 + r) * ci_n + c0 + c] = sum + tail[r][c];
    }
  }
}

/// gw [co_n, ci_n] = sum_n g[n] x[n]^T. One block of 4 output channels per
/// task, each weight summed in a fixed order (`weight_grad_block`), so the
/// result does not depend on the threads.
template <typename T>
void weight_grad(const T* g, const T* x, int64_t n, int64_t ci_n, int64_t co_n, int64_t P, T* gw) {
  const int64_t blocks = (co_n + 3) / 4;
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t blk = begin; blk < end; ++blk) {
      const int64_t co0 = blk * 4, rows = std::min<int64_t>(4, co_n - co0);
      int64_t c = 0;
      for (; c + 2 <= ci_n; c += 2)
        weight_grad_block<T, 2>(g, x, n, ci_n, co_n, P, co0, rows, c, gw);
      if (c < ci_n) weight_grad_block<T, 1>(g, x, n, ci_n, co_n, P, co0, rows, c, gw);
    }
  });
}

void check_args(const torch::Tensor& x, const torch::Tensor& weight) {
  TORCH_CHECK(x.dim() == 4, "pointwise_conv: expected x [N, C, H, W], got ", x.sizes());
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == x.size(1) && weight.size(2) == 1 &&
                  weight.size(3) == 1,
              "pointwise_conv: expected weight [C_out, ", x.size(1), ", 1, 1], got ",
              weight.sizes());
}

}  // namespace

bool pointwise_is_own(const torch::Tensor& x, const torch::Tensor& weight) {
  return x.device().is_cpu() && x.layout() == torch::kStrided &&
         weight.scalar_type() == x.scalar_type() &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

torch::Tensor pointwise_conv(const torch::Tensor& x, const torch::Tensor& weight) {
  check_args(x, weight);
  if (!pointwise_is_own(x, weight)) return torch::conv2d(x, weight);
  const auto xc = x.contiguous();
  const auto wc = weight.contiguous();
  const int64_t n = x.size(0), ci = x.size(1), co = weight.size(0), P = x.size(2) * x.size(3);
  auto y = torch::empty({n, co, x.size(2), x.size(3)}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pointwise_conv", [&] {
    batched_matmul(wc.data_ptr<scalar_t>(), xc.data_ptr<scalar_t>(), n, ci, co, P,
                   y.data_ptr<scalar_t>());
  });
  return y;
}

std::pair<torch::Tensor, torch::Tensor> pointwise_conv_backward(const torch::Tensor& grad,
                                                                const torch::Tensor& x,
                                                                const torch::Tensor& weight,
                                                                bool need_input, bool need_weight) {
  check_args(x, weight);
  if (!pointwise_is_own(x, weight)) {
    auto [gx, gw, gb] =
        at::convolution_backward(grad, x, weight, c10::nullopt, {1, 1}, {0, 0}, {1, 1}, false,
                                 {0, 0}, 1, {need_input, need_weight, false});
    return {gx, gw};
  }
  const auto gc = grad.contiguous();
  const auto xc = x.contiguous();
  const int64_t n = x.size(0), ci = x.size(1), co = weight.size(0), P = x.size(2) * x.size(3);
  torch::Tensor gx, gw;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pointwise_conv_backward", [&] {
    if (need_input) {
      // dL/dx[n] = W^T g[n]: the forward kernel with the transposed weight.
      const auto wt = weight.view({co, ci}).t().contiguous();
      gx = torch::empty_like(xc);
      batched_matmul(wt.data_ptr<scalar_t>(), gc.data_ptr<scalar_t>(), n, co, ci, P,
                     gx.data_ptr<scalar_t>());
    }
    if (need_weight) {
      gw = torch::empty_like(weight, torch::MemoryFormat::Contiguous);
      weight_grad(gc.data_ptr<scalar_t>(), xc.data_ptr<scalar_t>(), n, ci, co, P,
                  gw.data_ptr<scalar_t>());
    }
  });
  return {gx, gw};
}

}  // namespace nas::kernels
