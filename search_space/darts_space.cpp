#include "search_space/darts_space.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/darts_networks.h"
#include "search_space/ops.h"

namespace nas::search_space {

namespace {

const char* kCellNames[2] = {"normal", "reduce"};

int64_t index_of(const std::vector<std::string>& v, const std::string& s) {
  auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int64_t>(it - v.begin());
}

std::vector<std::string> op_names(const OpFamily& family) {
  std::vector<std::string> names;
  for (const auto& [name, f] : family.factories) names.push_back(name);
  return names;
}

/// sharpDARTS's primitive lists (`cnn/genotypes.py`): DARTS_PRIMITIVES,
/// PRIMITIVES and SHARPER_PRIMITIVES.
std::vector<std::string> primitives(const std::string& name) {
  if (name == "sharp") {
    return {"none",         "max_pool_3x3",   "skip_connect",       "sep_conv_3x3",
            "dil_conv_3x3", "flood_conv_3x3", "dil_flood_conv_3x3", "choke_conv_3x3",
            "dil_choke_conv_3x3"};
  }
  if (name == "sharper") {
    return {"none",         "max_pool_3x3",  "avg_pool_3x3",   "skip_connect",
            "sep_conv_3x3", "sep_conv_5x5",  "sep_conv_7x7",   "dil_conv_3x3",
            "dil_conv_5x5", "flood_conv_3x3", "flood_conv_5x5", "dil_flood_conv_3x3"};
  }
  return darts_ops().order;
}

}  // namespace

const core::OptionTable<DartsSpaceOptions>& DartsSpace::options_table() {
  static const auto table = [] {
    core::OptionTable<DartsSpaceOptions> t;
    t.add("steps", &DartsSpaceOptions::steps, "intermediate nodes per cell (1 to 16)")
        .add("multiplier", &DartsSpaceOptions::multiplier,
             "last nodes concatenated into the cell's output (1 to steps)")
        .add("stem_multiplier", &DartsSpaceOptions::stem_multiplier,
             "stem channels = stem_multiplier * C (1 to 16)")
        .add("ops", &DartsSpaceOptions::ops,
             "the op family: darts (quark0/darts) or sharp (sharpDARTS's SharpSepConv ops)",
             core::one_of({"darts", "sharp"}))
        .add("primitives", &DartsSpaceOptions::primitives,
             "the candidate ops: darts (DARTS's 8), sharp (sharpDARTS's PRIMITIVES, 9) or "
             "sharper (its SHARPER_PRIMITIVES, 12); sharp and sharper need ops sharp",
             core::one_of({"darts", "sharp", "sharper"}))
        .add("derive", &DartsSpaceOptions::derive,
             "\"top2\": two strongest inputs per node, \"all\": every edge not `none`",
             core::one_of({"top2", "all"}))
        .check([](const DartsSpaceOptions& o, const std::string&) {
          if (o.steps < 1 || o.steps > 16 || o.multiplier < 1 || o.multiplier > o.steps ||
              o.stem_multiplier < 1 || o.stem_multiplier > 16) {
            throw ConfigError(fmt::format(
                "darts space: expected 1 <= steps <= 16, 1 <= multiplier <= steps and 1 <= "
                "stem_multiplier <= 16, found steps {} multiplier {} stem_multiplier {}",
                o.steps, o.multiplier, o.stem_multiplier));
          }
          if (o.primitives != "darts" && o.ops != "sharp") {
            throw ConfigError(fmt::format(
                "space.darts.primitives: '{}' lists sharpDARTS's flood and choke ops, which "
                "need ops 'sharp'; found ops '{}'",
                o.primitives, o.ops));
          }
        });
    return t;
  }();
  return table;
}

DartsSpace::DartsSpace(const nlohmann::json& options) {
  const auto o = options_table().parse(options, "space.darts");
  steps_ = o.steps;
  multiplier_ = o.multiplier;
  stem_multiplier_ = o.stem_multiplier;
  derive_mode_ = o.derive;
  family_ = o.ops == "sharp" ? sharp_ops() : darts_ops();
  family_.order = primitives(o.primitives);
}

int64_t DartsSpace::edge_row(int64_t cell, int64_t node, int64_t input) const {
  return cell * (steps_ * (steps_ + 3) / 2) + node * (node + 3) / 2 + input;
}

std::vector<NodeInputs> DartsSpace::node_inputs() const {
  std::vector<NodeInputs> out;
  if (derive_mode_ != "top2") return out;
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t i = 0; i < steps_; ++i) {
      NodeInputs node{c, i + 2, {}, 2};
      for (int64_t j = 0; j < i + 2; ++j) node.decisions.push_back(edge_row(c, i, j));
      out.push_back(std::move(node));
    }
  }
  return out;
}

