#include "search_space/darts_networks.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::search_space {

namespace nn = torch::nn;

namespace {

/// Sums the defined tensors; zeros of `shape` when there are none (a node
/// whose inputs are all `none`).
torch::Tensor sum_or_zeros(const std::vector<torch::Tensor>& parts,
                           const std::vector<int64_t>& shape,
                           const torch::TensorOptions& options) {
  torch::Tensor out;
  for (const auto& t : parts) {
    if (t.defined()) out = out.defined() ? out + t : t;
  }
  if (!out.defined()) return torch::zeros(shape, options);
  // Only 0-dim offsets (GDAS on `none` edges): broadcast them to the shape.
  return out.dim() == 0 ? torch::zeros(shape, options) + out : out;
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride,
                int64_t padding) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(false));
}

CandidateOp preprocess0(int64_t c_pp, int64_t c, bool reduction_prev,
                        bool affine, bool track) {
  if (reduction_prev) {
    return std::make_shared<FactorizedReduceImpl>(c_pp, c, affine, track);
  }
  return std::make_shared<ReLUConvBNImpl>(c_pp, c, 1, 1, 0, affine, track);
}

}  // namespace

// ---------------------------------------------------------------- search

DartsSearchCellImpl::DartsSearchCellImpl(int64_t steps, int64_t multiplier,
                                         int64_t c_pp, int64_t c_p, int64_t c,
                                         bool reduction, bool reduction_prev,
                                         const NetworkOptions& o,
                                         const OpFamily& family)
    : steps_(steps), multiplier_(multiplier), c_(c), reduction_(reduction) {
  pre0_ = register_module(
      "preprocess0",
      preprocess0(c_pp, c, reduction_prev, o.affine, o.track_running_stats));
  pre1_ = register_module("preprocess1", std::make_shared<ReLUConvBNImpl>(
                                             c_p, c, 1, 1, 0, o.affine,
                                             o.track_running_stats));
  for (int64_t i = 0; i < steps; ++i) {
    for (int64_t j = 0; j < 2 + i; ++j) {
      OpArgs args;
      args.c_in = args.c_out = c;
      args.stride = reduction && j < 2 ? 2 : 1;
      args.affine = o.affine;
      args.track_running_stats = o.track_running_stats;
      args.search = true;
      edges_.push_back(register_module(fmt::format("edge{}", edges_.size()),
                                       make_mixed_op(family, args)));
    }
    if (o.node_bn) {
      node_bns_.push_back(register_module(
          fmt::format("node_bn{}", i),
          nn::BatchNorm2d(nn::BatchNorm2dOptions(c).affine(false).track_running_stats(
              o.track_running_stats))));
    }
  }
}

torch::Tensor DartsSearchCellImpl::forward(const torch::Tensor& s0,
                                           const torch::Tensor& s1,
                                           const PathSpec& path, int64_t row0) {
  std::vector<torch::Tensor> states{pre0_->forward(s0), pre1_->forward(s1)};
  const auto shape = op_output_shape(states[1], c_, reduction_ ? 2 : 1);
  SharedResults shared;
  int64_t e = 0;
  for (int64_t i = 0; i < steps_; ++i) {
    std::vector<EdgeTerms> parts;
    for (int64_t j = 0; j < 2 + i; ++j, ++e) {
      parts.push_back(edges_[e]->terms(states[j], path.edges[row0 + e], &shared));
    }
    auto node = sum_or_zeros({sum_edges(parts)}, shape, states[1].options());
    states.push_back(node_bns_.empty() ? node : node_bns_[i]->forward(node));
  }
  return torch::cat(
      std::vector<torch::Tensor>(states.end() - multiplier_, states.end()), 1);
}

DartsSupernetImpl::DartsSupernetImpl(const NetworkOptions& o, int64_t steps,
                                     int64_t multiplier,
                                     int64_t stem_multiplier,
                                     const OpFamily& family)
    : edges_per_cell_(steps * (steps + 3) / 2) {
  num_decisions_ = 2 * edges_per_cell_;
  int64_t c_curr = stem_multiplier * o.C;
  stem_ = register_module(
      "stem", nn::Sequential(conv(o.in_channels, c_curr, 3, 1, 1),
                             nn::BatchNorm2d(c_curr)));
  int64_t c_pp = c_curr, c_p = c_curr;
  c_curr = o.C;
  bool reduction_prev = false;
  for (int64_t i = 0; i < o.layers; ++i) {
    bool reduction = false;
    if (i == o.layers / 3 || i == 2 * o.layers / 3) {
      c_curr *= 2;
      reduction = true;
    }
    auto cell = std::make_shared<DartsSearchCellImpl>(
        steps, multiplier, c_pp, c_p, c_curr, reduction, reduction_prev, o, family);
    cells_.push_back(register_module(fmt::format("cell{}", i), cell));
    for (size_t e = 0; e < cell->edges().size(); ++e) {
      add_mixed_op((reduction ? edges_per_cell_ : 0) + static_cast<int64_t>(e),
                   cell->edges()[e]);
    }
    reduction_prev = reduction;
    c_pp = c_p;
    c_p = multiplier * c_curr;
  }
  classifier_ = register_module("classifier", nn::Linear(c_p, o.num_classes));
}

