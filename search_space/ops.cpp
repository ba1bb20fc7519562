#include "search_space/ops.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "kernels/pool.h"
#include "kernels/relu_conv_bn.h"

namespace nas::search_space {

namespace nn = torch::nn;
using kernels::batch_moments;
using kernels::conv_bn_unit;
using kernels::ConvBnUnit;
using kernels::DepthwiseGeometry;
using kernels::pool_3x3;
using kernels::relu_conv_bn;
using kernels::update_running_statistics;

torch::nn::BatchNorm2d make_bn(int64_t c, bool affine, bool track) {
  return nn::BatchNorm2d(
      nn::BatchNorm2dOptions(c).affine(affine).track_running_stats(track));
}

const SharedResults::Entry* SharedResults::find(const torch::Tensor& x, int64_t kind,
                                                int64_t stride) const {
  auto it = entries.find({x.unsafeGetTensorImpl(), kind, stride});
  return it == entries.end() ? nullptr : &it->second;
}

const SharedResults::Entry& SharedResults::add(const torch::Tensor& x, int64_t kind,
                                               int64_t stride, Entry entry) {
  entry.input = x;
  return entries[{x.unsafeGetTensorImpl(), kind, stride}] = std::move(entry);
}

std::vector<int64_t> op_output_shape(const torch::Tensor& x, int64_t c_out,
                                     int64_t stride) {
  return {x.size(0), c_out, (x.size(2) + stride - 1) / stride,
          (x.size(3) + stride - 1) / stride};
}

CandidateOp OpFamily::make(const std::string& op, const OpArgs& args) const {
  auto it = factories.find(op);
  if (it == factories.end()) {
    std::vector<std::string> names;
    for (const auto& [n, f] : factories) names.push_back(n);
    throw ConfigError(fmt::format("unknown op '{}' in the {} op set; valid: {}",
                                  op, name, fmt::join(names, ", ")));
  }
  return it->second(args);
}

ReLUConvBNImpl::ReLUConvBNImpl(int64_t c_in, int64_t c_out, int64_t kernel,
                               int64_t stride, int64_t padding, bool affine,
                               bool track, bool bias)
    : stride_(stride), padding_(padding) {
  conv_ = register_module(
      "conv", nn::Conv2d(nn::Conv2dOptions(c_in, c_out, kernel)
                             .stride(stride)
                             .padding(padding)
                             .bias(bias)));
  bn_ = register_module("bn", make_bn(c_out, affine, track));
}

torch::Tensor ReLUConvBNImpl::forward(const torch::Tensor& x) {
  return bn_(conv_(torch::relu(x)));
}

torch::Tensor ReLUConvBNImpl::forward_scaled(const torch::Tensor& x, const torch::Tensor& w) {
  return relu_conv_bn(x, {conv_bn_unit(conv_, stride_, padding_, bn_)}, is_training(), w);
}

GraphWriter::Value CandidateOpImpl::export_graph(GraphWriter& g,
                                                const GraphWriter::Value& x) const {
  throw Error("has no export mapping");
}

GraphWriter::Value export_op(GraphWriter& g, const CandidateOpImpl& op,
                             const GraphWriter::Value& x, const std::string& what) {
  try {
    return op.export_graph(g, x);
  } catch (const Error& e) {
    throw Error(fmt::format("export: op '{}' {}", what, e.what()));
  }
}

GraphWriter::Value ReLUConvBNImpl::export_graph(GraphWriter& g,
                                               const GraphWriter::Value& x) const {
  return g.batch_norm(g.conv(g.relu(x), *conv_), *bn_);
}

FactorizedReduceImpl::FactorizedReduceImpl(int64_t c_in, int64_t c_out,
                                           bool affine, bool track) {
  TORCH_CHECK(c_out % 2 == 0, "FactorizedReduce needs an even C_out, got ",
              c_out);
  auto opts = nn::Conv2dOptions(c_in, c_out / 2, 1).stride(2).bias(false);
  conv1_ = register_module("conv_1", nn::Conv2d(opts));
  conv2_ = register_module("conv_2", nn::Conv2d(opts));
  bn_ = register_module("bn", make_bn(c_out, affine, track));
}

torch::Tensor FactorizedReduceImpl::forward(const torch::Tensor& x) {
  const auto r = torch::relu(x);
  const auto shifted =
      torch::constant_pad_nd(r, {0, 1, 0, 1}, 0.0)
          .narrow(2, 1, r.size(2))
          .narrow(3, 1, r.size(3));
  return bn_(torch::cat({conv1_(r), conv2_(shifted)}, 1));
}

GraphWriter::Value FactorizedReduceImpl::export_graph(GraphWriter& g,
                                                     const GraphWriter::Value& x) const {
  const auto r = g.relu(x);
  return g.batch_norm(g.concat({g.conv(r, *conv1_), g.conv(g.shift(r), *conv2_)}), *bn_);
}

namespace {

class ZeroImpl : public CandidateOpImpl {
 public:
  ZeroImpl(int64_t c_out, int64_t stride) : c_out_(c_out), stride_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::zeros(op_output_shape(x, c_out_, stride_), x.options());
  }
  bool is_zero() const override { return true; }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return g.zeros(x, stride_);
  }

