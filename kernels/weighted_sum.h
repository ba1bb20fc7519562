#pragma once

#include <torch/types.h>

#include <vector>

namespace nas::kernels {

/// One term of a sum: `value`, times the 0-dim `weight` when that is
/// defined.
struct SumTerm {
  torch::Tensor value, weight;
};

/// The sum of the terms, left to right (each weighted term rounded as
/// `value * weight` before it is added); an undefined tensor when there are
/// none. Every value has the same shape.
///
/// A mixture's edge and a cell's node add up to 35 terms (7 ops on each of
/// up to 5 edges); on the CPU (float and double values of one type) this is
/// one pass over the terms, block by block, instead of a `mul` per weighted
/// term and an `add` per term, and its backward hands every unweighted term
/// the incoming gradient itself. A weight's gradient is <grad, value>,
/// summed in double over fixed blocks in a fixed order (the same whatever
/// the number of threads). Keeps only the weighted terms' values for
/// backward, as `value * weight` would. Other devices use ATen's ops.
torch::Tensor weighted_sum(const std::vector<SumTerm>& terms);

}  // namespace nas::kernels
