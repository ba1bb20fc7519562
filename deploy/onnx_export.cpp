#include "deploy/onnx_export.h"

#include <limits>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "deploy/onnx_model.h"

namespace nas::deploy {

namespace {

using Value = search_space::GraphWriter::Value;

/// A convolution's padding as the module applies it ([w, w, h, h]).
/// NOTE: `options.padding()` is a variant whose type differs between
/// LibTorch 1.13 (c10::variant) and 2.x (std::variant); the module's own
/// protected list is the same in both, read through a pointer to member.
struct ConvPadding : torch::nn::Conv2dImpl {
  static const std::vector<int64_t>& of(const torch::nn::Conv2dImpl& c) {
    return c.*(&ConvPadding::_reversed_padding_repeated_twice);
  }
};

using Attr = OnnxAttribute;

Attr ints(const std::string& name, std::vector<int64_t> v) {
  Attr a;
  a.name = name;
  a.kind = Attr::Kind::ints;
  a.ints = std::move(v);
  return a;
}

Attr integer(const std::string& name, int64_t v) {
  Attr a;
  a.name = name;
  a.kind = Attr::Kind::integer;
  a.i = v;
  return a;
}

Attr real(const std::string& name, float v) {
  Attr a;
  a.name = name;
  a.kind = Attr::Kind::real;
  a.f = v;
  return a;
}

/// The graph as the network describes it, into an OnnxModel. Parameters
/// become initializers named after the module that holds them
/// (`cell3.node0_1.unit1.dw.weight`), results `<op>_<n>`.
class OnnxWriter : public search_space::GraphWriter {
 public:
  OnnxWriter(const torch::nn::Module& root, OnnxModel& model) : model_(model) {
    for (const auto& item : root.named_modules()) names_[item.value().get()] = item.key();
  }

  Value conv(const Value& x, const torch::nn::Conv2dImpl& c) override {
    const auto& o = c.options;
    const auto& p = ConvPadding::of(c);
    std::vector<Value> inputs{x, param(c, "weight", c.weight)};
    if (c.bias.defined()) inputs.push_back(param(c, "bias", c.bias));
    return model_.node("Conv", inputs,
                       {ints("kernel_shape", {(*o.kernel_size())[0], (*o.kernel_size())[1]}),
                        ints("strides", {(*o.stride())[0], (*o.stride())[1]}),
                        ints("pads", {p[2], p[0], p[3], p[1]}),
                        ints("dilations", {(*o.dilation())[0], (*o.dilation())[1]}),
                        integer("group", o.groups())});
  }

  Value batch_norm(const Value& x, const torch::nn::BatchNorm2dImpl& bn) override {
    if (!bn.running_mean.defined()) {
      throw Error("export: a BatchNorm without running statistics has no eval-mode mapping");
    }
    const auto c = bn.running_mean.size(0);
    const auto scale = bn.weight.defined() ? param(bn, "weight", bn.weight)
                                           : constant(torch::ones({c}));
    const auto bias = bn.bias.defined() ? param(bn, "bias", bn.bias)
                                        : constant(torch::zeros({c}));
    return model_.node("BatchNormalization",
                       {x, scale, bias, param(bn, "running_mean", bn.running_mean),
                        param(bn, "running_var", bn.running_var)},
                       {real("epsilon", static_cast<float>(bn.options.eps()))});
  }

  Value linear(const Value& x, const torch::nn::LinearImpl& fc) override {
    std::vector<Value> inputs{x, param(fc, "weight", fc.weight)};
    if (fc.bias.defined()) inputs.push_back(param(fc, "bias", fc.bias));
    return model_.node("Gemm", inputs, {integer("transB", 1)});
  }

  Value relu(const Value& x) override { return model_.node("Relu", {x}); }

  Value relu6(const Value& x) override {
    return model_.node("Clip", {x, constant(torch::tensor(0.0F)), constant(torch::tensor(6.0F))});
  }

  Value pool(const Value& x, bool max, int64_t kernel, int64_t stride, int64_t padding,
             bool count_include_pad) override {
    std::vector<Attr> a{ints("kernel_shape", {kernel, kernel}), ints("strides", {stride, stride}),
                        ints("pads", {padding, padding, padding, padding})};
    if (!max) a.push_back(integer("count_include_pad", count_include_pad ? 1 : 0));
    return model_.node(max ? "MaxPool" : "AveragePool", {x}, a);
  }