 private:
  int64_t c_out_, stride_;
};

}  // namespace

CandidateOp make_zero_op(int64_t c_out, int64_t stride) {
  return std::make_shared<ZeroImpl>(c_out, stride);
}

namespace {

class IdentityImpl : public CandidateOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
  bool is_identity() const override { return true; }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return x;
  }
};

}  // namespace

CandidateOp make_identity_op() { return std::make_shared<IdentityImpl>(); }

namespace {

/// 3x3 average (count_include_pad=False) or max pooling, padding 1,
/// optionally followed by a BatchNorm (DARTS search cells).
class PoolImpl : public CandidateOpImpl {
 public:
  /// `include_pad`: an average that counts the zero padding
  /// (nn.AvgPool2d's default, sharpDARTS's ResizablePool); DARTS's does not.
  PoolImpl(bool max, int64_t c, int64_t stride, bool bn, bool affine,
           bool track, bool include_pad = false)
      : max_(max), include_pad_(include_pad && !max), stride_(stride) {
    if (bn) bn_ = register_module("bn", make_bn(c, affine, track));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    const auto y = pool(x);
    return bn_ ? bn_(y) : y;
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    const auto y = g.pool(x, max_, 3, stride_, 1, include_pad_);
    return bn_ ? g.batch_norm(y, *bn_) : y;
  }
  /// The pooling depends on x alone: it is computed once per state and
  /// stride. In training mode so is the pooled, batch-normalised output (BN
  /// without affine parameters), and each op still updates its own running
  /// statistics from the batch statistics, exactly as its BatchNorm would;
  /// in eval mode each op's BatchNorm normalises the shared pooling with
  /// its running statistics.
  torch::Tensor forward_shared(const torch::Tensor& x, SharedResults& shared) override {
    if (bn_ && bn_->options.affine()) return {};
    if (!is_training()) {
      const int64_t kind = max_ ? 3 : include_pad_ ? 6 : 4;
      const auto* entry = shared.find(x, kind, stride_);
      if (!entry) entry = &shared.add(x, kind, stride_, {x, pool(x), {}, {}});
      return bn_ ? bn_(entry->output) : entry->output;
    }
    const int64_t kind = max_ ? 1 : include_pad_ ? 5 : 2;
    const auto* entry = shared.find(x, kind, stride_);
    if (!entry) entry = &shared.add(x, kind, stride_, compute(x));
    if (bn_ && bn_->running_mean.defined()) {
      const auto& y = entry->output;
      update_running_statistics(entry->mean, entry->var, y.numel() / y.size(1),
                                bn_->running_mean, bn_->running_var,
                                bn_->num_batches_tracked,
                                bn_->options.momentum() ? std::optional<double>(*bn_->options.momentum())
                                                        : std::nullopt);
    }
    return entry->output;
  }

 private:
  torch::Tensor pool(const torch::Tensor& x) const {
    if (!include_pad_) return pool_3x3(x, stride_, max_);
    return torch::avg_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1}, /*ceil_mode=*/false,
                             /*count_include_pad=*/true);
  }
  SharedResults::Entry compute(const torch::Tensor& x) {
    SharedResults::Entry e;
    e.output = pool(x);
    if (bn_) {
      {
        torch::NoGradGuard no_grad;
        std::tie(e.mean, e.var) = batch_moments(e.output);
      }
      e.output = torch::batch_norm(e.output, {}, {}, {}, {}, /*training=*/true, 0.0,
                                   bn_->options.eps(), false);
    }
    return e;
  }

  bool max_, include_pad_;
  int64_t stride_;
  nn::BatchNorm2d bn_{nullptr};
};

