#include "kernels/depthwise.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/planes.h"
#include "kernels/simd.h"

#include <algorithm>
#include <vector>

namespace nas::kernels {

namespace {

using planes::Phases;
using planes::Plane;
using planes::merge_phases;
using planes::pad_plane;
using planes::split_phases;
using planes::widen;
using planes::widen_to;

/// The window of a depthwise geometry.
planes::Window window(const DepthwiseGeometry& g) { return {g.kernel, g.stride, g.padding, g.dilation}; }

/// out[j] += sum_t g[t] * row[t + j*d] for the K taps of one kernel row:
/// K independent vector accumulators (one dot product alone is bound by the
/// latency of its additions), lanes then the scalar tail summed in order.
template <typename T, int K>
void row_dots(const T* g, const T* row, int64_t d, int64_t n, double* out) {
  using S = Simd<T>;
  typename S::Vec a[K] = {};
  int64_t t = 0;
  for (; t + S::kLanes <= n; t += S::kLanes) {
    const auto gv = S::load(g + t);
    for (int j = 0; j < K; ++j) a[j] += gv * S::load(row + t + j * d);
  }
  T tail[K] = {};
  for (; t < n; ++t) {
    for (int j = 0; j < K; ++j) tail[j] += g[t] * row[t + j * d];
  }
  for (int j = 0; j < K; ++j) {
    T sum = 0;
    for (int64_t l = 0; l < S::kLanes; ++l) sum += a[j][l];
    out[j] += sum + tail[j];
  }
}

template <typename T>
void row_dots(const T* g, const T* row, int64_t k, int64_t d, int64_t n, double* out) {
  switch (k) {
    case 3:
      return row_dots<T, 3>(g, row, d, n, out);
    case 5:
      return row_dots<T, 5>(g, row, d, n, out);
    case 7:
      return row_dots<T, 7>(g, row, d, n, out);
    default:
      for (int64_t j = 0; j < k; ++j) row_dots<T, 1>(g, row + j * d, d, n, out + j);
  }
}

/// y[t] += sum_j w[j] * row[t + j*d] for the K taps of one kernel row.
template <typename T, int K>
void row_taps(const T* w, const T* row, int64_t d, int64_t n, T* y) {
  using S = Simd<T>;
  int64_t t = 0;
  for (; t + S::kLanes <= n; t += S::kLanes) {
    auto sum = S::load(y + t);
    for (int j = 0; j < K; ++j) sum += w[j] * S::load(row + t + j * d);
    S::store(y + t, sum);
  }
  for (; t < n; ++t) {
    T sum = y[t];
    for (int j = 0; j < K; ++j) sum += w[j] * row[t + j * d];
    y[t] = sum;
  }
}

template <typename T>
void row_taps(const T* w, const T* row, int64_t k, int64_t d, int64_t n, T* y) {
  switch (k) {
    case 3:
      return row_taps<T, 3>(w, row, d, n, y);
    case 5:
      return row_taps<T, 5>(w, row, d, n, y);
    case 7:
      return row_taps<T, 7>(w, row, d, n, y);
    default:
      for (int64_t j = 0; j < k; ++j) row_taps<T, 1>(w + j, row + j * d, d, n, y);
  }
}

template <typename T>
void axpy(T a, const T* x, T* y, int64_t n) {
#pragma omp simd
  for (int64_t t = 0; t < n; ++t) y[t] += a * x[t];
}

template <typename T>
void forward_kernel(const torch::Tensor& x, const torch::Tensor& weight, const DepthwiseGeometry& g,
                    bool relu, torch::Tensor& y) {
  const Plane p(x, window(g));
  const int64_t channels = x.size(1), k = g.kernel, s = g.stride, d = g.dilation;
  const T* xd = x.data_ptr<T>();
  const T* wd = weight.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  const Phases ph(p, window(g));
  at::parallel_for(0, x.size(0) * channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> buf(p.buffer()), wide(p.ho * p.wp), phases(s == 1 ? 0 : ph.buffer());
    for (int64_t plane = begin; plane < end; ++plane) {
      pad_plane(xd + plane * p.h * p.w, p, g.padding, relu, buf.data());
      const T* w = wd + (plane % channels) * k * k;
      T* out = yd + plane * p.ho * p.wo;
      std::fill(wide.begin(), wide.end(), T(0));
      int64_t width = p.wp;
      if (s == 1) {
        for (int64_t i = 0; i < k; ++i) {
          row_taps(w + i * k, buf.data() + i * d * p.wp, k, d, p.ho * p.wp, wide.data());
        }
      } else {
        split_phases(buf.data(), p, ph, phases.data());
        width = ph.wq;
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            row_taps<T, 1>(w + i * k + j, phases.data() + ph.tap(i, j, d), 0, p.ho * width,
                           wide.data());
          }
        }
      }
      for (int64_t r = 0; r < p.ho; ++r) {
        std::copy(wide.data() + r * width, wide.data() + r * width + p.wo, out + r * p.wo);
      }
    }
  });
}