  Value global_avg_pool(const Value& x) override {
    return model_.node("Flatten", {model_.node("GlobalAveragePool", {x})}, {integer("axis", 1)});
  }

  Value sum(const std::vector<Value>& xs) override {
    // NOTE: left to right in pairs, as the network adds them, so the
    // float rounding matches naskit's own forward pass.
    Value acc = xs.at(0);
    for (size_t i = 1; i < xs.size(); ++i) acc = model_.node("Add", {acc, xs[i]});
    return acc;
  }

  Value concat(const std::vector<Value>& xs) override {
    if (xs.size() == 1) return xs[0];
    return model_.node("Concat", xs, {integer("axis", 1)});
  }

  Value shift(const Value& x) override {
    const auto padded = model_.node(
        "Pad", {x, constant(torch::tensor({0, 0, 0, 0, 0, 0, 1, 1}, torch::kInt64))});
    return slice(padded, 1, 1);
  }

  Value zeros(const Value& x, int64_t stride) override {
    const auto strided = stride == 1 ? x : slice(x, 0, stride);
    return model_.node("Mul", {strided, constant(torch::tensor(0.0F))});
  }

  Value channel_shuffle(const Value& x, int64_t channels, int64_t groups) override {
    // A 1x1 convolution with a permutation matrix: output channel o takes
    // input channel (o % g) * (C / g) + o / g, as view(g, C/g).transpose
    // does; exact (one 1 and zeros per row).
    auto w = torch::zeros({channels, channels, 1, 1});
    const auto per_group = channels / groups;
    for (int64_t o = 0; o < channels; ++o) w[o][(o % groups) * per_group + o / groups] = 1.0F;
    return model_.node("Conv", {x, constant(w)}, {ints("kernel_shape", {1, 1})});
  }

 private:
  /// x[:, :, start::step, start::step].
  Value slice(const Value& x, int64_t start, int64_t step) {
    const auto end = std::numeric_limits<int64_t>::max();
    return model_.node("Slice", {x, constant(torch::tensor({start, start}, torch::kInt64)),
                                 constant(torch::tensor({end, end}, torch::kInt64)),
                                 constant(torch::tensor({int64_t{2}, int64_t{3}}, torch::kInt64)),
                                 constant(torch::tensor({step, step}, torch::kInt64))});
  }

  /// A module's parameter or buffer, once per tensor.
  Value param(const torch::nn::Module& m, const std::string& what, const torch::Tensor& t) {
    const auto it = names_.find(&m);
    const auto prefix = it == names_.end() || it->second.empty() ? "" : it->second + ".";
    return initializer(prefix + what, t);
  }

  Value constant(const torch::Tensor& t) {
    return initializer("const_" + std::to_string(constants_++), t);
  }

  Value initializer(const std::string& name, const torch::Tensor& t) {
    if (!written_.insert(name).second) return name;
    const auto dims = t.sizes().vec();
    if (t.scalar_type() == torch::kInt64) {
      const auto c = t.detach().to(torch::kCPU).contiguous();
      model_.int64_initializer(name, dims, c.data_ptr<int64_t>());
    } else {
      const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      model_.float_initializer(name, dims, c.data_ptr<float>());
    }
    return name;
  }

  OnnxModel& model_;
  std::unordered_map<const torch::nn::Module*, std::string> names_;
  std::unordered_set<std::string> written_;
  int64_t constants_ = 0;
};

}  // namespace

void export_onnx(const search_space::NetworkImpl& net, const OnnxModelInfo& info,
                 const std::string& path) {
  OnnxModel model(net.name(), kOnnxOpset);
  model.input("input", {info.in_channels, info.input_size, info.input_size});
  OnnxWriter writer(net, model);
  // The result gets the output's name through an Identity node.
  model.node_to("Identity", {net.export_graph(writer, "input")}, "logits");
  model.output("logits", {info.num_classes});
  for (const auto& [key, value] : info.metadata) model.metadata(key, value);
  core::write_file_atomically(path, model.checked_bytes());
}

}  // namespace nas::deploy
