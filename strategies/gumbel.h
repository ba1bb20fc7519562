#pragma once

#include <torch/types.h>

namespace nas::strategies {

/// Gumbel(0, 1) noise of `like`'s shape from torch's generator:
/// -log(Exponential(1)) (AutoDL), resampled where it is not finite.
torch::Tensor gumbel_like(const torch::Tensor& like);

/// softmax((logits + gumbel) / tau) per row: the relaxed sample of SNAS and
/// the soft probabilities of GDAS.
torch::Tensor gumbel_softmax(const torch::Tensor& logits, double tau);

/// Linear schedule from `start` (epoch 0) to `end` (epoch `epochs` - 1).
double linear_schedule(double start, double end, int64_t epoch, int64_t epochs);

}  // namespace nas::strategies
