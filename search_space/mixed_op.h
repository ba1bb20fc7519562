#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "search_space/ops.h"
#include "search_space/path.h"
#include "kernels/weighted_sum.h"

namespace nas::search_space {

/// What one edge adds to its node: `sum(terms) + offset` (each term an op's
/// output, times its weight where the op did not fold the weight in
/// itself); the offset (0-dim, GDAS on `none`) may be undefined.
struct EdgeTerms {
  std::vector<kernels::SumTerm> terms;
  torch::Tensor offset;
};

/// The sum of several edges' terms (one node of a cell) in one pass
/// (`weighted_sum`), plus their offsets; undefined when nothing ran, the
/// 0-dim offsets alone when only they are set (the caller broadcasts them).
torch::Tensor sum_edges(const std::vector<EdgeTerms>& edges);

/// All candidate ops of one decision, with their weights shared by every
/// architecture that uses them. Only the ops the EdgeChoice names run.
class MixedOpImpl : public torch::nn::Module {
 public:
  explicit MixedOpImpl(std::vector<std::pair<std::string, CandidateOp>> ops);

  /// `sum_k w_k * op_k(x) (+ offset)` over the active, non-`none` ops; an
  /// undefined tensor when nothing runs (the caller treats it as zero), or
  /// the 0-dim offset alone when only `none` is active and an offset is set
  /// (the caller broadcasts it).
  /// `shared` (optional): results the cell's edges reading the same `x`
  /// share within one cell forward.
  torch::Tensor forward(const torch::Tensor& x, const EdgeChoice& choice,
                        SharedResults* shared = nullptr);
  /// What `forward` sums, unsummed: a cell adds the terms of all edges into
  /// one node in one pass (`sum_edges`).
  EdgeTerms terms(const torch::Tensor& x, const EdgeChoice& choice,
                  SharedResults* shared = nullptr);

  int64_t size() const { return static_cast<int64_t>(ops_.size()); }
  CandidateOpImpl& op(int64_t k) { return *ops_.at(k); }
  /// How many times op k ran (forward calls) since the last reset.
  const std::vector<int64_t>& calls() const { return calls_; }
  void reset_calls() { std::fill(calls_.begin(), calls_.end(), 0); }
  /// Shape of the input of the last forward call (for cost models).
  const std::vector<int64_t>& last_input_shape() const { return last_input_shape_; }

 private:
  std::vector<CandidateOp> ops_;
  std::vector<int64_t> calls_;
  std::vector<int64_t> last_input_shape_;
};
using MixedOp = std::shared_ptr<MixedOpImpl>;

/// The MixedOp of one searchable edge: every op of `family`, in its order,
/// built with `args` (the spaces' one way to make an edge).
MixedOp make_mixed_op(const OpFamily& family, const OpArgs& args);

}  // namespace nas::search_space