/// One depthwise-separable unit: ReLU -> depthwise kxk (stride, dilation) ->
/// pointwise 1x1 -> BN (DARTS DilConv).
class DilConvImpl : public CandidateOpImpl {
 public:
  DilConvImpl(int64_t c_in, int64_t c_out, int64_t k, int64_t stride,
              int64_t padding, int64_t dilation, bool affine, bool track)
      : geometry_{k, stride, padding, dilation} {
    dw_ = register_module("dw", nn::Conv2d(nn::Conv2dOptions(c_in, c_in, k)
                                               .stride(stride)
                                               .padding(padding)
                                               .dilation(dilation)
                                               .groups(c_in)
                                               .bias(false)));
    pw_ = register_module(
        "pw", nn::Conv2d(nn::Conv2dOptions(c_in, c_out, 1).bias(false)));
    bn_ = register_module("bn", make_bn(c_out, affine, track));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return bn_(pw_(dw_(torch::relu(x))));
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return g.batch_norm(g.conv(g.conv(g.relu(x), *dw_), *pw_), *bn_);
  }
  bool folds_weight() const override { return true; }
  torch::Tensor forward_scaled(const torch::Tensor& x, const torch::Tensor& w) override {
    return relu_conv_bn(x, {unit()}, is_training(), w);
  }
  /// ReLU -> depthwise -> pointwise -> BN as one unit of a fused chain.
  ConvBnUnit unit() const { return conv_bn_unit(pw_, 1, 0, bn_, dw_, geometry_); }

 private:
  DepthwiseGeometry geometry_;
  nn::Conv2d dw_{nullptr}, pw_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};

/// Two stacked depthwise-separable units; the stride (and a dilation) is
/// in the first: DARTS's SepConv (c_mid = c_in, dilation 1) and
/// sharpDARTS's SharpSepConv (c_mid channels between the units, the first
/// unit's dilation and padding as given, the second unit undilated with
/// padding k/2).
class SepConvImpl : public CandidateOpImpl {
 public:
  SepConvImpl(int64_t c_in, int64_t c_out, int64_t k, int64_t stride,
              int64_t padding, bool affine, bool track, int64_t c_mid = 0,
              int64_t dilation = 1) {
    if (c_mid == 0) c_mid = c_in;
    first_ = register_module(
        "unit1", std::make_shared<DilConvImpl>(c_in, c_mid, k, stride, padding,
                                               dilation, affine, track));
    second_ = register_module(
        "unit2", std::make_shared<DilConvImpl>(c_mid, c_out, k, 1, k / 2, 1,
                                               affine, track));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return second_->forward(first_->forward(x));
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return second_->export_graph(g, first_->export_graph(g, x));
  }
  bool folds_weight() const override { return true; }
  torch::Tensor forward_scaled(const torch::Tensor& x, const torch::Tensor& w) override {
    return relu_conv_bn(x, {first_->unit(), second_->unit()}, is_training(), w);
  }

 private:
  std::shared_ptr<DilConvImpl> first_, second_;
};

/// ReLU -> Conv(1x7) -> Conv(7x1) -> BN (NASNet/AmoebaNet genotypes).
class Conv7x1x7Impl : public CandidateOpImpl {
 public:
  Conv7x1x7Impl(int64_t c, int64_t stride, bool affine, bool track) {
    a_ = register_module("conv_1x7",
                         nn::Conv2d(nn::Conv2dOptions(c, c, {1, 7})
                                        .stride({1, stride})
                                        .padding({0, 3})
                                        .bias(false)));
    b_ = register_module("conv_7x1",
                         nn::Conv2d(nn::Conv2dOptions(c, c, {7, 1})
                                        .stride({stride, 1})
                                        .padding({3, 0})
                                        .bias(false)));
    bn_ = register_module("bn", make_bn(c, affine, track));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return bn_(b_(a_(torch::relu(x))));
  }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override {
    return g.batch_norm(g.conv(g.conv(g.relu(x), *a_), *b_), *bn_);
  }

 private:
  nn::Conv2d a_{nullptr}, b_{nullptr};
  nn::BatchNorm2d bn_{nullptr};
};

OpFamily build_darts_ops() {
  OpFamily f;
  f.name = "darts";
  f.order = {"none",         "max_pool_3x3", "avg_pool_3x3",
             "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5"};
  auto& m = f.factories;
  // DARTS ops keep C (c_in == c_out); only the stride varies.
  m["none"] = [](const OpArgs& a) -> CandidateOp {
    return std::make_shared<ZeroImpl>(a.c_out, a.stride);
  };
  for (bool max : {true, false}) {
    m[max ? "max_pool_3x3" : "avg_pool_3x3"] =
        [max](const OpArgs& a) -> CandidateOp {
      return std::make_shared<PoolImpl>(max, a.c_out, a.stride, a.search,
                                        a.affine, a.track_running_stats);
    };
  }
  m["skip_connect"] = [](const OpArgs& a) -> CandidateOp {
    if (a.stride == 1) return std::make_shared<IdentityImpl>();
    return std::make_shared<FactorizedReduceImpl>(a.c_in, a.c_out, a.affine,
                                                  a.track_running_stats);
  };
  for (int64_t k : {3, 5, 7}) {
    m[fmt::format("sep_conv_{}x{}", k, k)] = [k](const OpArgs& a) -> CandidateOp {
      return std::make_shared<SepConvImpl>(a.c_in, a.c_out, k, a.stride, k / 2,
                                           a.affine, a.track_running_stats);
    };
  }
  for (int64_t k : {3, 5}) {
    m[fmt::format("dil_conv_{}x{}", k, k)] = [k](const OpArgs& a) -> CandidateOp {
      return std::make_shared<DilConvImpl>(a.c_in, a.c_out, k, a.stride,
                                           k - 1, 2, a.affine,
                                           a.track_running_stats);
    };
  }
  m["conv_7x1_1x7"] = [](const OpArgs& a) -> CandidateOp {
    return std::make_shared<Conv7x1x7Impl>(a.c_out, a.stride, a.affine,
                                           a.track_running_stats);
  };
  return f;
}

