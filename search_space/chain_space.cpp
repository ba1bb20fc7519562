#include "search_space/chain_space.h"

#include <algorithm>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/text.h"

namespace nas::search_space {

namespace {

OpFamily chain_family(const ChainMacro& m, const std::vector<std::string>& columns) {
  OpFamily f;
  f.name = "chain:" + m.name;
  f.order = columns;
  for (const auto& name : columns) {
    const auto b = parse_block_op(name);
    f.factories[name] = [m, b](const OpArgs& a) {
      if (auto op = make_block_op(b, a.c_in, a.c_out, a.stride, m)) return op;
      // skip on a block of unchanged shape: the identity, unless the block's
      // residual already adds the input (a small input's stride-1 stage
      // keeps its table's residuals: none); zero never runs.
      return b.skip && !a.residual ? make_identity_op() : make_zero_op(a.c_out, a.stride);
    };
  }
  return f;
}

/// About how many weights a chain supernet of table `m` holds (every
/// candidate on every block).
double supernet_weights(const ChainMacro& m, const std::vector<std::string>& columns) {
  double n = 0;
  for (int64_t i = 0; i < m.num_blocks(); ++i) {
    for (const auto& c : columns) {
      const auto b = parse_block_op(c);
      const double mid = static_cast<double>(m.block_in(i) * b.expansion);
      n += mid * static_cast<double>(m.block_in(i) + b.kernel * b.kernel + m.block_channels(i));
      if (b.skip) n += static_cast<double>(m.block_in(i) * m.block_channels(i));
    }
  }
  return n;
}

void check_chain_sizes(const std::string& space, const NetworkOptions& o) {
  if (o.in_channels < 1 || o.in_channels > kMaxInputChannels || o.input_size < 8 ||
      o.input_size > kMaxInputSize || o.num_classes < 2 || o.num_classes > kMaxClasses) {
    throw ConfigError(fmt::format(
        "{} network: expected 1 to {} input channels, input size 8 to {} and 2 to {} classes; "
        "found input {}x{}x{}, {} classes",
        space, kMaxInputChannels, kMaxInputSize, kMaxClasses, o.in_channels, o.input_size,
        o.input_size, o.num_classes));
  }
}

}  // namespace

const core::OptionTable<ChainSpaceOptions>& ChainSpace::options_table() {
  static const auto table = [] {
    core::OptionTable<ChainSpaceOptions> t;
    t.add("table", &ChainSpaceOptions::table,
          "keys over the variant's table (above; every key: docs/spaces.md): stem, stages, candidates, ...");
    t.add("file", &ChainSpaceOptions::file, "a JSON file of table keys, laid over `table`");
    return t;
  }();
  return table;
}

ChainSpace::ChainSpace(std::string name, const std::string& variant,
                       const nlohmann::json& options)
    : name_(std::move(name)) {
  const auto where = "space." + name_;
  const auto o = options_table().parse(options, where);
  macro_ = builtin_chain_tables().at(variant);
  if (!o.table.empty()) macro_ = chain_table_from_json(o.table, macro_, where + ".table");
  if (!o.file.empty()) macro_ = chain_table_from_json(core::read_json_file(o.file), macro_, o.file);
  if (macro_.candidates.empty()) {
    throw ConfigError(fmt::format("{}.table.candidates: expected 1 or more candidate ops", where));
  }
  columns_ = macro_.candidates;
  if (macro_.zero) columns_.push_back("zero");
  const auto k = static_cast<int64_t>(macro_.candidates.size());
  for (int64_t i = 0; i < macro_.num_blocks(); ++i) {
    std::vector<int64_t> cols(k);
    for (int64_t c = 0; c < k; ++c) cols[c] = c;
    if (macro_.zero && macro_.residual(i)) cols.push_back(k);
    allowed_.push_back(std::move(cols));
  }
  family_ = chain_family(macro_, columns_);
}

std::vector<Decision> ChainSpace::decisions() const {
  std::vector<Decision> out;
  for (int64_t i = 0; i < macro_.num_blocks(); ++i) {
    Decision d{fmt::format("block {} ({} -> {}, stride {})", i, macro_.block_in(i),
                           macro_.block_channels(i), macro_.block_stride(i)),
               columns_,
               {}};
    if (allowed_[i].size() < columns_.size()) d.allowed = allowed_[i];
    out.push_back(std::move(d));
  }
  return out;
}

NetworkOptions ChainSpace::search_defaults() const {
  NetworkOptions o;
  o.affine = true;
  return o;
}

NetworkOptions ChainSpace::eval_defaults() const { return search_defaults(); }

ChainMacro ChainSpace::at_width(const ChainMacro& table, const NetworkOptions& options) {
  const double w = options.width_mult;
  if (!(w == 0 || (w >= 0.05 && w <= 4))) {
    core::throw_rule_broken("network", "width_mult", "0 (the table's) or 0.05 to 4", w);
  }
  ChainMacro m = table;
  if (w > 0) m.width_mult = w;
  return m;
}

Supernet ChainSpace::build_supernet(const NetworkOptions& options) const {
  check_chain_sizes(name_, options);
  const auto m = at_width(macro_, options);
  check_weights_fit(supernet_weights(m, columns_),
                    fmt::format("a {} supernet at width {}", name_, m.width_mult));
  if (options.superkernel) return build_superkernel_supernet(m, superkernel_layouts(), options);
  return build_chain_supernet(m, family_, options);  // the ops' BN and activation: width-free
}

std::vector<SuperkernelLayout> ChainSpace::superkernel_layouts() const {
  std::vector<SuperkernelLayout> out;
  for (int64_t i = 0; i < macro_.num_blocks(); ++i) {
    out.push_back(superkernel_layout(columns_, macro_.residual(i), name_));
  }
  return out;
}

Architecture ChainSpace::make(const std::string& table, const std::vector<std::string>& ops) const {
  CellGenotype cell;
  cell.name = table;
  for (size_t i = 0; i < ops.size(); ++i) {
    cell.nodes.push_back({GenotypeEdge{ops[i], static_cast<int64_t>(i)}});
  }
  return {{cell}};
}

Architecture ChainSpace::derive(const torch::Tensor& weights) const {
  const auto d = static_cast<int64_t>(allowed_.size());
  TORCH_CHECK(weights.dim() == 2 && weights.size(0) == d &&
                  weights.size(1) == static_cast<int64_t>(columns_.size()),
              name_, " derive: weights must be [", d, ", ", columns_.size(), "], got ",
              weights.sizes());
  const auto w = weights.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<std::string> ops;
  for (int64_t i = 0; i < d; ++i) {
    int64_t best = allowed_[i].front();
    for (const int64_t c : allowed_[i]) {
      if (w[i][c].item<double>() > w[i][best].item<double>()) best = c;
    }
    ops.push_back(columns_[best]);
  }
  return make(macro_.name, ops);
}

Architecture ChainSpace::sample(core::Rng& rng, bool /*include_none*/) const {
  std::vector<std::string> ops;
  for (const auto& cols : allowed_) {
    ops.push_back(columns_[cols[rng.uniform_int(static_cast<int64_t>(cols.size()))]]);
  }
  return make(macro_.name, ops);
}

Architecture ChainSpace::mutate(const Architecture& arch, core::Rng& rng) const {
  const auto path = path_of(arch);
  std::vector<std::string> ops;
  std::vector<int64_t> mutable_blocks;
  for (size_t i = 0; i < allowed_.size(); ++i) {
    ops.push_back(columns_[path.edges[i].ops.front()]);
    if (allowed_[i].size() > 1) mutable_blocks.push_back(static_cast<int64_t>(i));
  }
  if (mutable_blocks.empty()) return arch;
  const auto i = mutable_blocks[rng.uniform_int(static_cast<int64_t>(mutable_blocks.size()))];
  const auto& cols = allowed_[i];
  const auto n = static_cast<int64_t>(cols.size());
  const auto at = std::find(cols.begin(), cols.end(), path.edges[i].ops.front()) - cols.begin();
  ops[i] = columns_[cols[(at + 1 + rng.uniform_int(n - 1)) % n]];  // a different op
  return make(macro_.name, ops);
}

std::pair<const ChainMacro*, std::vector<std::string>> ChainSpace::resolve(
    const Architecture& arch) const {
  if (arch.cells.size() != 1) {
    throw ConfigError(fmt::format("a {} architecture is one chain, found {} cells", name_,
                                  arch.cells.size()));
  }
  const auto& cell = arch.cells[0];
  const ChainMacro* table = &macro_;
  if (cell.name != macro_.name) {
    const auto& builtin = builtin_chain_tables();
    auto it = builtin.find(cell.name);
    if (it == builtin.end()) {
      std::vector<std::string> names{macro_.name};
      for (const auto& [n, t] : builtin) {
        if (n != macro_.name) names.push_back(n);
      }
      throw ConfigError(fmt::format("unknown chain table '{}'; known tables: {}",
                                    core::printable(cell.name, 40), fmt::join(names, ", ")));
    }
    table = &it->second;
  }
  std::vector<std::string> ops;
  for (const auto& node : cell.nodes) {
    if (node.size() != 1) throw ConfigError("a chain block holds exactly one op");
    ops.push_back(node.front().op);
  }
  return {table, ops};
}

PathSpec ChainSpace::path_of(const Architecture& arch) const {
  const auto [table, ops] = resolve(arch);
  if (static_cast<int64_t>(ops.size()) != macro_.num_blocks()) {
    throw ConfigError(fmt::format("{}: the architecture has {} blocks, the space {}", name_,
                                  ops.size(), macro_.num_blocks()));
  }
  std::vector<int64_t> idx;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto c = std::find(columns_.begin(), columns_.end(), ops[i]) - columns_.begin();
    const auto& cols = allowed_[i];
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) {
      std::vector<std::string> names;
      for (const int64_t k : cols) names.push_back(columns_[k]);
      throw ConfigError(fmt::format("{}: block {} runs '{}', which the space does not offer "
                                    "there (candidates: {})",
                                    name_, i, ops[i], fmt::join(names, ", ")));
    }
    idx.push_back(c);
  }
  return PathSpec::single(idx);
}

