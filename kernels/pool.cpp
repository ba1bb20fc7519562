#include "kernels/pool.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <limits>
#include <vector>

#include "kernels/planes.h"
#include "kernels/simd.h"

namespace nas::kernels {

namespace {

using planes::Phases;
using planes::Plane;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kTaps = 9;

planes::Window window(int64_t stride) { return {3, stride, 1, 1}; }

/// Where a plane's 9 taps read (and the backward's scatter writes): the
/// padded plane itself at stride 1 (rows of wp), its phases at stride 2
/// (rows of wq); `n` wide output positions.
struct Taps {
  Plane p;
  Phases ph;
  int64_t stride, width, n, buffer;
  int64_t offset[kTaps];
  Taps(const torch::Tensor& x, int64_t s)
      : p(x, window(s)),
        ph(p, window(s)),
        stride(s),
        width(s == 1 ? p.wp : ph.wq),
        n(p.ho * width),
        buffer(s == 1 ? p.buffer() : ph.buffer()) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) offset[i * 3 + j] = s == 1 ? i * p.wp + j : ph.tap(i, j, 1);
    }
  }
};

/// Per-thread buffers of one plane.
template <typename T>
struct Scratch {
  std::vector<T> padded, phases, wide, wide2;
  explicit Scratch(const Taps& t)
      : padded(t.p.buffer()), phases(t.stride == 1 ? 0 : t.ph.buffer()), wide(t.n), wide2(t.n) {}
};

/// Window positions inside the plane of every output [Ho, Wo] (the
/// average's divisor).
template <typename T>
std::vector<T> counts(const Plane& p, int64_t s) {
  auto inside = [s](int64_t o, int64_t size) {
    const int64_t start = o * s - 1;
    return std::min(start + 3, size) - std::max<int64_t>(start, 0);
  };
  std::vector<T> c(p.ho * p.wo);
  for (int64_t r = 0; r < p.ho; ++r) {
    for (int64_t q = 0; q < p.wo; ++q)
      c[r * p.wo + q] = static_cast<T>(inside(r, p.h) * inside(q, p.w));
  }
  return c;
}

/// Plane `x` padded with `fill`, laid out for the taps.
template <typename T>
const T* load_taps(const T* x, const Taps& t, T fill, Scratch<T>& s) {
  planes::pad_plane(x, t.p, 1, false, s.padded.data(), fill);
  if (t.stride == 1) return s.padded.data();
  planes::split_phases(s.padded.data(), t.p, t.ph, s.phases.data());
  return s.phases.data();
}

/// out[i] = combine(...combine(tap_0, tap_1)..., tap_8) in row-major tap
/// order; `combine` takes two vectors or two scalars.
template <typename T, typename Combine>
void reduce_taps(const T* in, const Taps& t, T* out, Combine combine) {
  using S = Simd<T>;
  int64_t i = 0;
  for (; i + S::kLanes <= t.n; i += S::kLanes) {
    auto r = S::load(in + t.offset[0] + i);
    for (int64_t k = 1; k < kTaps; ++k) r = combine(r, S::load(in + t.offset[k] + i));
    S::store(out + i, r);
  }
  for (; i < t.n; ++i) {
    T r = in[t.offset[0] + i];
    for (int64_t k = 1; k < kTaps; ++k) r = combine(r, in[t.offset[k] + i]);
    out[i] = r;
  }
}

/// The maximum (a NaN wins, as in ATen) and the sum (padding adds zeros).
const auto kMaxOf = [](auto m, auto v) { return ((v > m) | (v != v)) ? v : m; };
const auto kSumOf = [](auto a, auto b) { return a + b; };

/// acc[offset_k + i] += g[k * step + i] for every tap k: the backward's
/// scatter (the average's with step 0: g divided by the counts; the max
/// pool's with each tap's routed share).
template <typename T>
void spread_taps(const T* g, int64_t step, const Taps& t, T* acc) {
  using S = Simd<T>;
  for (int64_t k = 0; k < kTaps; ++k) {
    T* a = acc + t.offset[k];
    const T* gk = g + k * step;
    int64_t i = 0;
    for (; i + S::kLanes <= t.n; i += S::kLanes) S::store(a + i, S::load(a + i) + S::load(gk + i));
    for (; i < t.n; ++i) a[i] += gk[i];
  }
}

/// routed[k * n + i] = g[i] if tap k is the first (row-major) whose value
/// is the output y[i], else 0: the max pool's backward, before
/// `spread_taps` adds each tap's share at its offset (in two passes: adding
/// at all 9 offsets per vector would store and reload overlapping vectors).
template <typename T>
void route_taps(const T* in, const T* y, const T* g, const Taps& t, T* routed) {
  using S = Simd<T>;
  int64_t i = 0;
  for (; i + S::kLanes <= t.n; i += S::kLanes) {
    const auto yv = S::load(y + i), gv = S::load(g + i);
    const typename S::Vec zero{};
    decltype(yv == yv) done{};  // lanes whose tap is found
    for (int64_t k = 0; k < kTaps; ++k) {
      const auto hit = (S::load(in + t.offset[k] + i) == yv) & ~done;
      done = done | hit;
      S::store(routed + k * t.n + i, hit ? gv : zero);
    }
  }
  for (; i < t.n; ++i) {
    bool done = false;
    for (int64_t k = 0; k < kTaps; ++k) {
      const bool hit = !done && in[t.offset[k] + i] == y[i];
      done = done || hit;
      routed[k * t.n + i] = hit ? g[i] : T(0);
    }
  }
}