torch::Tensor DartsSupernetImpl::forward_path(const torch::Tensor& x,
                                         const PathSpec& path) {
  TORCH_CHECK(static_cast<int64_t>(path.edges.size()) == num_decisions_,
              "DARTS supernet: PathSpec has ", path.edges.size(),
              " decisions, expected ", num_decisions_);
  auto s0 = stem_->forward(x);
  auto s1 = s0;
  for (auto& cell : cells_) {
    auto s = cell->forward(s0, s1, path,
                           cell->reduction() ? edges_per_cell_ : 0);
    s0 = s1;
    s1 = s;
  }
  return classifier_(torch::adaptive_avg_pool2d(s1, {1, 1}).flatten(1));
}

// ------------------------------------------------------------ evaluation

/// A genotype cell (`model.Cell`): node i sums op(state[input]) over its
/// listed inputs; output = concat of `concat` states.
class DartsNetworkImpl::CellImpl : public torch::nn::Module {
 public:
  CellImpl(const CellGenotype& genotype, int64_t c_pp, int64_t c_p, int64_t c,
           bool reduction, bool reduction_prev, const OpFamily& family)
      : genotype_(genotype), c_(c), reduction_(reduction) {
    pre0_ = register_module("preprocess0",
                            preprocess0(c_pp, c, reduction_prev, true, true));
    pre1_ = register_module(
        "preprocess1",
        std::make_shared<ReLUConvBNImpl>(c_p, c, 1, 1, 0, true, true));
    for (size_t i = 0; i < genotype.nodes.size(); ++i) {
      std::vector<CandidateOp> ops;
      for (size_t k = 0; k < genotype.nodes[i].size(); ++k) {
        const auto& e = genotype.nodes[i][k];
        OpArgs args;
        args.c_in = args.c_out = c;
        args.stride = reduction && e.input < 2 ? 2 : 1;
        auto op = family.make(e.op, args);
        if (!op->is_zero()) {
          register_module(fmt::format("node{}_{}", i, k), op);
        }
        ops.push_back(op);
      }
      ops_.push_back(std::move(ops));
    }
  }

  int64_t out_channels() const {
    return c_ * static_cast<int64_t>(genotype_.concat.size());
  }

  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& s1,
                        double drop_prob) {
    std::vector<torch::Tensor> states{pre0_->forward(s0), pre1_->forward(s1)};
    const auto shape = op_output_shape(states[1], c_, reduction_ ? 2 : 1);
    for (size_t i = 0; i < ops_.size(); ++i) {
      std::vector<torch::Tensor> parts;
      for (size_t k = 0; k < ops_[i].size(); ++k) {
        auto& op = *ops_[i][k];
        if (op.is_zero()) continue;
        auto h = op.forward(states[genotype_.nodes[i][k].input]);
        if (is_training() && drop_prob > 0 && !op.is_identity()) {
          h = drop_path(h, drop_prob);
        }
        parts.push_back(h);
      }
      states.push_back(sum_or_zeros(parts, shape, states[1].options()));
    }
    std::vector<torch::Tensor> out;
    for (int64_t c : genotype_.concat) out.push_back(states[c]);
    return torch::cat(out, 1);
  }

  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& s0,
                                  const GraphWriter::Value& s1) const {
    std::vector<GraphWriter::Value> states{export_op(g, *pre0_, s0, "preprocess0"),
                                           export_op(g, *pre1_, s1, "preprocess1")};
    for (size_t i = 0; i < ops_.size(); ++i) {
      std::vector<GraphWriter::Value> parts;
      for (size_t k = 0; k < ops_[i].size(); ++k) {
        const auto& e = genotype_.nodes[i][k];
        if (ops_[i][k]->is_zero()) continue;
        parts.push_back(export_op(g, *ops_[i][k], states[e.input], e.op));
      }
      states.push_back(parts.empty() ? g.zeros(states[1], reduction_ ? 2 : 1) : g.sum(parts));
    }
    std::vector<GraphWriter::Value> out;
    for (int64_t c : genotype_.concat) out.push_back(states[c]);
    return g.concat(out);
  }

 private:
  CellGenotype genotype_;
  int64_t c_;
  bool reduction_;
  CandidateOp pre0_, pre1_;
  std::vector<std::vector<CandidateOp>> ops_;
};