std::vector<Decision> DartsSpace::decisions() const {
  std::vector<Decision> out;
  for (const char* cell : kCellNames) {
    for (int64_t i = 0; i < steps_; ++i) {
      for (int64_t j = 0; j < i + 2; ++j) {
        out.push_back({fmt::format("{} {}<-{}", cell, i + 2, j),
                       family_.order});
      }
    }
  }
  return out;
}

NetworkOptions DartsSpace::search_defaults() const {
  NetworkOptions o;
  o.C = 16;
  o.layers = 8;
  o.affine = false;
  return o;
}

NetworkOptions DartsSpace::eval_defaults() const {
  NetworkOptions o;
  o.C = 36;
  o.layers = 20;
  o.auxiliary = true;
  o.affine = true;
  return o;
}

namespace {
void check_darts_sizes(const NetworkOptions& o, bool supernet) {
  if (o.C > kMaxChannels || o.layers > kMaxLayers || o.in_channels > kMaxInputChannels ||
      o.input_size > kMaxInputSize || o.num_classes > kMaxClasses) {
    throw ConfigError(fmt::format(
        "darts network: expected C <= {}, layers <= {}, input channels <= {}, input size "
        "<= {} and at most {} classes; found C {}, layers {}, input {}x{}x{}, {} classes",
        kMaxChannels, kMaxLayers, kMaxInputChannels, kMaxInputSize, kMaxClasses, o.C,
        o.layers, o.in_channels, o.input_size, o.input_size, o.num_classes));
  }
  // Weights per cell: about 100 C^2 in the supernet (14 edges of 8 ops),
  // 24 C^2 in a stand-alone cell; C doubles at each of the two reductions.
  double weights = 0;
  int64_t c = o.C;
  for (int64_t i = 0; i < o.layers; ++i) {
    if (i == o.layers / 3 || i == 2 * o.layers / 3) c *= 2;
    weights += (supernet ? 100.0 : 24.0) * static_cast<double>(c * c);
  }
  check_weights_fit(weights, fmt::format("a darts {} with C {} and {} cells",
                                         supernet ? "supernet" : "network", o.C, o.layers));
  if (o.C < 2 || o.C % 2 != 0 || o.layers < 1 || o.in_channels < 1 ||
      o.input_size < 2 || o.num_classes < 2) {
    throw ConfigError(fmt::format(
        "darts network: expected an even C >= 2 (FactorizedReduce halves "
        "it), layers >= 1, input channels >= 1, input size >= 2 and at least "
        "2 classes; found C {}, layers {}, input {}x{}x{}, {} classes",
        o.C, o.layers, o.in_channels, o.input_size, o.input_size,
        o.num_classes));
  }
}
}  // namespace

Supernet DartsSpace::build_supernet(const NetworkOptions& options) const {
  check_darts_sizes(options, true);
  return std::make_shared<DartsSupernetImpl>(options, steps_, multiplier_,
                                             stem_multiplier_, family_);
}

Architecture DartsSpace::derive(const torch::Tensor& weights) const {
  return derive(weights, derive_mode_);
}

