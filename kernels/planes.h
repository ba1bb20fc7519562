#pragma once

// Plane geometry and layout helpers shared by naskit's own CPU kernels for
// windowed ops on [N, C, H, W] planes (depthwise convolution, 3x3 pooling):
// each (sample, channel) plane is zero- (or otherwise) padded into a
// buffer, and every kernel tap is then one contiguous loop over "wide" rows.
// Internal to the kernels room.

#include <torch/types.h>

#include <algorithm>
#include <cstdint>

namespace nas::kernels::planes {

/// Square window geometry: kernel, stride, padding, dilation (equal in both
/// directions).
struct Window {
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t padding = 1;
  int64_t dilation = 1;
};

/// Sizes of one (sample, channel) plane: input H x W, padded Hp x Wp,
/// output Ho x Wo. At stride 1 the kernels work on "wide" rows: output row
/// oh is computed for all Wp columns (the last (k-1)*d are garbage, dropped
/// on copy-out), so each of the k*k taps is one contiguous loop over the
/// whole plane, long enough to vectorise. `slack` zeros after the padded
/// plane keep the garbage columns' reads in bounds.
struct Plane {
  int64_t h, w, hp, wp, ho, wo, slack;
  Plane(const torch::Tensor& x, const Window& g) {
    h = x.size(2);
    w = x.size(3);
    hp = h + 2 * g.padding;
    wp = w + 2 * g.padding;
    ho = (hp - g.dilation * (g.kernel - 1) - 1) / g.stride + 1;
    wo = (wp - g.dilation * (g.kernel - 1) - 1) / g.stride + 1;
    slack = g.dilation * (g.kernel - 1);
  }
  int64_t buffer() const { return hp * wp + slack; }
};

/// Copies plane `x` (relu'd when asked) into the middle of the padded
/// buffer `buf`, whose border (and slack) is `fill`.
template <typename T>
void pad_plane(const T* x, const Plane& p, int64_t pad, bool relu, T* buf, T fill = T(0)) {
  std::fill(buf, buf + p.buffer(), fill);
  for (int64_t r = 0; r < p.h; ++r) {
    const T* src = x + r * p.w;
    T* dst = buf + (r + pad) * p.wp + pad;
    if (relu) {
      for (int64_t c = 0; c < p.w; ++c) dst[c] = std::max(src[c], T(0));
    } else {
      std::copy(src, src + p.w, dst);
    }
  }
}

/// The gradient plane [Ho, Wo] spread onto wide rows [Ho, Wp] (garbage
/// columns zero), for stride 1.
template <typename T>
void widen(const T* g, const Plane& p, T* wide) {
  std::fill(wide, wide + p.ho * p.wp, T(0));
  for (int64_t r = 0; r < p.ho; ++r) std::copy(g + r * p.wo, g + (r + 1) * p.wo, wide + r * p.wp);
}

/// A strided plane split by row and column phase: phase (a, b) is the
/// [hq, wq] plane of buf[s*r + a][s*c + b] (zeros past the edge), so that
/// the tap (i, j) of every output (oh, ow) reads phase ((i*d) % s,
/// (j*d) % s) at (oh + i*d/s, ow + j*d/s). The kernels then run over "wide"
/// rows of wq columns, contiguous and long enough to vectorise, as at
/// stride 1; `slack` zeros after each phase keep the garbage columns' reads
/// in bounds.
struct Phases {
  int64_t s, hq, wq, slack;
  Phases(const Plane& p, const Window& g)
      : s(g.stride),
        hq((p.hp + g.stride - 1) / g.stride),
        wq((p.wp + g.stride - 1) / g.stride),
        slack(g.dilation * (g.kernel - 1) / g.stride + 1) {}
  int64_t size() const { return hq * wq + slack; }
  int64_t buffer() const { return s * s * size(); }
  /// Start of tap (i, j)'s reads (or writes) in the phase buffer.
  int64_t tap(int64_t i, int64_t j, int64_t d) const {
    const int64_t ri = i * d, cj = j * d;
    return ((ri % s) * s + cj % s) * size() + (ri / s) * wq + cj / s;
  }
};

/// The padded plane `buf` [hp, wp] into its phases (`ph.buffer()` values).
template <typename T>
void split_phases(const T* buf, const Plane& p, const Phases& ph, T* out) {
  std::fill(out, out + ph.buffer(), T(0));
  for (int64_t a = 0; a < ph.s; ++a) {
    for (int64_t b = 0; b < ph.s; ++b) {
      T* dst = out + (a * ph.s + b) * ph.size();
      for (int64_t r = a; r < p.hp; r += ph.s, dst += ph.wq) {
        const T* src = buf + r * p.wp;
        for (int64_t c = b, q = 0; c < p.wp; c += ph.s, ++q) dst[q] = src[c];
      }
    }
  }
}

/// The phases back into the padded plane `buf` [hp, wp].
template <typename T>
void merge_phases(const T* in, const Plane& p, const Phases& ph, T* buf) {
  for (int64_t a = 0; a < ph.s; ++a) {
    for (int64_t b = 0; b < ph.s; ++b) {
      const T* src = in + (a * ph.s + b) * ph.size();
      for (int64_t r = a; r < p.hp; r += ph.s, src += ph.wq) {
        T* dst = buf + r * p.wp;
        for (int64_t c = b, q = 0; c < p.wp; c += ph.s, ++q) dst[c] = src[q];
      }
    }
  }
}

/// The gradient plane [Ho, Wo] spread onto wide rows [Ho, width] (garbage
/// columns zero).
template <typename T>
void widen_to(const T* g, const Plane& p, int64_t width, T* wide) {
  std::fill(wide, wide + p.ho * width, T(0));
  for (int64_t r = 0; r < p.ho; ++r) std::copy(g + r * p.wo, g + (r + 1) * p.wo, wide + r * width);
}

}  // namespace nas::kernels::planes
