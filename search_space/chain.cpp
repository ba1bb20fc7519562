#include "search_space/chain.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional.h>

#include "core/error.h"
#include "kernels/relu_conv_bn.h"
#include "search_space/superkernel.h"

namespace nas::search_space {

namespace nn = torch::nn;

int64_t make_divisible(double v, int64_t divisor) {
  const auto d = static_cast<double>(divisor);
  auto out = std::max<int64_t>(divisor, static_cast<int64_t>(v + d / 2) / divisor * divisor);
  if (static_cast<double>(out) < 0.9 * v) out += divisor;
  return out;
}

int64_t ChainMacro::num_blocks() const {
  int64_t n = 0;
  for (const auto& s : stages) n += s.blocks;
  return n;
}

namespace {

/// The stage of searchable block `i` and whether it is the stage's first.
std::pair<const ChainStage*, bool> stage_of(const ChainMacro& m, int64_t i) {
  for (const auto& s : m.stages) {
    if (i < s.blocks) return {&s, i == 0};
    i -= s.blocks;
  }
  throw Error(fmt::format("chain {}: no block {}", m.name, i));
}

int64_t scaled(const ChainMacro& m, int64_t channels) {
  return make_divisible(static_cast<double>(channels) * m.width_mult);
}

}  // namespace

int64_t ChainMacro::block_channels(int64_t i) const { return scaled(*this, stage_of(*this, i).first->channels); }

int64_t ChainMacro::block_stride(int64_t i) const {
  const auto [stage, first] = stage_of(*this, i);
  return first ? stage->stride : 1;
}

int64_t ChainMacro::stem_channels() const { return scaled(*this, stem); }

int64_t ChainMacro::mix_channels() const {
  if (feature_mix <= 0) return 0;
  // Only grows with the width, as in torchvision and ProxylessNAS.
  return width_mult > 1.0 ? make_divisible(static_cast<double>(feature_mix) * width_mult)
                          : feature_mix;
}

int64_t ChainMacro::first_out() const {
  return first_op.empty() ? scaled(*this, stem) : scaled(*this, first_channels);
}

int64_t ChainMacro::last_out() const {
  return last_op.empty() ? block_channels(num_blocks() - 1) : scaled(*this, last_channels);
}

int64_t ChainMacro::block_in(int64_t i) const { return i == 0 ? first_out() : block_channels(i - 1); }

bool ChainMacro::residual(int64_t i) const {
  return block_stride(i) == 1 && block_in(i) == block_channels(i);
}

ChainMacro ChainMacro::for_input(int64_t input_size) const {
  if (input_size > 64) return *this;
  ChainMacro m = *this;
  m.stem_stride = 1;
  for (auto& s : m.stages) {
    if (s.stride == 2) {
      s.stride = 1;
      break;
    }
  }
  return m;
}

std::string chain_table_summary(const ChainMacro& m) {
  std::vector<std::string> stages;
  for (const auto& st : m.stages) {
    stages.push_back(fmt::format("{}x{}{}", st.channels, st.blocks,
                                 st.stride == 1 ? "" : fmt::format("/{}", st.stride)));
  }
  return fmt::format("stem {}/{}{}, stages {}{}, mix {}, {}", m.stem, m.stem_stride,
                     m.first_op.empty() ? "" : fmt::format(", first {} {}", m.first_op,
                                                           m.first_channels),
                     fmt::join(stages, " "),
                     m.last_op.empty() ? "" : fmt::format(", last {} {}", m.last_op,
                                                          m.last_channels),
                     m.feature_mix, m.activation);
}

double mbconv_macs(const BlockOp& b, int64_t c_in, int64_t c_out, int64_t h, int64_t stride) {
  const double y = static_cast<double>((h + stride - 1) / stride);
  if (b.skip) {
    return c_in == c_out && stride == 1 ? 0 : y * y * static_cast<double>(c_in * c_out);
  }
  if (b.zero()) return 0;
  const double mid = static_cast<double>(c_in * b.expansion);
  const double h2 = static_cast<double>(h * h);
  const double g = static_cast<double>(b.groups);
  const double expand = b.expansion == 1 ? 0 : h2 * static_cast<double>(c_in) * mid / g;
  return expand + y * y * mid * (static_cast<double>(b.kernel * b.kernel) +
                                 static_cast<double>(c_out) / g);
}

double chain_macs(const ChainMacro& table, const std::vector<std::string>& ops,
                  const NetworkOptions& o) {
  const auto m = table.for_input(o.input_size);
  int64_t h = (o.input_size + m.stem_stride - 1) / m.stem_stride;
  double n = static_cast<double>(h * h * o.in_channels * 9 * m.stem_channels());
  if (!m.first_op.empty()) {
    n += mbconv_macs(parse_block_op(m.first_op), m.stem_channels(), m.first_out(), h, 1);
  }
  for (int64_t i = 0; i < m.num_blocks() && i < static_cast<int64_t>(ops.size()); ++i) {
    const auto stride = m.block_stride(i);
    n += mbconv_macs(parse_block_op(ops[static_cast<size_t>(i)]), m.block_in(i),
                     m.block_channels(i), h, stride);
    h = (h + stride - 1) / stride;
  }
  if (!m.last_op.empty()) {
    n += mbconv_macs(parse_block_op(m.last_op), m.block_channels(m.num_blocks() - 1),
                     m.last_out(), h, 1);
  }
  int64_t c = m.last_out();
  if (m.mix_channels() > 0) {
    n += static_cast<double>(h * h * c * m.mix_channels());
    c = m.mix_channels();
  }
  return n + static_cast<double>(c * o.num_classes);
}

BlockOp parse_block_op(const std::string& op) {
  if (op == "zero") return {};
  if (op == "skip") return {0, 0, 1, true};
  static const std::regex form("mb([1-9])_k([357])(_g([2-8]))?");
  std::smatch m;
  if (!std::regex_match(op, m, form)) {
    throw ConfigError(fmt::format(
        "unknown block op '{}'; expected mb{{E}}_k{{K}} (expansion E 1-9, kernel K 3, 5 or 7, "
        "e.g. mb6_k3), mb{{E}}_k{{K}}_g{{G}} (1x1 convs in G = 2-8 groups, e.g. mb1_k3_g2), "
        "skip or zero",
        op));
  }
  return {std::stoll(m[1].str()), std::stoll(m[2].str()),
          m[4].matched ? std::stoll(m[4].str()) : 1, false};
}

namespace {

nn::Conv2d conv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t groups,
                bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(c_in, c_out, kernel)
                        .stride(stride)
                        .padding(kernel / 2)
                        .groups(groups)
                        .bias(bias));
}