Network ChainSpace::build_network(const Architecture& arch, const NetworkOptions& options) const {
  check_chain_sizes(name_, options);
  const auto [table, ops] = resolve(arch);
  return build_chain_network(at_width(*table, options), ops, options);
}

std::string ChainSpace::format(const Architecture& arch) const {
  const auto [table, ops] = resolve(arch);
  return fmt::format("{}:{}", table->name, fmt::join(ops, ","));
}

Architecture ChainSpace::parse(std::string_view text) const {
  constexpr size_t kMaxText = 16384;
  if (text.size() > kMaxText) {
    throw ConfigError(fmt::format("chain architecture of {} bytes; expected at most {}",
                                  text.size(), kMaxText));
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const auto t = first == std::string_view::npos ? std::string_view()
                                                 : text.substr(first, last - first + 1);
  const auto colon = t.find(':');
  if (colon == std::string_view::npos) {
    throw ConfigError(fmt::format(
        "chain architecture: expected <table>:<op>,<op>,... (e.g. {}:{},...), found '{}'",
        macro_.name, columns_.front(), core::printable(t, 60)));
  }
  std::vector<std::string> ops;
  size_t pos = colon + 1;
  while (pos <= t.size()) {
    const auto comma = std::min(t.find(',', pos), t.size());
    ops.emplace_back(t.substr(pos, comma - pos));
    pos = comma + 1;
  }
  const auto arch = make(std::string(t.substr(0, colon)), ops);
  const auto [table, _] = resolve(arch);
  if (static_cast<int64_t>(ops.size()) != table->num_blocks()) {
    throw ConfigError(fmt::format("chain architecture: table {} has {} blocks, found {} ops",
                                  table->name, table->num_blocks(), ops.size()));
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    try {
      const auto b = parse_block_op(ops[i]);
      if (b.zero() && !table->residual(static_cast<int64_t>(i))) {
        throw ConfigError(fmt::format("'zero' where the block has no residual ({} -> {}, "
                                      "stride {})",
                                      table->block_in(i), table->block_channels(i),
                                      table->block_stride(i)));
      }
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("chain architecture, block {}: {}", i, e.what()));
    }
  }
  return arch;
}

