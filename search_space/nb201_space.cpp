#include "search_space/nb201_space.h"

#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/text.h"
#include "search_space/ops.h"

namespace nas::search_space {

namespace nn = torch::nn;

namespace {

constexpr int64_t kNodes = 3;  // nodes 1..3 after the input node 0
constexpr int64_t kEdges = 6;

/// ResNet basic block joining the stages (AutoDL `ResNetBasicblock`):
/// ReLU-Conv3x3(stride)-BN, ReLU-Conv3x3-BN, plus AvgPool2x2 + Conv1x1
/// shortcut; no final ReLU.
class ResNetBlockImpl : public nn::Module {
 public:
  ResNetBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv_a_ = register_module(
        "conv_a", std::make_shared<ReLUConvBNImpl>(in, out, 3, stride, 1, true));
    conv_b_ = register_module(
        "conv_b", std::make_shared<ReLUConvBNImpl>(out, out, 3, 1, 1, true));
    if (stride == 2) {
      downsample_ = register_module(
          "downsample",
          nn::Sequential(nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)),
                         nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false))));
    } else if (in != out) {
      downsample_ = register_module(
          "downsample",
          nn::Sequential(std::make_shared<ReLUConvBNImpl>(in, out, 1, 1, 0, true)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv_b_->forward(conv_a_->forward(x));
    return (downsample_ ? downsample_->forward(x) : x) + y;
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const {
    const auto y = conv_b_->export_graph(g, conv_a_->export_graph(g, x));
    return g.sum({downsample_ ? downsample_sequential(g, x) : x, y});
  }

 private:
  /// The shortcut: AvgPool2x2 + Conv1x1, or a ReLU-conv-BN (not a plain module).
  GraphWriter::Value downsample_sequential(GraphWriter& g, const GraphWriter::Value& x) const {
    if (const auto* rcb = downsample_->ptr(0)->as<ReLUConvBNImpl>()) return rcb->export_graph(g, x);
    return g.sequential(x, downsample_);
  }

  std::shared_ptr<ReLUConvBNImpl> conv_a_, conv_b_;
  nn::Sequential downsample_{nullptr};
};

/// A cell: node i sums its edges' outputs; output = node 3. `ops[i][k]`
/// is applied to state `inputs[i][k]`; a `none` op contributes nothing.
class Nb201CellImpl : public nn::Module {
 public:
  /// Search cell: a MixedOp on each of the 6 edges.
  Nb201CellImpl(int64_t C, const NetworkOptions& o, std::vector<MixedOp>* out) {
    const auto& family = nb201_ops();
    for (int64_t i = 1; i <= kNodes; ++i) {
      for (int64_t j = 0; j < i; ++j) {
        OpArgs args;
        args.c_in = args.c_out = C;
        args.affine = o.affine;
        args.track_running_stats = o.track_running_stats;
        args.search = true;
        mixed_[Nb201Space::edge_row(i, j)] =
            register_module(fmt::format("edge_{}_{}", i, j), make_mixed_op(family, args));
      }
    }
    out->assign(mixed_.begin(), mixed_.end());
  }

  /// Stand-alone cell of one architecture.
  Nb201CellImpl(int64_t C, const CellGenotype& g) : genotype_(g) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      std::vector<CandidateOp> ops;
      for (size_t k = 0; k < g.nodes[i].size(); ++k) {
        OpArgs args;
        args.c_in = args.c_out = C;
        auto op = nb201_ops().make(g.nodes[i][k].op, args);
        if (!op->is_zero()) register_module(fmt::format("node{}_{}", i + 1, k), op);
        ops.push_back(op);
      }
      ops_.push_back(std::move(ops));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const PathSpec* path) {
    std::vector<torch::Tensor> nodes{x};
    SharedResults shared;
    for (int64_t i = 1; i <= kNodes; ++i) {
      torch::Tensor sum;
      auto add = [&](const torch::Tensor& t) {
        if (t.defined()) sum = sum.defined() ? sum + t : t;
      };
      if (path != nullptr) {
        std::vector<EdgeTerms> parts;
        for (int64_t j = 0; j < i; ++j) {
          const int64_t e = Nb201Space::edge_row(i, j);
          parts.push_back(mixed_[e]->terms(nodes[j], path->edges[e], &shared));
        }
        add(sum_edges(parts));
      } else {
        const auto& node = genotype_.nodes[i - 1];
        for (size_t k = 0; k < node.size(); ++k) {
          auto& op = *ops_[i - 1][k];
          if (!op.is_zero()) add(op.forward(nodes[node[k].input]));
        }
      }
      if (!sum.defined()) {
        sum = torch::zeros_like(x);
      } else if (sum.dim() == 0) {  // only 0-dim offsets (GDAS on `none`)
        sum = torch::zeros_like(x) + sum;
      }
      nodes.push_back(sum);
    }
    return nodes.back();
  }

  /// The stand-alone cell's eval-mode forward.
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const {
    std::vector<GraphWriter::Value> nodes{x};
    for (int64_t i = 1; i <= kNodes; ++i) {
      std::vector<GraphWriter::Value> parts;
      const auto& node = genotype_.nodes[i - 1];
      for (size_t k = 0; k < node.size(); ++k) {
        const auto& op = *ops_[i - 1][k];
        if (!op.is_zero()) parts.push_back(export_op(g, op, nodes[node[k].input], node[k].op));
      }
      nodes.push_back(parts.empty() ? g.zeros(x, 1) : g.sum(parts));
    }
    return nodes.back();
  }

 private:
  std::array<MixedOp, kEdges> mixed_;
  CellGenotype genotype_;
  std::vector<std::vector<CandidateOp>> ops_;
};

/// The macro skeleton shared by the supernet and stand-alone networks.
class Nb201Macro {
 public:
  template <class MakeCell>
  void build(nn::Module& owner, const NetworkOptions& o, MakeCell make_cell) {
    stem_ = owner.register_module(
        "stem", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(o.in_channels, o.C, 3)
                                              .padding(1)
                                              .bias(false)),
                               nn::BatchNorm2d(o.C)));
    int64_t c_prev = o.C;
    for (int64_t stage = 0; stage < 3; ++stage) {
      const int64_t c = o.C << stage;
      if (stage > 0) {
        layers_.push_back(owner.register_module(
            fmt::format("reduce{}", stage),
            std::make_shared<ResNetBlockImpl>(c_prev, c, 2)));
        cells_.push_back(nullptr);
      }
      for (int64_t n = 0; n < o.cells_per_stage; ++n) {
        auto cell = make_cell(c);
        cells_.push_back(owner.register_module(
            fmt::format("cell{}_{}", stage, n), cell));
        layers_.push_back(nullptr);
      }
      c_prev = c;
    }
    lastact_ = owner.register_module("lastact", nn::BatchNorm2d(c_prev));
    classifier_ = owner.register_module("classifier",
                                        nn::Linear(c_prev, o.num_classes));
  }

  torch::Tensor forward(const torch::Tensor& x, const PathSpec* path) {
    auto h = stem_->forward(x);
    for (size_t i = 0; i < cells_.size(); ++i) {
      h = cells_[i] ? cells_[i]->forward(h, path) : layers_[i]->forward(h);
    }
    h = torch::relu(lastact_(h));
    return classifier_(torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1));
  }

  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const {
    auto h = g.sequential(x, stem_);
    for (size_t i = 0; i < cells_.size(); ++i) {
      h = cells_[i] ? cells_[i]->export_graph(g, h) : layers_[i]->export_graph(g, h);
    }
    h = g.relu(g.batch_norm(h, *lastact_));
    return g.linear(g.global_avg_pool(h), *classifier_);
  }

 private:
  nn::Sequential stem_{nullptr};
  std::vector<std::shared_ptr<Nb201CellImpl>> cells_;
  std::vector<std::shared_ptr<ResNetBlockImpl>> layers_;
  nn::BatchNorm2d lastact_{nullptr};
  nn::Linear classifier_{nullptr};
};