nn::BatchNorm2d bn(int64_t c, const ChainMacro& m) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(c).momentum(m.bn_momentum).eps(m.bn_eps));
}

torch::Tensor act(const torch::Tensor& x, bool relu6) {
  return relu6 ? torch::clamp(x, 0, 6) : torch::relu(x);
}

/// `act` for exporters.
GraphWriter::Value act(GraphWriter& g, const GraphWriter::Value& x, bool relu6) {
  return relu6 ? g.relu6(x) : g.relu(x);
}

/// ShuffleNet's channel shuffle: [N, g * c, H, W] -> groups interleaved.
torch::Tensor shuffle_channels(const torch::Tensor& x, int64_t groups) {
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.view({n, groups, c / groups, h, w}).transpose(1, 2).reshape({n, c, h, w});
}

void check_groups(int64_t groups, int64_t c_in, int64_t mid, int64_t c_out) {
  if (c_in % groups != 0 || mid % groups != 0 || c_out % groups != 0) {
    throw ConfigError(fmt::format(
        "MBConv with {} groups: expected channels divisible by {}, found {} -> {} -> {}", groups,
        groups, c_in, mid, c_out));
  }
}

}  // namespace

nn::Conv2d chain_conv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride) {
  return conv(c_in, c_out, kernel, stride, 1);
}
nn::BatchNorm2d chain_bn(int64_t channels, const ChainMacro& m) { return bn(channels, m); }
torch::Tensor chain_act(const torch::Tensor& x, const ChainMacro& m) {
  return act(x, m.activation == "relu6");
}