Architecture DartsSpace::derive(const torch::Tensor& weights,
                                const std::string& mode) const {
  if (mode != "top2" && mode != "all") {
    throw ConfigError(fmt::format(
        "darts derive: expected \"top2\" or \"all\", found \"{}\"", mode));
  }
  const auto& order = family_.order;
  const int64_t none = index_of(order, "none");
  const auto w = weights.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  TORCH_CHECK(w.size(0) == 2 * steps_ * (steps_ + 3) / 2 &&
                  w.size(1) == static_cast<int64_t>(order.size()),
              "darts derive: weights must be [", 2 * steps_ * (steps_ + 3) / 2,
              ", ", order.size(), "], got ", w.sizes());
  const auto acc = w.accessor<double, 2>();
  // Best non-`none` op of a row (first maximum, as the reference code).
  auto best_op = [&](int64_t row) {
    int64_t best = -1;
    for (int64_t k = 0; k < w.size(1); ++k) {
      if (k == none) continue;
      if (best < 0 || acc[row][k] > acc[row][best]) best = k;
    }
    return best;
  };
  Architecture arch;
  for (int64_t c = 0; c < 2; ++c) {
    CellGenotype cell;
    cell.name = kCellNames[c];
    for (int64_t i = 0; i < steps_; ++i) {
      std::vector<GenotypeEdge> node;
      if (mode == "all") {
        // SNAS edge-all: every edge with its argmax op, `none` included.
        for (int64_t j = 0; j < i + 2; ++j) {
          const int64_t row = edge_row(c, i, j);
          int64_t best = 0;
          for (int64_t k = 1; k < w.size(1); ++k) {
            if (acc[row][k] > acc[row][best]) best = k;
          }
          node.push_back({order[best], j});
        }
      } else {
        std::vector<int64_t> inputs(i + 2);
        for (int64_t j = 0; j < i + 2; ++j) inputs[j] = j;
        std::stable_sort(inputs.begin(), inputs.end(), [&](int64_t a, int64_t b) {
          return acc[edge_row(c, i, a)][best_op(edge_row(c, i, a))] >
                 acc[edge_row(c, i, b)][best_op(edge_row(c, i, b))];
        });
        for (int64_t t = 0; t < 2; ++t) {
          node.push_back({order[best_op(edge_row(c, i, inputs[t]))], inputs[t]});
        }
      }
      cell.nodes.push_back(std::move(node));
    }
    for (int64_t s = 2 + steps_ - multiplier_; s < steps_ + 2; ++s) {
      cell.concat.push_back(s);
    }
    arch.cells.push_back(std::move(cell));
  }
  return arch;
}

Architecture DartsSpace::sample(core::Rng& rng, bool include_none) const {
  const auto& order = family_.order;
  const int64_t none = index_of(order, "none");
  const int64_t n = static_cast<int64_t>(order.size());
  auto random_op = [&]() {
    if (include_none) return order[rng.uniform_int(n)];
    int64_t k = rng.uniform_int(n - 1);
    if (k >= none) ++k;  // uniform over the non-`none` ops
    return order[k];
  };
  Architecture arch;
  for (const char* name : kCellNames) {
    CellGenotype cell;
    cell.name = name;
    for (int64_t i = 0; i < steps_; ++i) {
      const auto perm = rng.permutation(i + 2);
      cell.nodes.push_back({{random_op(), perm[0]}, {random_op(), perm[1]}});
    }
    for (int64_t s = 2 + steps_ - multiplier_; s < steps_ + 2; ++s) {
      cell.concat.push_back(s);
    }
    arch.cells.push_back(std::move(cell));
  }
  return arch;
}

Architecture DartsSpace::mutate(const Architecture& arch,
                                core::Rng& rng) const {
  const auto& order = family_.order;
  Architecture out = arch;
  auto& cell = out.cells.at(rng.uniform_int(2));
  const int64_t i = rng.uniform_int(static_cast<int64_t>(cell.nodes.size()));
  auto& node = cell.nodes[i];
  auto& edge = node[rng.uniform_int(static_cast<int64_t>(node.size()))];
  // Inputs not used by this node yet (node inputs stay distinct).
  std::vector<int64_t> free_inputs;
  for (int64_t j = 0; j < i + 2; ++j) {
    if (std::none_of(node.begin(), node.end(),
                     [&](const GenotypeEdge& e) { return e.input == j; })) {
      free_inputs.push_back(j);
    }
  }
  if (!free_inputs.empty() && rng.bernoulli(0.5)) {
    edge.input = free_inputs[rng.uniform_int(
        static_cast<int64_t>(free_inputs.size()))];
  } else {
    std::vector<std::string> others;
    for (const auto& op : order) {
      if (op != "none" && op != edge.op) others.push_back(op);
    }
    edge.op = others[rng.uniform_int(static_cast<int64_t>(others.size()))];
  }
  return out;
}