class Nb201SupernetImpl : public SupernetImpl {
 public:
  explicit Nb201SupernetImpl(const NetworkOptions& o) {
    num_decisions_ = kEdges;
    macro_.build(*this, o, [&](int64_t c) {
      std::vector<MixedOp> edges;
      auto cell = std::make_shared<Nb201CellImpl>(c, o, &edges);
      for (int64_t e = 0; e < kEdges; ++e) add_mixed_op(e, edges[e]);
      return cell;
    });
  }
  torch::Tensor forward_path(const torch::Tensor& x, const PathSpec& path) override {
    TORCH_CHECK(static_cast<int64_t>(path.edges.size()) == kEdges,
                "NB201 supernet: PathSpec has ", path.edges.size(),
                " decisions, expected 6");
    return macro_.forward(x, &path);
  }

 private:
  Nb201Macro macro_;
};

class Nb201NetworkImpl : public NetworkImpl {
 public:
  Nb201NetworkImpl(const Architecture& arch, const NetworkOptions& o) {
    macro_.build(*this, o, [&](int64_t c) {
      return std::make_shared<Nb201CellImpl>(c, arch.cells.at(0));
    });
  }
  std::pair<torch::Tensor, torch::Tensor> forward_aux(
      const torch::Tensor& x) override {
    return {macro_.forward(x, nullptr), torch::Tensor()};
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return macro_.export_graph(g, x);
  }

 private:
  Nb201Macro macro_;
};

}  // namespace

const core::OptionTable<Nb201SpaceOptions>& Nb201Space::options_table() {
  static const core::OptionTable<Nb201SpaceOptions> table;
  return table;
}

