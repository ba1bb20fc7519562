#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nas::core {

/// The toolkit's own random stream (sampling architectures, shuffling,
/// augmentation). A fixed algorithm (mt19937_64) with our own integer and
/// real draws, so the same seed gives the same numbers with any standard
/// library. Its state is text, so it goes into checkpoints.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}

  uint64_t next_u64() { return engine_(); }
  /// Uniform integer in [0, n).
  int64_t uniform_int(int64_t n);
  /// Uniform real in [0, 1).
  double uniform();
  bool bernoulli(double p) { return uniform() < p; }
  /// A uniformly random permutation of 0..n-1.
  std::vector<int64_t> permutation(int64_t n);
  /// An independent stream for a sub-task (e.g. one epoch's shuffling).
  Rng derive(uint64_t salt) const;

  std::string state() const;
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

/// Mixes integers into one well-spread seed (splitmix64).
uint64_t mix_seed(uint64_t a, uint64_t b);

/// State of torch's default generator of `device` (the CPU's, or a CUDA
/// device's) for checkpoints, and its restore (`state` may sit on any
/// device: it is copied to the CPU first).
torch::Tensor torch_rng_state(const torch::Device& device = torch::kCPU);
void set_torch_rng_state(const torch::Tensor& state, const torch::Device& device = torch::kCPU);

/// Seeds every generator the toolkit uses: torch's CPU (and CUDA, when
/// present) generators. Our own Rng streams are seeded from the same value.
void seed_everything(uint64_t seed);

}  // namespace nas::core