template <typename T>
void input_grad_kernel(const torch::Tensor& grad, const torch::Tensor& x,
                       const torch::Tensor& weight, const DepthwiseGeometry& g, bool relu,
                       torch::Tensor& gx) {
  const Plane p(x, window(g));
  const int64_t channels = x.size(1), k = g.kernel, s = g.stride, d = g.dilation;
  const T* gd = grad.data_ptr<T>();
  const T* xd = x.data_ptr<T>();
  const T* wd = weight.data_ptr<T>();
  T* gxd = gx.data_ptr<T>();
  const Phases ph(p, window(g));
  at::parallel_for(0, x.size(0) * channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> buf(p.buffer()), wide(p.ho * p.wp), phases(s == 1 ? 0 : ph.buffer());
    for (int64_t plane = begin; plane < end; ++plane) {
      std::fill(buf.begin(), buf.end(), T(0));
      const T* w = wd + (plane % channels) * k * k;
      const T* go = gd + plane * p.ho * p.wo;
      if (s == 1) {
        widen(go, p, wide.data());
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            axpy(w[i * k + j], wide.data(), buf.data() + i * d * p.wp + j * d, p.ho * p.wp);
          }
        }
      } else {
        // Scatter into the phases (garbage columns of the gradient are
        // zero), then back into the padded plane.
        widen_to(go, p, ph.wq, wide.data());
        std::fill(phases.begin(), phases.end(), T(0));
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            axpy(w[i * k + j], wide.data(), phases.data() + ph.tap(i, j, d), p.ho * ph.wq);
          }
        }
        merge_phases(phases.data(), p, ph, buf.data());
      }
      const T* xs = xd + plane * p.h * p.w;
      T* out = gxd + plane * p.h * p.w;
      for (int64_t r = 0; r < p.h; ++r) {
        const T* src = buf.data() + (r + g.padding) * p.wp + g.padding;
        const T* xr = xs + r * p.w;
        T* dst = out + r * p.w;
        if (relu) {
          for (int64_t c = 0; c < p.w; ++c) dst[c] = xr[c] > T(0) ? src[c] : T(0);
        } else {
          std::copy(src, src + p.w, dst);
        }
      }
    }
  });
}

template <typename T>
void weight_grad_kernel(const torch::Tensor& grad, const torch::Tensor& x,
                        const DepthwiseGeometry& g, bool relu, torch::Tensor& gw) {
  const Plane p(x, window(g));
  const int64_t n = x.size(0), channels = x.size(1);
  const int64_t k = g.kernel, s = g.stride, d = g.dilation;
  const T* gd = grad.data_ptr<T>();
  const T* xd = x.data_ptr<T>();
  T* gwd = gw.data_ptr<T>();
  // NOTE: one channel per task and samples summed in order, so the weight
  // gradient does not depend on the number of threads.
  const Phases ph(p, window(g));
  at::parallel_for(0, channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> buf(p.buffer()), wide(p.ho * p.wp), phases(s == 1 ? 0 : ph.buffer());
    std::vector<double> acc(k * k);
    for (int64_t c = begin; c < end; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t b = 0; b < n; ++b) {
        const int64_t plane = b * channels + c;
        pad_plane(xd + plane * p.h * p.w, p, g.padding, relu, buf.data());
        const T* go = gd + plane * p.ho * p.wo;
        if (s == 1) {
          widen(go, p, wide.data());
          for (int64_t i = 0; i < k; ++i) {
            row_dots(wide.data(), buf.data() + i * d * p.wp, k, d, p.ho * p.wp, &acc[i * k]);
          }
          continue;
        }
        // Garbage columns of the widened gradient are zero: their products
        // add nothing.
        split_phases(buf.data(), p, ph, phases.data());
        widen_to(go, p, ph.wq, wide.data());
        for (int64_t i = 0; i < k; ++i) {
          for (int64_t j = 0; j < k; ++j) {
            row_dots<T, 1>(wide.data(), phases.data() + ph.tap(i, j, d), 0, p.ho * ph.wq,
                           &acc[i * k + j]);
          }
        }
      }
      for (int64_t t = 0; t < k * k; ++t) gwd[c * k * k + t] = static_cast<T>(acc[t]);
    }
  });
}