Nb201Space::Nb201Space(const nlohmann::json& options) {
  options_table().parse(options, "space.nb201");
}

int64_t Nb201Space::edge_row(int64_t node, int64_t input) {
  return node * (node - 1) / 2 + input;  // 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2
}

std::vector<Decision> Nb201Space::decisions() const {
  std::vector<Decision> out;
  for (int64_t i = 1; i <= kNodes; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      out.push_back({fmt::format("cell {}<-{}", i, j), nb201_ops().order});
    }
  }
  return out;
}

NetworkOptions Nb201Space::search_defaults() const {
  NetworkOptions o;
  o.C = 16;
  o.cells_per_stage = 5;
  o.affine = false;
  return o;
}

NetworkOptions Nb201Space::eval_defaults() const {
  NetworkOptions o = search_defaults();
  o.affine = true;
  return o;
}

namespace {
void check_nb201_sizes(const NetworkOptions& o) {
  if (o.C > kMaxChannels || o.cells_per_stage > kMaxLayers / 3 ||
      o.in_channels > kMaxInputChannels || o.input_size > kMaxInputSize ||
      o.num_classes > kMaxClasses) {
    throw ConfigError(fmt::format(
        "nb201 network: expected C <= {}, cells per stage <= {}, input channels <= {}, "
        "input size <= {} and at most {} classes; found C {}, cells per stage {}, input "
        "{}x{}x{}, {} classes",
        kMaxChannels, kMaxLayers / 3, kMaxInputChannels, kMaxInputSize, kMaxClasses, o.C,
        o.cells_per_stage, o.in_channels, o.input_size, o.input_size, o.num_classes));
  }
  // About 6 edges x 10 C^2 per supernet cell at the widest stage (16 C).
  check_weights_fit(60.0 * 16.0 * static_cast<double>(o.C * o.C) *
                        static_cast<double>(o.cells_per_stage) * 3,
                    fmt::format("an nb201 network with C {} and {} cells per stage", o.C,
                                o.cells_per_stage));
  if (o.C < 1 || o.cells_per_stage < 1 || o.in_channels < 1 ||
      o.input_size < 4 || o.num_classes < 2) {
    throw ConfigError(fmt::format(
        "nb201 network: expected C >= 1, cells per stage >= 1, input channels "
        ">= 1, input size >= 4 and at least 2 classes; found C {}, cells per "
        "stage {}, input {}x{}x{}, {} classes",
        o.C, o.cells_per_stage, o.in_channels, o.input_size, o.input_size,
        o.num_classes));
  }
}
}  // namespace

Supernet Nb201Space::build_supernet(const NetworkOptions& options) const {
  check_nb201_sizes(options);
  return std::make_shared<Nb201SupernetImpl>(options);
}

Architecture Nb201Space::from_op_indices(const std::vector<int64_t>& ops) const {
  TORCH_CHECK(ops.size() == kEdges, "NB201 needs 6 op indices");
  CellGenotype cell;
  cell.name = "cell";
  for (int64_t i = 1; i <= kNodes; ++i) {
    std::vector<GenotypeEdge> node;
    for (int64_t j = 0; j < i; ++j) {
      node.push_back({nb201_ops().order.at(ops[edge_row(i, j)]), j});
    }
    cell.nodes.push_back(std::move(node));
  }
  return {{cell}};
}

std::vector<int64_t> Nb201Space::op_indices(const Architecture& arch) const {
  if (arch.cells.size() != 1 || arch.cells[0].nodes.size() != kNodes) {
    throw ConfigError("an NB201 architecture has one cell of 3 nodes");
  }
  const auto& order = nb201_ops().order;
  std::vector<int64_t> ops(kEdges, 0);  // missing edges are `none`
  for (int64_t i = 1; i <= kNodes; ++i) {
    for (const auto& e : arch.cells[0].nodes[i - 1]) {
      auto it = std::find(order.begin(), order.end(), e.op);
      if (it == order.end() || e.input < 0 || e.input >= i) {
        throw ConfigError(fmt::format("NB201 node {}: invalid edge {}~{}", i,
                                      e.op, e.input));
      }
      ops[edge_row(i, e.input)] = it - order.begin();
    }
  }
  return ops;
}

Architecture Nb201Space::derive(const torch::Tensor& weights) const {
  TORCH_CHECK(weights.size(0) == kEdges && weights.size(1) == 5,
              "nb201 derive: weights must be [6, 5], got ", weights.sizes());
  const auto idx = weights.detach().to(torch::kCPU).argmax(1);
  std::vector<int64_t> ops(kEdges);
  for (int64_t e = 0; e < kEdges; ++e) ops[e] = idx[e].item<int64_t>();
  return from_op_indices(ops);
}