std::string ChainSpace::describe(const Architecture& arch, const NetworkOptions& o) const {
  const auto [table, ops] = resolve(arch);
  const auto m = at_width(*table, o).for_input(o.input_size);
  std::string out = fmt::format("{} chain at width {}{}:\n", m.name, m.width_mult,
                                m.stem_stride != table->stem_stride
                                    ? fmt::format(" (strides for the {}x{} input)", o.input_size,
                                                  o.input_size)
                                    : "");
  out += fmt::format("  stem      conv 3x3    {:>4} -> {:<4} stride {}\n", o.in_channels,
                     m.stem_channels(), m.stem_stride);
  if (!m.first_op.empty()) {
    out += fmt::format("  first     {:<10}  {:>4} -> {:<4} stride 1\n", m.first_op,
                       m.stem_channels(), m.first_out());
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto n = static_cast<int64_t>(i);
    out += fmt::format("  block {:<3} {:<10}  {:>4} -> {:<4} stride {}{}\n", i, ops[i],
                       m.block_in(n), m.block_channels(n), m.block_stride(n),
                       (ops[i] == "zero" || ops[i] == "skip") && m.residual(n)
                           ? "  (skipped: identity)"
                       : ops[i] == "skip" ? "  (1x1 projection)"
                       : m.residual(n)    ? "  + input"
                                          : "");
  }
  if (!m.last_op.empty()) {
    out += fmt::format("  last      {:<10}  {:>4} -> {:<4} stride 1\n", m.last_op,
                       m.block_channels(m.num_blocks() - 1), m.last_out());
  }
  if (m.mix_channels() > 0) {
    out += fmt::format("  head      conv 1x1    {:>4} -> {:<4} pool, dropout {}, linear -> {}\n",
                       m.last_out(), m.mix_channels(), m.dropout,
                       o.num_classes);
  } else {
    out += fmt::format("  head      pool, dropout {}, linear -> {}\n", m.dropout, o.num_classes);
  }
  out += fmt::format("multiply-adds: {:.2f} M per image (convolutions and classifier)\n",
                     chain_macs(at_width(*table, o), ops, o) / 1e6);
  return out;
}

