#include "core/rng.h"

#include <sstream>

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "core/error.h"

namespace nas::core {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int64_t Rng::uniform_int(int64_t n) {
  if (n <= 0) throw Error("Rng::uniform_int: n must be positive");
  // Rejection sampling: unbiased and independent of the standard library.
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  uint64_t x = engine_();
  while (x >= limit) x = engine_();
  return static_cast<int64_t>(x % un);
}

double Rng::uniform() {
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[uniform_int(i + 1)]);
  return p;
}

Rng Rng::derive(uint64_t salt) const {
  std::mt19937_64 copy = engine_;
  return Rng(mix_seed(copy(), salt));
}

std::string Rng::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Rng::set_state(const std::string& state) {
  std::istringstream in(state);
  in >> engine_;
  if (in.fail()) throw Error("corrupt random-number-generator state");
}

torch::Tensor torch_rng_state(const torch::Device& device) {
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_torch_rng_state(const torch::Tensor& state, const torch::Device& device) {
  auto gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.cpu());
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

}  // namespace nas::core