Architecture Nb201Space::sample(core::Rng& rng, bool include_none) const {
  // `none` is op 0 of the NB201 order.
  std::vector<int64_t> ops(kEdges);
  for (auto& k : ops) k = include_none ? rng.uniform_int(5) : 1 + rng.uniform_int(4);
  return from_op_indices(ops);
}

Architecture Nb201Space::mutate(const Architecture& arch, core::Rng& rng) const {
  auto ops = op_indices(arch);
  const int64_t e = rng.uniform_int(kEdges);
  ops[e] = (ops[e] + 1 + rng.uniform_int(4)) % 5;  // a different op
  return from_op_indices(ops);
}

PathSpec Nb201Space::path_of(const Architecture& arch) const {
  return PathSpec::single(op_indices(arch));
}

Network Nb201Space::build_network(const Architecture& arch,
                                  const NetworkOptions& options) const {
  check_nb201_sizes(options);
  return std::make_shared<Nb201NetworkImpl>(from_op_indices(op_indices(arch)),
                                            options);
}

std::string Nb201Space::format(const Architecture& arch) const {
  std::vector<std::string> nodes;
  for (const auto& node : arch.cells.at(0).nodes) {
    std::string s = "|";
    for (const auto& e : node) s += fmt::format("{}~{}|", e.op, e.input);
    nodes.push_back(s);
  }
  return fmt::format("{}", fmt::join(nodes, "+"));
}

Architecture Nb201Space::parse(std::string_view text) const {
  auto fail = [&](size_t pos, const std::string& what) {
    throw ConfigError(fmt::format(
        "NB201 string, column {}: {} (expected the form "
        "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|)\n{}",
        pos + 1, what, core::excerpt_at(text, pos)));
  };
  if (text.size() > 4096) {
    throw ConfigError(fmt::format("NB201 string of {} bytes; expected at most 4096: {}",
                                  text.size(), core::printable(text)));
  }
  std::vector<int64_t> ops(kEdges, 0);
  std::vector<std::set<int64_t>> seen(kNodes + 1);
  size_t pos = 0;
  int64_t node = 1;
  while (true) {
    if (node > kNodes) fail(pos, "more than 3 nodes");
    if (pos >= text.size() || text[pos] != '|') fail(pos, "expected '|'");
    ++pos;
    while (pos < text.size() && text[pos] != '+') {
      const size_t bar = text.find('|', pos);
      if (bar == std::string_view::npos) fail(pos, "missing closing '|'");
      const auto item = text.substr(pos, bar - pos);
      const size_t tilde = item.find('~');
      if (tilde == std::string_view::npos) fail(pos, "expected op~input");
      const std::string op(item.substr(0, tilde));
      const auto& order = nb201_ops().order;
      auto it = std::find(order.begin(), order.end(), op);
      if (it == order.end()) {
        fail(pos, fmt::format("unknown op '{}'; valid ops: {}", op,
                              fmt::join(order, ", ")));
      }
      const std::string in(item.substr(tilde + 1));
      if (in.size() != 1 || in[0] < '0' || in[0] > '9') {
        fail(pos + tilde + 1, fmt::format("expected a one-digit input index, found '{}'",
                                          core::printable(in, 20)));
      }
      const int64_t j = in[0] - '0';
      if (j >= node) {
        fail(pos + tilde + 1, fmt::format("node {} can take inputs 0..{}, found {}",
                                          node, node - 1, j));
      }
      if (!seen[node].insert(j).second) {
        fail(pos, fmt::format("node {} lists input {} twice", node, j));
      }
      ops[edge_row(node, j)] = it - order.begin();
      pos = bar + 1;
    }
    if (seen[node].empty()) {
      fail(pos, fmt::format("node {} lists no input (a node needs at least one op~input; "
                            "write none~j for a missing edge)",
                            node));
    }
    if (pos >= text.size()) break;
    ++pos;  // '+'
    ++node;
  }
  if (node != kNodes) fail(text.size(), fmt::format("found {} nodes, expected 3", node));
  return from_op_indices(ops);
}

std::string Nb201Space::to_dot(const Architecture& arch) const {
  std::string out = "digraph nb201 {\n  rankdir=LR;\n  node [shape=box];\n";
  for (int64_t i = 0; i <= kNodes; ++i) {
    out += fmt::format("  n{0} [label=\"{0}\", style=filled, fillcolor={1}];\n", i,
                       i == 0 ? "darkseagreen2" : (i == kNodes ? "palegoldenrod" : "lightblue"));
  }
  const auto& cell = arch.cells.at(0);
  for (size_t i = 0; i < cell.nodes.size(); ++i) {
    for (const auto& e : cell.nodes[i]) {
      if (e.op == "none") continue;
      out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", e.input, i + 1, e.op);
    }
  }
  return out + "}\n";
}

}  // namespace nas::search_space