/// sharpDARTS's `operations.OPS` (ahundt/sharpDARTS `cnn/operations.py`).
/// Every convolution is a SharpSepConv: ReLU, depthwise kxk (stride,
/// dilation), pointwise to c_mid, BN, ReLU, depthwise kxk (stride 1,
/// undilated), pointwise, BN, with c_mid = C (sep_conv, dil_conv), 4 C
/// (flood) or 32 (choke). The average pool counts its zero padding
/// (nn.AvgPool2d's default); none, max pool and skip_connect are DARTS's.
OpFamily build_sharp_ops() {
  OpFamily f = build_darts_ops();
  f.name = "sharp";
  auto& m = f.factories;
  m.erase("conv_7x1_1x7");
  m["avg_pool_3x3"] = [](const OpArgs& a) -> CandidateOp {
    return std::make_shared<PoolImpl>(false, a.c_out, a.stride, a.search, a.affine,
                                      a.track_running_stats, /*include_pad=*/true);
  };
  struct Sharp {
    const char* name;
    int64_t k, padding, dilation, mid_mult, mid;
  };
  const Sharp table[] = {
      {"sep_conv_3x3", 3, 1, 1, 1, 0},       {"sep_conv_5x5", 5, 2, 1, 1, 0},
      {"sep_conv_7x7", 7, 3, 1, 1, 0},       {"dil_conv_3x3", 3, 2, 2, 1, 0},
      {"dil_conv_5x5", 5, 4, 2, 1, 0},       {"flood_conv_3x3", 3, 1, 1, 4, 0},
      {"flood_conv_5x5", 5, 2, 1, 4, 0},     {"dil_flood_conv_3x3", 3, 2, 2, 4, 0},
      {"choke_conv_3x3", 3, 1, 1, 0, 32},    {"dil_choke_conv_3x3", 3, 2, 2, 0, 32},
  };
  for (const auto& op : table) {
    m[op.name] = [op](const OpArgs& a) -> CandidateOp {
      const int64_t c_mid = op.mid > 0 ? op.mid : op.mid_mult * a.c_out;
      return std::make_shared<SepConvImpl>(a.c_in, a.c_out, op.k, a.stride, op.padding,
                                           a.affine, a.track_running_stats, c_mid,
                                           op.dilation);
    };
  }
  return f;
}

OpFamily build_nb201_ops() {
  OpFamily f;
  f.name = "nb201";
  f.order = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
             "avg_pool_3x3"};
  auto& m = f.factories;
  m["none"] = [](const OpArgs& a) -> CandidateOp {
    return std::make_shared<ZeroImpl>(a.c_out, a.stride);
  };
  m["skip_connect"] = [](const OpArgs& a) -> CandidateOp {
    if (a.stride == 1 && a.c_in == a.c_out) return std::make_shared<IdentityImpl>();
    return std::make_shared<FactorizedReduceImpl>(a.c_in, a.c_out, a.affine,
                                                  a.track_running_stats);
  };
  for (int64_t k : {1, 3}) {
    m[fmt::format("nor_conv_{}x{}", k, k)] = [k](const OpArgs& a) -> CandidateOp {
      // NOTE: AutoDL's ReLUConvBN has bias = not affine: search cells
      // (affine=False) have conv biases, stand-alone cells do not.
      return std::make_shared<ReLUConvBNImpl>(a.c_in, a.c_out, k, a.stride,
                                              k / 2, a.affine,
                                              a.track_running_stats, !a.affine);
    };
  }
  m["avg_pool_3x3"] = [](const OpArgs& a) -> CandidateOp {
    TORCH_CHECK(a.c_in == a.c_out, "nb201 avg_pool_3x3 with C_in != C_out");
    return std::make_shared<PoolImpl>(false, a.c_out, a.stride, false, false,
                                      false);
  };
  return f;
}

}  // namespace

const OpFamily& nb201_ops() {
  static const OpFamily family = build_nb201_ops();
  return family;
}

const OpFamily& darts_ops() {
  static const OpFamily family = build_darts_ops();
  return family;
}

const OpFamily& sharp_ops() {
  static const OpFamily family = build_sharp_ops();
  return family;
}

}  // namespace nas::search_space