template <typename T>
void forward_kernel(const torch::Tensor& x, int64_t s, bool max, torch::Tensor& y) {
  const Taps t(x, s);
  const auto& p = t.p;
  const auto count = max ? std::vector<T>() : counts<T>(p, s);
  const T fill = max ? -std::numeric_limits<T>::infinity() : T(0);
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  at::parallel_for(0, x.size(0) * x.size(1), 1, [&](int64_t begin, int64_t end) {
    Scratch<T> scratch(t);
    T* wide = scratch.wide.data();
    for (int64_t plane = begin; plane < end; ++plane) {
      const T* in = load_taps(xd + plane * p.h * p.w, t, fill, scratch);
      if (max) {
        reduce_taps(in, t, wide, kMaxOf);
      } else {
        reduce_taps(in, t, wide, kSumOf);
      }
      T* out = yd + plane * p.ho * p.wo;
      for (int64_t r = 0; r < p.ho; ++r) {
        for (int64_t c = 0; c < p.wo; ++c) {
          const T v = wide[r * t.width + c];
          out[r * p.wo + c] = max ? v : v / count[r * p.wo + c];
        }
      }
    }
  });
}

/// Output plane [Ho, Wo] onto wide rows (garbage columns zero), divided by
/// `count` when given.
template <typename T>
void widen(const T* v, const Taps& t, const T* count, T* wide) {
  std::fill(wide, wide + t.n, T(0));
  for (int64_t r = 0; r < t.p.ho; ++r) {
    for (int64_t c = 0; c < t.p.wo; ++c) {
      const T a = v[r * t.p.wo + c];
      wide[r * t.width + c] = count ? a / count[r * t.p.wo + c] : a;
    }
  }
}

template <typename T>
void backward_kernel(const torch::Tensor& grad, const torch::Tensor& x, const torch::Tensor& y,
                     int64_t s, bool max, torch::Tensor& gx) {
  const Taps t(gx, s);
  const auto& p = t.p;
  const auto count = max ? std::vector<T>() : counts<T>(p, s);
  const T* gd = grad.data_ptr<T>();
  const T* xd = max ? x.data_ptr<T>() : nullptr;
  const T* yd = max ? y.data_ptr<T>() : nullptr;
  T* gxd = gx.data_ptr<T>();
  at::parallel_for(0, gx.size(0) * gx.size(1), 1, [&](int64_t begin, int64_t end) {
    Scratch<T> scratch(t);
    std::vector<T> acc(t.buffer), merged(s == 1 ? 0 : p.buffer()), routed(max ? kTaps * t.n : 0);
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t at_out = plane * p.ho * p.wo;
      widen(gd + at_out, t, max ? nullptr : count.data(), scratch.wide.data());
      std::fill(acc.begin(), acc.end(), T(0));
      if (max) {
        const T* in =
            load_taps(xd + plane * p.h * p.w, t, -std::numeric_limits<T>::infinity(), scratch);
        widen(yd + at_out, t, static_cast<const T*>(nullptr), scratch.wide2.data());
        route_taps(in, scratch.wide2.data(), scratch.wide.data(), t, routed.data());
        spread_taps(routed.data(), t.n, t, acc.data());
      } else {
        spread_taps(scratch.wide.data(), 0, t, acc.data());
      }
      const T* padded = acc.data();
      if (s != 1) {
        planes::merge_phases(acc.data(), p, t.ph, merged.data());
        padded = merged.data();
      }
      T* out = gxd + plane * p.h * p.w;
      for (int64_t r = 0; r < p.h; ++r) {
        std::copy(padded + (r + 1) * p.wp + 1, padded + (r + 1) * p.wp + 1 + p.w, out + r * p.w);
      }
    }
  });
}

bool own_kernel(const torch::Tensor& x) {
  return x.device().is_cpu() && x.layout() == torch::kStrided && x.dim() == 4 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
}

class Pool3x3Function : public torch::autograd::Function<Pool3x3Function> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t stride,
                               bool max) {
    const auto xc = x.contiguous();
    const Plane p(xc, window(stride));
    auto y = torch::empty({x.size(0), x.size(1), p.ho, p.wo}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pool_3x3",
                               [&] { forward_kernel<scalar_t>(xc, stride, max, y); });
    ctx->save_for_backward(max ? variable_list{xc, y} : variable_list{});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["max"] = max;
    ctx->saved_data["sizes"] = x.sizes().vec();
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "pool_3x3: second derivatives (create_graph=true) are not supported");
    const auto saved = ctx->get_saved_variables();
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const bool max = ctx->saved_data["max"].toBool();
    const auto g = grads[0].contiguous();
    auto gx = torch::empty(ctx->saved_data["sizes"].toIntVector(), g.options());
    const torch::Tensor none;
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "pool_3x3_backward", [&] {
      backward_kernel<scalar_t>(g, max ? saved[0] : none, max ? saved[1] : none, stride, max, gx);
    });
    return {gx, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor pool_3x3(const torch::Tensor& x, int64_t stride, bool max) {
  TORCH_CHECK(stride == 1 || stride == 2, "pool_3x3: expected stride 1 or 2, got ", stride);
  if (!own_kernel(x)) {
    return max ? torch::max_pool2d(x, {3, 3}, {stride, stride}, {1, 1})
               : torch::avg_pool2d(x, {3, 3}, {stride, stride}, {1, 1}, /*ceil_mode=*/false,
                                   /*count_include_pad=*/false);
  }
  return Pool3x3Function::apply(x, stride, max);
}

}  // namespace nas::kernels