bool own_kernel(const torch::Tensor& x) {
  return x.device().is_cpu() && x.layout() == torch::kStrided &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

/// Which kernel is faster (`kernels_bench --benchmark_filter=BM_DepthwiseConv`,
/// batch 32 at the DARTS search sizes, both on 2 threads). Forward: oneDNN's
/// JIT kernel once the channels fill its SIMD blocks (C=16/32: 0.05-0.15 ms
/// vs this file's 0.06-0.33 ms; at C=8 this file's 1.3-2.2x faster at
/// stride 1, on par at stride 2). Backward: this file's, 1.2-80x faster,
/// except oneDNN's 3x3 undilated stride-2 kernel at C=16/32 (0.15-0.21 ms vs
/// 0.31-0.35 ms).
bool aten_forward_is_faster(const torch::Tensor& x) { return x.size(1) >= 16; }
bool aten_backward_is_faster(const torch::Tensor& x, const DepthwiseGeometry& g) {
  return aten_forward_is_faster(x) && g.kernel == 3 && g.dilation == 1 && g.stride == 2;
}

void check_args(const torch::Tensor& x, const torch::Tensor& weight, const DepthwiseGeometry& g) {
  TORCH_CHECK(x.dim() == 4, "depthwise_conv: expected x [N, C, H, W], got ", x.sizes());
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == x.size(1) && weight.size(1) == 1 &&
                  weight.size(2) == g.kernel && weight.size(3) == g.kernel,
              "depthwise_conv: expected weight [", x.size(1), ", 1, ", g.kernel, ", ", g.kernel,
              "], got ", weight.sizes());
  TORCH_CHECK(g.stride >= 1 && g.dilation >= 1 && g.padding >= 0,
              "depthwise_conv: bad stride/dilation/padding");
}

torch::Tensor own_forward(const torch::Tensor& x, const torch::Tensor& weight,
                          const DepthwiseGeometry& g, bool relu_input) {
  const auto xc = x.contiguous();
  const auto wc = weight.contiguous();
  const Plane p(xc, window(g));
  TORCH_CHECK(p.ho > 0 && p.wo > 0, "depthwise_conv: input ", x.sizes(), " too small for kernel ",
              g.kernel, " dilation ", g.dilation);
  auto y = torch::empty({x.size(0), x.size(1), p.ho, p.wo}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "depthwise_conv",
                             [&] { forward_kernel<scalar_t>(xc, wc, g, relu_input, y); });
  return y;
}

torch::Tensor aten_forward(const torch::Tensor& x, const torch::Tensor& weight,
                           const DepthwiseGeometry& g, bool relu_input) {
  return torch::conv2d(relu_input ? torch::relu(x) : x, weight, {}, g.stride, g.padding, g.dilation,
                       x.size(1));
}

std::pair<torch::Tensor, torch::Tensor> aten_backward(const torch::Tensor& grad,
                                                      const torch::Tensor& x,
                                                      const torch::Tensor& weight,
                                                      const DepthwiseGeometry& g, bool relu_input,
                                                      bool need_input, bool need_weight) {
  const auto r = relu_input ? torch::relu(x) : x;
  auto [gi, gw, gb] = at::convolution_backward(
      grad, r, weight, c10::nullopt, {g.stride, g.stride}, {g.padding, g.padding},
      {g.dilation, g.dilation}, false, {0, 0}, x.size(1), {need_input, need_weight, false});
  if (need_input && relu_input) gi = torch::threshold_backward(gi, x, 0);
  return {gi, gw};
}

}  // namespace

torch::Tensor depthwise_conv(const torch::Tensor& x, const torch::Tensor& weight,
                             const DepthwiseGeometry& g, bool relu_input) {
  check_args(x, weight, g);
  if (!own_kernel(x) || aten_forward_is_faster(x)) return aten_forward(x, weight, g, relu_input);
  return own_forward(x, weight, g, relu_input);
}

std::pair<torch::Tensor, torch::Tensor> depthwise_conv_backward(
    const torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& weight,
    const DepthwiseGeometry& g, bool relu_input, bool need_input, bool need_weight) {
  check_args(x, weight, g);
  if (!own_kernel(x) || aten_backward_is_faster(x, g)) {
    return aten_backward(grad, x, weight, g, relu_input, need_input, need_weight);
  }
  torch::Tensor gx, gw;
  const auto gc = grad.contiguous();
  const auto xc = x.contiguous();
  const int64_t flipped_padding = g.dilation * (g.kernel - 1) - g.padding;
  if (need_input && g.stride == 1 && flipped_padding >= 0) {
    // At stride 1 the input gradient is the forward conv of the gradient
    // with the flipped kernel, so it runs on the faster forward kernel.
    const DepthwiseGeometry flipped{g.kernel, 1, flipped_padding, g.dilation};
    const auto w = weight.flip({2, 3});
    gx = aten_forward_is_faster(x) ? aten_forward(gc, w, flipped, false)
                                   : own_forward(gc, w, flipped, false);
    if (relu_input) gx = torch::threshold_backward(gx, xc, 0);
    need_input = false;
  }
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "depthwise_conv_backward", [&] {
    if (need_input) {
      gx = torch::empty_like(xc);
      input_grad_kernel<scalar_t>(gc, xc, weight.contiguous(), g, relu_input, gx);
    }
    if (need_weight) {
      gw = torch::empty_like(weight, torch::MemoryFormat::Contiguous);
      weight_grad_kernel<scalar_t>(gc, xc, g, relu_input, gw);
    }
  });
  return {gx, gw};
}

}  // namespace nas::kernels
