#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace nas::search_space {

/// What runs on one decision (edge or block) in one forward pass.
///
/// The MixedOp returns `sum_k weights[k] * op[ops[k]](x) + offset`, where a
/// missing `weights` means 1 for every active op and a missing `offset`
/// means 0. `none` ops are skipped (they would add zeros). An empty `ops`
/// means the edge contributes nothing.
///  - DARTS: all ops, weights = softmax(alpha).
///  - GDAS: one op, weight = the straight-through hard sample, and `offset`
///    = the sum of the unselected (zero-valued) weights, so that every
///    alpha gets a gradient (AutoDL's forward_gdas).
///  - FairNAS, random search with weight sharing, a discrete architecture:
///    one op, no weight.
///  - Single-Path NAS (a superkernel supernet): `indicators`, the block's
///    superkernel indicators [S] (SuperkernelImpl); `ops` is then unused.
///    A superkernel supernet runs a one-op choice as that candidate's
///    hard indicators.
struct EdgeChoice {
  std::vector<int64_t> ops;
  torch::Tensor weights;
  torch::Tensor offset;
  torch::Tensor indicators;
};

/// One EdgeChoice per decision of the space, in the space's decision order.
struct PathSpec {
  std::vector<EdgeChoice> edges;

  /// Every op of every decision, weighted by the rows of `weights` [D, K].
  static PathSpec weighted_all(const torch::Tensor& weights);
  /// The ops where `keep` [D, K] is true, weighted by those entries of
  /// `weights` [D, K] (ASAP's live ops, DARTS-PRIME's unmasked CRB ops).
  static PathSpec weighted_where(const torch::Tensor& weights, const torch::Tensor& keep);
  /// One op per decision (-1: the decision runs nothing), unweighted.
  static PathSpec single(const std::vector<int64_t>& ops);
  /// Every decision's superkernel indicators, the rows of `indicators` [D, S].
  static PathSpec superkernel(const torch::Tensor& indicators);
};

}  // namespace nas::search_space
