#pragma once

#include <torch/types.h>

namespace nas {

/// One minibatch: images `x` [N, C, H, W] float (normalised) and integer
/// class labels `y` [N], both on the run's device.
struct Batch {
  torch::Tensor x;
  torch::Tensor y;
  int64_t size() const { return y.defined() ? y.size(0) : 0; }
};

}  // namespace nas