DartsNetworkImpl::DartsNetworkImpl(const Architecture& arch,
                                   const NetworkOptions& o,
                                   int64_t stem_multiplier,
                                   const OpFamily& family)
    : options_(o) {
  if (arch.cells.size() != 2) {
    throw ConfigError("a DARTS architecture needs a normal and a reduce cell");
  }
  int64_t c_pp = 0, c_p = 0, c_curr = o.C;
  int64_t size = o.input_size;
  bool reduction_prev = false;
  if (o.imagenet) {
    stem0_ = register_module(
        "stem0", nn::Sequential(conv(o.in_channels, o.C / 2, 3, 2, 1),
                                nn::BatchNorm2d(o.C / 2), nn::ReLU(),
                                conv(o.C / 2, o.C, 3, 2, 1),
                                nn::BatchNorm2d(o.C)));
    stem1_ = register_module(
        "stem1",
        nn::Sequential(nn::ReLU(), conv(o.C, o.C, 3, 2, 1), nn::BatchNorm2d(o.C)));
    c_pp = c_p = o.C;
    reduction_prev = true;
    size = (size + 7) / 8;
  } else {
    const int64_t c_stem = stem_multiplier * o.C;
    stem0_ = register_module(
        "stem", nn::Sequential(conv(o.in_channels, c_stem, 3, 1, 1),
                               nn::BatchNorm2d(c_stem)));
    c_pp = c_p = c_stem;
  }
  int64_t c_aux = 0, size_aux = 0;
  for (int64_t i = 0; i < o.layers; ++i) {
    bool reduction = false;
    if (i == o.layers / 3 || i == 2 * o.layers / 3) {
      c_curr *= 2;
      reduction = true;
      size = (size + 1) / 2;
    }
    auto cell = std::make_shared<CellImpl>(arch.cells[reduction ? 1 : 0], c_pp,
                                           c_p, c_curr, reduction,
                                           reduction_prev, family);
    cells_.push_back(register_module(fmt::format("cell{}", i), cell));
    reduction_prev = reduction;
    c_pp = c_p;
    c_p = cell->out_channels();
    if (i == 2 * o.layers / 3) {
      c_aux = c_p;
      size_aux = size;
    }
  }
  if (o.auxiliary) {
    auxiliary_after_ = 2 * o.layers / 3;
    nn::Sequential head;
    head->push_back(nn::ReLU());
    if (o.imagenet) {
      head->push_back(nn::AvgPool2d(
          nn::AvgPool2dOptions(5).stride(2).padding(0).count_include_pad(false)));
    } else if ((size_aux - 5) / 3 + 1 == 2) {  // the reference's 8x8 case
      head->push_back(nn::AvgPool2d(
          nn::AvgPool2dOptions(5).stride(3).padding(0).count_include_pad(false)));
    } else {  // other input sizes: pool to the same 2x2 grid
      head->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(2)));
    }
    head->push_back(conv(c_aux, 128, 1, 1, 0));
    head->push_back(nn::BatchNorm2d(128));
    head->push_back(nn::ReLU());
    head->push_back(conv(128, 768, 2, 1, 0));
    // NetworkImageNet omits this BN "due to a typo", kept for consistency.
    if (!o.imagenet) head->push_back(nn::BatchNorm2d(768));
    head->push_back(nn::ReLU());
    head->push_back(nn::Flatten());
    head->push_back(nn::Linear(768, o.num_classes));
    auxiliary_head_ = register_module("auxiliary_head", head);
  }
  classifier_ = register_module("classifier", nn::Linear(c_p, o.num_classes));
}

GraphWriter::Value DartsNetworkImpl::export_graph(GraphWriter& g,
                                                 const GraphWriter::Value& x) const {
  GraphWriter::Value s0 = g.sequential(x, stem0_);
  GraphWriter::Value s1 = options_.imagenet ? g.sequential(s0, stem1_) : s0;
  for (const auto& cell : cells_) {
    auto s = cell->export_graph(g, s0, s1);
    s0 = s1;
    s1 = s;
  }
  return g.linear(g.global_avg_pool(s1), *classifier_);
}

std::pair<torch::Tensor, torch::Tensor> DartsNetworkImpl::forward_aux(
    const torch::Tensor& x) {
  torch::Tensor s0, s1, aux;
  if (options_.imagenet) {
    s0 = stem0_->forward(x);
    s1 = stem1_->forward(s0);
  } else {
    s0 = s1 = stem0_->forward(x);
  }
  for (size_t i = 0; i < cells_.size(); ++i) {
    auto s = cells_[i]->forward(s0, s1, drop_path_prob_);
    s0 = s1;
    s1 = s;
    if (static_cast<int64_t>(i) == auxiliary_after_ && is_training()) {
      aux = auxiliary_head_->forward(s1);
    }
  }
  auto logits =
      classifier_(torch::adaptive_avg_pool2d(s1, {1, 1}).flatten(1));
  return {logits, aux};
}

}  // namespace nas::search_space
