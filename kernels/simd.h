#pragma once

#include <cstdint>
#include <cstring>

namespace nas::kernels {

/// 32 bytes of T (8 floats, 4 doubles) for the own CPU kernels: one AVX
/// register where they are built for AVX2 (NAS_KERNEL_AVX2), two SSE
/// registers otherwise. Loads and stores are unaligned.
template <typename T>
struct Simd {
  typedef T Vec __attribute__((vector_size(32)));
  static constexpr int64_t kLanes = 32 / sizeof(T);
  static Vec load(const T* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(T* p, Vec v) { std::memcpy(p, &v, sizeof(v)); }
  static Vec splat(T a) { return Vec{} + a; }
};

}  // namespace nas::kernels