std::string ChainSpace::describe_sizes(const NetworkOptions& o) const {
  return fmt::format("width {}", o.width_mult > 0 ? o.width_mult : macro_.width_mult);
}

std::string ChainSpace::to_dot(const Architecture& arch) const {
  const auto [table, ops] = resolve(arch);
  std::string out = fmt::format("digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n", table->name);
  out += fmt::format("  stem [label=\"stem\\n{}\", style=filled, fillcolor=darkseagreen2];\n",
                     table->first_out());
  std::string prev = "stem";
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto n = static_cast<int64_t>(i);
    out += fmt::format("  b{} [label=\"{}\\n{} -> {}{}\"{}];\n", i, ops[i], table->block_in(n),
                       table->block_channels(n),
                       table->block_stride(n) == 2 ? ", /2" : "",
                       ops[i] == "zero" || ops[i] == "skip" ? ", style=dashed"
                                                            : ", style=filled, fillcolor=lightblue");
    out += fmt::format("  {} -> b{};\n", prev, i);
    prev = fmt::format("b{}", i);
  }
  out += fmt::format("  head [label=\"1x1, pool, fc\", style=filled, fillcolor=palegoldenrod];\n"
                     "  {} -> head;\n}}\n",
                     prev);
  return out;
}

}  // namespace nas::search_space