MBConvImpl::MBConvImpl(int64_t c_in, int64_t c_out, const BlockOp& op, int64_t stride,
                       const ChainMacro& macro)
    : kernel_(op.kernel),
      stride_(stride),
      groups_(op.groups),
      relu6_(macro.activation == "relu6"),
      fused_(op.groups == 1 && !macro.conv_bias) {
  const int64_t mid = c_in * op.expansion;
  const bool bias = macro.conv_bias;
  check_groups(groups_, c_in, mid, c_out);
  if (op.expansion != 1) {
    expand_ = register_module("expand", conv(c_in, mid, 1, 1, groups_, bias));
    expand_bn_ = register_module("expand_bn", bn(mid, macro));
  }
  depthwise_ = register_module("depthwise", conv(mid, mid, kernel_, stride, mid, bias));
  depthwise_bn_ = register_module("depthwise_bn", bn(mid, macro));
  project_ = register_module("project", conv(mid, c_out, 1, 1, groups_, bias));
  project_bn_ = register_module("project_bn", bn(c_out, macro));
}

torch::Tensor MBConvImpl::forward(const torch::Tensor& x) {
  return fused_ ? forward_scaled(x, {}) : forward_modules(x);
}

torch::Tensor MBConvImpl::forward_modules(const torch::Tensor& x) {
  auto h = x;
  if (expand_) h = act(expand_bn_->forward(expand_->forward(h)), relu6_);
  if (groups_ > 1) h = shuffle_channels(h, groups_);
  h = act(depthwise_bn_->forward(depthwise_->forward(h)), relu6_);
  return project_bn_->forward(project_->forward(h));
}

GraphWriter::Value MBConvImpl::export_graph(GraphWriter& g, const GraphWriter::Value& x) const {
  auto h = x;
  if (expand_) h = act(g, g.batch_norm(g.conv(h, *expand_), *expand_bn_), relu6_);
  if (groups_ > 1) h = g.channel_shuffle(h, depthwise_->options.in_channels(), groups_);
  h = act(g, g.batch_norm(g.conv(h, *depthwise_), *depthwise_bn_), relu6_);
  return g.batch_norm(g.conv(h, *project_), *project_bn_);
}

torch::Tensor MBConvImpl::forward_scaled(const torch::Tensor& x, const torch::Tensor& w) {
  using kernels::Activation;
  if (!fused_) return w.defined() ? forward_modules(x) * w : forward_modules(x);
  const auto a = relu6_ ? Activation::relu6 : Activation::relu;
  std::vector<kernels::ConvBnUnit> units;
  if (expand_) {
    units.push_back(kernels::conv_bn_unit(expand_, 1, 0, expand_bn_));
    units.back().act = Activation::none;
  }
  units.push_back(kernels::conv_bn_unit(nn::Conv2d{nullptr}, 1, 0, depthwise_bn_, depthwise_,
                                        {kernel_, stride_, kernel_ / 2, 1}));
  units.back().act = expand_ ? a : Activation::none;
  units.push_back(kernels::conv_bn_unit(project_, 1, 0, project_bn_));
  units.back().act = a;
  return kernels::relu_conv_bn(x, units, is_training(), w);
}

SkipProjectionImpl::SkipProjectionImpl(int64_t c_in, int64_t c_out, int64_t stride,
                                       const ChainMacro& macro)
    : relu6_(macro.activation == "relu6") {
  conv_ = register_module("conv", conv(c_in, c_out, 1, stride, 1));
  bn_ = register_module("bn", bn(c_out, macro));
}

torch::Tensor SkipProjectionImpl::forward(const torch::Tensor& x) {
  return act(bn_->forward(conv_->forward(x)), relu6_);
}

GraphWriter::Value SkipProjectionImpl::export_graph(GraphWriter& g,
                                                   const GraphWriter::Value& x) const {
  return act(g, g.batch_norm(g.conv(x, *conv_), *bn_), relu6_);
}

CandidateOp make_block_op(const BlockOp& op, int64_t c_in, int64_t c_out, int64_t stride,
                          const ChainMacro& macro) {
  if (op.mbconv()) return std::make_shared<MBConvImpl>(c_in, c_out, op, stride, macro);
  if (op.skip && (c_in != c_out || stride != 1)) {
    return std::make_shared<SkipProjectionImpl>(c_in, c_out, stride, macro);
  }
  return nullptr;  // zero, or skip where the block's residual makes it the identity
}