PathSpec DartsSpace::path_of(const Architecture& arch) const {
  const auto& order = family_.order;
  if (arch.cells.size() != 2) {
    throw ConfigError("a DARTS architecture needs a normal and a reduce cell");
  }
  PathSpec path;
  path.edges.resize(2 * steps_ * (steps_ + 3) / 2);
  for (int64_t c = 0; c < 2; ++c) {
    const auto& cell = arch.cells[c];
    if (static_cast<int64_t>(cell.nodes.size()) != steps_) {
      throw ConfigError(fmt::format(
          "the darts supernet has {} nodes per cell; the {} cell has {}",
          steps_, cell.name, cell.nodes.size()));
    }
    std::vector<int64_t> expected;
    for (int64_t s = 2 + steps_ - multiplier_; s < steps_ + 2; ++s) {
      expected.push_back(s);
    }
    if (cell.concat != expected) {
      throw ConfigError(fmt::format(
          "the darts supernet concatenates states [{}]; the {} cell has [{}]",
          fmt::join(expected, ", "), cell.name, fmt::join(cell.concat, ", ")));
    }
    for (int64_t i = 0; i < steps_; ++i) {
      for (const auto& e : cell.nodes[i]) {
        const int64_t k = index_of(order, e.op);
        if (k < 0) {
          throw ConfigError(fmt::format(
              "op '{}' is not a candidate of the darts supernet ({})", e.op,
              fmt::join(order, ", ")));
        }
        auto& ops = path.edges[edge_row(c, i, e.input)].ops;
        if (std::find(ops.begin(), ops.end(), k) != ops.end()) {
          throw ConfigError(fmt::format(
              "{} cell: node {} uses '{}' on input {} twice", cell.name, i + 2,
              e.op, e.input));
        }
        ops.push_back(k);
      }
    }
  }
  return path;
}

Network DartsSpace::build_network(const Architecture& arch,
                                  const NetworkOptions& options) const {
  check_darts_sizes(options, false);
  return std::make_shared<DartsNetworkImpl>(arch, options, stem_multiplier_, family_);
}

std::string DartsSpace::format(const Architecture& arch) const {
  return format_darts_genotype(arch);
}

Architecture DartsSpace::parse(std::string_view text) const {
  return parse_darts_genotype(text, op_names(family_));
}

std::string DartsSpace::to_dot(const Architecture& arch) const {
  std::string out = "digraph darts {\n  rankdir=LR;\n  node [shape=box];\n";
  for (const auto& cell : arch.cells) {
    const std::string p = cell.name;
    out += fmt::format("  subgraph cluster_{0} {{\n    label=\"{0} cell\";\n", p);
    out += fmt::format(
        "    {0}_0 [label=\"c_{{k-2}}\", style=filled, fillcolor=darkseagreen2];\n"
        "    {0}_1 [label=\"c_{{k-1}}\", style=filled, fillcolor=darkseagreen2];\n",
        p);
    for (size_t i = 0; i < cell.nodes.size(); ++i) {
      out += fmt::format(
          "    {}_{} [label=\"{}\", style=filled, fillcolor=lightblue];\n", p,
          i + 2, i);
      for (const auto& e : cell.nodes[i]) {
        if (e.op == "none") continue;
        out += fmt::format("    {0}_{1} -> {0}_{2} [label=\"{3}\"];\n", p,
                           e.input, i + 2, e.op);
      }
    }
    out += fmt::format(
        "    {}_out [label=\"c_{{k}}\", style=filled, fillcolor=palegoldenrod];\n",
        p);
    for (int64_t c : cell.concat) {
      out += fmt::format("    {0}_{1} -> {0}_out;\n", p, c);
    }
    out += "  }\n";
  }
  return out + "}\n";
}

}  // namespace nas::search_space
