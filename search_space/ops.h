#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>
#include <torch/types.h>

#include "search_space/graph_writer.h"

namespace nas::search_space {

/// Results of parameter-free computations that every edge reading the same
/// state within one cell forward shares (the DARTS search cell's pool + BN
/// of one state is identical on every edge that reads it). Lives for one
/// cell forward; holds the inputs so their addresses stay unique.
struct SharedResults {
  struct Entry {
    torch::Tensor input, output, mean, var;  ///< mean/var: batch moments, if any
  };
  std::map<std::tuple<const void*, int64_t, int64_t>, Entry> entries;
  /// The entry for (input, kind, stride), or nullptr.
  const Entry* find(const torch::Tensor& x, int64_t kind, int64_t stride) const;
  const Entry& add(const torch::Tensor& x, int64_t kind, int64_t stride, Entry entry);
};

/// A candidate operation on an edge. Every candidate maps [N, C_in, H, W]
/// to [N, C_out, ceil(H/stride), ceil(W/stride)].
class CandidateOpImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  /// `forward(x) * w` for a 0-dim op weight `w` (`forward(x)` when `w` is
  /// undefined), used by the supernet's edges. The ReLU-conv-BN ops run as
  /// one fused node here (`kernels/relu_conv_bn.h`: naskit's kernels, less memory,
  /// recomputation in backward) with `w` folded into their last BatchNorm;
  /// `forward` keeps the plain module calls (stand-alone networks).
  virtual torch::Tensor forward_scaled(const torch::Tensor& x, const torch::Tensor& w) {
    return w.defined() ? forward(x) * w : forward(x);
  }
  /// True where `forward_scaled` folds `w` into the op (the fused nodes);
  /// a mixture otherwise adds `forward(x)` with its weight in one pass over
  /// all the edge's terms (`weighted_sum`).
  virtual bool folds_weight() const { return false; }
  /// `forward(x)` reusing what another edge computed from the same `x` in
  /// this cell forward, for ops whose output depends on x alone
  /// (parameter-free pools); an undefined tensor for every other op (the
  /// caller then runs `forward`).
  virtual torch::Tensor forward_shared(const torch::Tensor& x, SharedResults& shared) {
    return {};
  }
  /// The `none` op: never computed; an edge with only this op contributes
  /// nothing.
  virtual bool is_zero() const { return false; }
  /// Identity (`skip_connect` at stride 1): no drop-path in the evaluation
  /// network, as in the DARTS reference code.
  virtual bool is_identity() const { return false; }
  /// Writes eval-mode `forward(x)` to `g` (exporters). An op without a
  /// mapping throws Error; the network names the op in its message.
  virtual GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const;
};
using CandidateOp = std::shared_ptr<CandidateOpImpl>;

/// `op.export_graph(g, x)` with an Error that names the op (`what`: its
/// name in the architecture, e.g. "sep_conv_3x3").
GraphWriter::Value export_op(GraphWriter& g, const CandidateOpImpl& op,
                             const GraphWriter::Value& x, const std::string& what);

/// What an op factory needs. `affine` and `track_running_stats` configure
/// every BatchNorm; `search` selects the search-time variant of a family
/// (DARTS: BatchNorm after pooling).
struct OpArgs {
  int64_t c_in = 0;
  int64_t c_out = 0;
  int64_t stride = 1;
  bool affine = true;
  bool track_running_stats = true;
  bool search = false;
  /// Chains: the block adds its input back (its `zero` and `skip` never
  /// run there).
  bool residual = false;
};

using OpFactory = std::function<CandidateOp(const OpArgs&)>;
/// A family of ops by name, in the order the family's papers use.
struct OpFamily {
  std::string name;
  std::vector<std::string> order;
  std::map<std::string, OpFactory> factories;

  /// Builds op `op` (ConfigError listing the family's ops if unknown).
  CandidateOp make(const std::string& op, const OpArgs& args) const;
  bool contains(const std::string& op) const {
    return factories.count(op) != 0;
  }
};

/// The `none`/`zero` op: never computed (is_zero); zeros of the output
/// shape where something asks for its value.
CandidateOp make_zero_op(int64_t c_out, int64_t stride);
/// The identity op (DARTS's skip_connect at stride 1).
CandidateOp make_identity_op();

/// The DARTS ops (quark0/darts `operations.py`): none, max_pool_3x3,
/// avg_pool_3x3, skip_connect, sep_conv_3x3/5x5/7x7, dil_conv_3x3/5x5,
/// conv_7x1_1x7. `order` is the 8 searchable PRIMITIVES.
const OpFamily& darts_ops();

/// sharpDARTS's ops (ahundt/sharpDARTS `operations.OPS`): DARTS's names with
/// every convolution a SharpSepConv, plus flood_conv_3x3/5x5,
/// dil_flood_conv_3x3, choke_conv_3x3, dil_choke_conv_3x3; the average pool
/// counts its padding. `order` is DARTS's 8 PRIMITIVES (the README's
/// SharpSepConvDARTS search).
const OpFamily& sharp_ops();

/// The NAS-Bench-201 ops (AutoDL `cell_operations.py`): none, skip_connect,
/// nor_conv_1x1, nor_conv_3x3 (ReLU-Conv-BN; the conv has a bias exactly
/// when BN is not affine, as in AutoDL), avg_pool_3x3 (no BatchNorm).
const OpFamily& nb201_ops();

// Building blocks shared by the spaces' networks.

/// ReLU -> Conv(k, stride, padding, bias) -> BN.
class ReLUConvBNImpl : public CandidateOpImpl {
 public:
  ReLUConvBNImpl(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride,
                 int64_t padding, bool affine, bool track = true,
                 bool bias = false);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor forward_scaled(const torch::Tensor& x, const torch::Tensor& w) override;
  bool folds_weight() const override { return true; }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override;

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  int64_t stride_, padding_;
};

/// ReLU -> two 1x1 convs of stride 2 (one on the input shifted by one pixel)
/// -> concat -> BN. Halves H and W. The shifted branch is zero-padded at the
/// end so odd sizes work; for even sizes this equals the reference exactly.
class FactorizedReduceImpl : public CandidateOpImpl {
 public:
  FactorizedReduceImpl(int64_t c_in, int64_t c_out, bool affine,
                       bool track = true);
  torch::Tensor forward(const torch::Tensor& x) override;
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

/// BatchNorm2d with the given flags (momentum 0.1, eps 1e-5).
torch::nn::BatchNorm2d make_bn(int64_t c, bool affine, bool track = true);

/// The output shape of any candidate op for input `x`.
std::vector<int64_t> op_output_shape(const torch::Tensor& x, int64_t c_out,
                                     int64_t stride);

}  // namespace nas::search_space