namespace {

/// The fixed parts of a chain (stem, fixed first block, feature mix,
/// pooling, dropout, classifier), shared by the supernet and stand-alone
/// networks; the searchable blocks belong to the owner.
class ChainSkeleton {
 public:
  /// Registers the fixed parts on `owner` (`m` already adapted to the
  /// input) and calls `block(i, c_in, c_out, stride)` for each searchable
  /// block in order.
  template <class AddBlock>
  void build(nn::Module& owner, const ChainMacro& m, const NetworkOptions& o, AddBlock block) {
    relu6_ = m.activation == "relu6";
    dropout_ = m.dropout;
    const int64_t stem = m.stem_channels();
    stem_ = owner.register_module("stem",
                                  conv(o.in_channels, stem, 3, m.stem_stride, 1, m.conv_bias));
    stem_bn_ = owner.register_module("stem_bn", bn(stem, m));
    int64_t c = stem;
    if (!m.first_op.empty()) {
      first_ = fixed_block(owner, "first", m.first_op, c, m.first_out(), m);
      first_residual_ = c == m.first_out();
      c = m.first_out();
    }
    for (int64_t i = 0; i < m.num_blocks(); ++i) {
      block(i, c, m.block_channels(i), m.block_stride(i));
      c = m.block_channels(i);
    }
    if (!m.last_op.empty()) {
      last_ = fixed_block(owner, "last", m.last_op, c, m.last_out(), m);
      last_residual_ = c == m.last_out();
      c = m.last_out();
    }
    if (m.feature_mix > 0) {
      const int64_t mix = m.mix_channels();
      mix_ = owner.register_module("feature_mix", conv(c, mix, 1, 1, 1, m.conv_bias));
      mix_bn_ = owner.register_module("feature_mix_bn", bn(mix, m));
      c = mix;
    }
    classifier_ = owner.register_module("classifier", nn::Linear(c, o.num_classes));
  }

  /// Stem and fixed first block.
  torch::Tensor stem(const torch::Tensor& x) {
    auto h = act(stem_bn_->forward(stem_->forward(x)), relu6_);
    if (first_) {
      const auto y = first_->forward(h);
      h = first_residual_ ? h + y : y;
    }
    return h;
  }

  /// `stem` and `head` (eval mode) for exporters.
  GraphWriter::Value export_stem(GraphWriter& g, const GraphWriter::Value& x) const {
    auto h = act(g, g.batch_norm(g.conv(x, *stem_), *stem_bn_), relu6_);
    if (first_) h = block(g, *first_, first_residual_, h, "first");
    return h;
  }
  GraphWriter::Value export_head(GraphWriter& g, GraphWriter::Value h) const {
    if (last_) h = block(g, *last_, last_residual_, h, "last");
    if (mix_) h = act(g, g.batch_norm(g.conv(h, *mix_), *mix_bn_), relu6_);
    return g.linear(g.global_avg_pool(h), *classifier_);
  }
  /// A block's op, its input added back with `residual`.
  static GraphWriter::Value block(GraphWriter& g, const CandidateOpImpl& op, bool residual,
                                  const GraphWriter::Value& h, const std::string& what) {
    const auto y = export_op(g, op, h, what);
    return residual ? g.sum({h, y}) : y;
  }

  /// Fixed last block, feature mix, pooling, dropout (in training) and
  /// classifier.
  torch::Tensor head(torch::Tensor h, bool training) {
    if (last_) {
      const auto y = last_->forward(h);
      h = last_residual_ ? h + y : y;
    }
    if (mix_) h = act(mix_bn_->forward(mix_->forward(h)), relu6_);
    h = h.mean({2, 3});
    if (dropout_ > 0 && training) h = torch::dropout(h, dropout_, true);
    return classifier_->forward(h);
  }

