#pragma once

#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "search_space/architecture.h"
#include "search_space/network.h"
#include "search_space/ops.h"

namespace nas::search_space {

/// One cell of the DARTS search network (quark0/darts `model_search.Cell`):
/// preprocessing of both inputs, `steps` nodes, each summing MixedOps over
/// all earlier states, output = concat of the last `multiplier` nodes.
class DartsSearchCellImpl : public torch::nn::Module {
 public:
  DartsSearchCellImpl(int64_t steps, int64_t multiplier, int64_t c_pp,
                      int64_t c_p, int64_t c, bool reduction,
                      bool reduction_prev, const NetworkOptions& options,
                      const OpFamily& family);
  /// `row0`: the first alpha row of this cell type in `path`.
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1,
                        const PathSpec& path, int64_t row0);
  bool reduction() const { return reduction_; }
  const std::vector<MixedOp>& edges() const { return edges_; }

 private:
  int64_t steps_, multiplier_, c_;
  bool reduction_;
  CandidateOp pre0_, pre1_;
  std::vector<MixedOp> edges_;
  std::vector<torch::nn::BatchNorm2d> node_bns_;  ///< NetworkOptions::node_bn
};

/// The DARTS search network (`model_search.Network`): stem, `layers` cells
/// with reductions at 1/3 and 2/3 depth, global pooling, classifier.
/// Decisions: 0..E-1 the normal cell's edges, E..2E-1 the reduce cell's.
class DartsSupernetImpl : public SupernetImpl {
 public:
  /// `family`: the ops, its `order` the columns of alpha.
  DartsSupernetImpl(const NetworkOptions& options, int64_t steps,
                    int64_t multiplier, int64_t stem_multiplier, const OpFamily& family);
  torch::Tensor forward_path(const torch::Tensor& x, const PathSpec& path) override;

 private:
  int64_t edges_per_cell_;
  torch::nn::Sequential stem_{nullptr};
  std::vector<std::shared_ptr<DartsSearchCellImpl>> cells_;
  torch::nn::Linear classifier_{nullptr};
};

/// A stand-alone DARTS network for a genotype (`model.NetworkCIFAR`, or
/// `NetworkImageNet` when options.imagenet): affine ops, drop-path, optional
/// auxiliary head after cell 2*layers/3.
class DartsNetworkImpl : public NetworkImpl {
 public:
  DartsNetworkImpl(const Architecture& arch, const NetworkOptions& options,
                   int64_t stem_multiplier, const OpFamily& family = darts_ops());
  std::pair<torch::Tensor, torch::Tensor> forward_aux(
      const torch::Tensor& x) override;
  std::string auxiliary_prefix() const override { return "auxiliary_head."; }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override;

 private:
  class CellImpl;
  NetworkOptions options_;
  torch::nn::Sequential stem0_{nullptr}, stem1_{nullptr};
  std::vector<std::shared_ptr<CellImpl>> cells_;
  torch::nn::Sequential auxiliary_head_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  int64_t auxiliary_after_ = -1;
};

}  // namespace nas::search_space