 private:
  static std::shared_ptr<MBConvImpl> fixed_block(nn::Module& owner, const std::string& key,
                                                 const std::string& op, int64_t c_in,
                                                 int64_t c_out, const ChainMacro& m) {
    const auto b = parse_block_op(op);
    if (!b.mbconv()) {
      throw ConfigError(fmt::format("chain {}: {}_op must be an MBConv op", m.name, key));
    }
    return owner.register_module(key, std::make_shared<MBConvImpl>(c_in, c_out, b, 1, m));
  }

  bool relu6_ = true;
  bool first_residual_ = false, last_residual_ = false;
  double dropout_ = 0;
  nn::Conv2d stem_{nullptr}, mix_{nullptr};
  nn::BatchNorm2d stem_bn_{nullptr}, mix_bn_{nullptr};
  std::shared_ptr<MBConvImpl> first_, last_;
  nn::Linear classifier_{nullptr};
};

/// The ConfigError of a `zero` where block `i` has no residual.
[[noreturn]] void throw_zero_without_residual(const ChainMacro& m, int64_t i) {
  throw ConfigError(fmt::format(
      "chain {}: block {} is 'zero' but has no residual (stride {}, {} -> {} channels); "
      "zero may only skip a stride-1 block of unchanged width",
      m.name, i, m.block_stride(i), m.block_in(i), m.block_channels(i)));
}

/// One block of a stand-alone chain: its op (null: zero) and whether the
/// input is added back.
struct ChainBlock {
  CandidateOp op;
  bool residual = false;
};

class ChainNetworkImpl : public NetworkImpl {
 public:
  ChainNetworkImpl(const ChainMacro& m, const std::vector<std::string>& ops,
                   const NetworkOptions& o) {
    skeleton_.build(*this, m.for_input(o.input_size), o,
                    [&](int64_t i, int64_t c_in, int64_t c_out, int64_t stride) {
                      const auto b = parse_block_op(ops[static_cast<size_t>(i)]);
                      ChainBlock block;
                      block.residual = m.residual(i);
                      if (b.zero() && !block.residual) throw_zero_without_residual(m, i);
                      block.op = make_block_op(b, c_in, c_out, stride, m);
                      if (block.op) register_module(fmt::format("block{}", i), block.op);
                      blocks_.push_back(block);
                    });
  }

  std::pair<torch::Tensor, torch::Tensor> forward_aux(const torch::Tensor& x) override {
    auto h = skeleton_.stem(x);
    for (const auto& b : blocks_) {
      if (!b.op) continue;  // zero or skip on a residual block: identity
      const auto y = b.op->forward(h);
      h = b.residual ? h + y : y;
    }
    return {skeleton_.head(h, is_training()), torch::Tensor()};
  }

  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    auto h = skeleton_.export_stem(g, x);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      if (!blocks_[i].op) continue;
      h = ChainSkeleton::block(g, *blocks_[i].op, blocks_[i].residual, h,
                               fmt::format("block {}", i));
    }
    return skeleton_.export_head(g, h);
  }

 private:
  ChainSkeleton skeleton_;
  std::vector<ChainBlock> blocks_;
};

/// The chain supernet: a MixedOp of the table's candidates on every
/// searchable block; a block with a residual adds its input back, so its
/// `zero` candidate makes it the identity.
class ChainSupernetImpl : public SupernetImpl {
 public:
  ChainSupernetImpl(const ChainMacro& m, const OpFamily& family, const NetworkOptions& o) {
    num_decisions_ = m.num_blocks();
    skeleton_.build(*this, m.for_input(o.input_size), o,
                    [&](int64_t i, int64_t c_in, int64_t c_out, int64_t stride) {
                      OpArgs args;
                      args.c_in = c_in;
                      args.c_out = c_out;
                      args.stride = stride;
                      args.search = true;
                      args.residual = m.residual(i);
                      auto op = register_module(fmt::format("block{}", i),
                                                make_mixed_op(family, args));
                      add_mixed_op(i, op);
                      blocks_.push_back(op);
                      residual_.push_back(m.residual(i));
                    });
  }

  torch::Tensor forward_path(const torch::Tensor& x, const PathSpec& path) override {
    TORCH_CHECK(path.edges.size() == blocks_.size(), "chain supernet: PathSpec has ",
                path.edges.size(), " decisions, expected ", blocks_.size());
    auto h = skeleton_.stem(x);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const auto y = blocks_[i]->forward(h, path.edges[i]);
      if (residual_[i]) {
        if (y.defined()) h = h + y;  // undefined: only zero ran (identity)
      } else {
        TORCH_CHECK(y.defined() && y.dim() > 0, "chain supernet: block ", i,
                    " has no residual and ran no op");
        h = y;
      }
    }
    return skeleton_.head(h, is_training());
  }

 private:
  ChainSkeleton skeleton_;
  std::vector<MixedOp> blocks_;
  std::vector<bool> residual_;
};

/// Single-Path NAS's supernet: one superkernel per searchable block. A
/// block runs with its EdgeChoice's indicators, or a one-op choice's hard
/// pattern (a discrete architecture through the shared weights).
class SuperkernelSupernetImpl : public SupernetImpl {
 public:
  SuperkernelSupernetImpl(const ChainMacro& m, const std::vector<SuperkernelLayout>& layouts,
                          const NetworkOptions& o) {
    num_decisions_ = m.num_blocks();
    skeleton_.build(*this, m.for_input(o.input_size), o,
                    [&](int64_t i, int64_t c_in, int64_t c_out, int64_t stride) {
                      blocks_.push_back(register_module(
                          fmt::format("block{}", i),
                          std::make_shared<SuperkernelImpl>(
                              c_in, c_out, stride, layouts[static_cast<size_t>(i)], m)));
                      residual_.push_back(m.residual(i));
                    });
  }

  int64_t superkernel_slots() const override { return blocks_.front()->layout().slots(); }

  torch::Tensor superkernel_indicators(const torch::Tensor& t, double keep) const override {
    std::vector<torch::Tensor> rows;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      rows.push_back(blocks_[i]->indicators(t[static_cast<int64_t>(i)], keep));
    }
    return torch::stack(rows);
  }

  torch::Tensor superkernel_selection(const torch::Tensor& d) const override {
    std::vector<torch::Tensor> rows;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      rows.push_back(blocks_[i]->selection(d[static_cast<int64_t>(i)]));
    }
    return torch::stack(rows);
  }

  torch::Tensor forward_path(const torch::Tensor& x, const PathSpec& path) override {
    TORCH_CHECK(path.edges.size() == blocks_.size(), "superkernel supernet: PathSpec has ",
                path.edges.size(), " decisions, expected ", blocks_.size());
    auto h = skeleton_.stem(x);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const auto& e = path.edges[i];
      TORCH_CHECK(e.indicators.defined() || e.ops.size() == 1, "superkernel supernet: block ",
                  i, " needs indicators or one op, got ", e.ops.size(), " ops");
      const auto d = e.indicators.defined() ? e.indicators : blocks_[i]->pattern(e.ops.front());
      const auto y = blocks_[i]->forward(h, d);
      h = residual_[i] ? h + y : y;
    }
    return skeleton_.head(h, is_training());
  }

 private:
  ChainSkeleton skeleton_;
  std::vector<Superkernel> blocks_;
  std::vector<bool> residual_;
};

}  // namespace

Network build_chain_network(const ChainMacro& macro, const std::vector<std::string>& ops,
                            const NetworkOptions& options) {
  if (static_cast<int64_t>(ops.size()) != macro.num_blocks()) {
    throw ConfigError(fmt::format("chain {}: expected {} block ops, found {}", macro.name,
                                  macro.num_blocks(), ops.size()));
  }
  return std::make_shared<ChainNetworkImpl>(macro, ops, options);
}

Supernet build_chain_supernet(const ChainMacro& macro, const OpFamily& family,
                              const NetworkOptions& options) {
  return std::make_shared<ChainSupernetImpl>(macro, family, options);
}

Supernet build_superkernel_supernet(const ChainMacro& macro,
                                    const std::vector<SuperkernelLayout>& layouts,
                                    const NetworkOptions& options) {
  TORCH_CHECK(static_cast<int64_t>(layouts.size()) == macro.num_blocks(),
              "superkernel supernet: ", layouts.size(), " layouts for ", macro.num_blocks(),
              " blocks");
  return std::make_shared<SuperkernelSupernetImpl>(macro, layouts, options);
}

}  // namespace nas::search_space
