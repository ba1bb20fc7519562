#include "deploy/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"

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

/// The graph as the network describes it, into an onnx::GraphProto.
/// Parameters become initializers named after the module that holds them
/// (`cell3.node0_1.unit1.dw.weight`), results `<op>_<n>`.
class OnnxWriter : public search_space::GraphWriter {
 public:
  OnnxWriter(const torch::nn::Module& root, onnx::GraphProto& graph) : graph_(graph) {
    for (const auto& item : root.named_modules()) names_[item.value().get()] = item.key();
  }

  Value conv(const Value& x, const torch::nn::Conv2dImpl& c) override {
    const auto& o = c.options;
    const auto& p = ConvPadding::of(c);
    std::vector<Value> inputs{x, param(c, "weight", c.weight)};
    if (c.bias.defined()) inputs.push_back(param(c, "bias", c.bias));
    auto& n = node("Conv", inputs);
    ints(n, "kernel_shape", {(*o.kernel_size())[0], (*o.kernel_size())[1]});
    ints(n, "strides", {(*o.stride())[0], (*o.stride())[1]});
    ints(n, "pads", {p[2], p[0], p[3], p[1]});
    ints(n, "dilations", {(*o.dilation())[0], (*o.dilation())[1]});
    integer(n, "group", o.groups());
    return n.output(0);
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
    auto& n = node("BatchNormalization", {x, scale, bias, param(bn, "running_mean", bn.running_mean),
                                          param(bn, "running_var", bn.running_var)});
    auto* eps = n.add_attribute();
    eps->set_name("epsilon");
    eps->set_type(onnx::AttributeProto::FLOAT);
    eps->set_f(static_cast<float>(bn.options.eps()));
    return n.output(0);
  }

  Value linear(const Value& x, const torch::nn::LinearImpl& fc) override {
    std::vector<Value> inputs{x, param(fc, "weight", fc.weight)};
    if (fc.bias.defined()) inputs.push_back(param(fc, "bias", fc.bias));
    auto& n = node("Gemm", inputs);
    integer(n, "transB", 1);
    return n.output(0);
  }

  Value relu(const Value& x) override { return node("Relu", {x}).output(0); }

  Value relu6(const Value& x) override {
    return node("Clip", {x, constant(torch::tensor(0.0F)), constant(torch::tensor(6.0F))})
        .output(0);
  }

  Value pool(const Value& x, bool max, int64_t kernel, int64_t stride, int64_t padding,
             bool count_include_pad) override {
    auto& n = node(max ? "MaxPool" : "AveragePool", {x});
    ints(n, "kernel_shape", {kernel, kernel});
    ints(n, "strides", {stride, stride});
    ints(n, "pads", {padding, padding, padding, padding});
    if (!max) integer(n, "count_include_pad", count_include_pad ? 1 : 0);
    return n.output(0);
  }

  Value global_avg_pool(const Value& x) override {
    auto& n = node("Flatten", {node("GlobalAveragePool", {x}).output(0)});
    integer(n, "axis", 1);
    return n.output(0);
  }

  Value sum(const std::vector<Value>& xs) override {
    if (xs.size() == 1) return xs[0];
    // NOTE: left to right in pairs, as the network adds them, so the
    // float rounding matches naskit's own forward pass.
    Value acc = xs[0];
    for (size_t i = 1; i < xs.size(); ++i) acc = node("Add", {acc, xs[i]}).output(0);
    return acc;
  }

  Value concat(const std::vector<Value>& xs) override {
    if (xs.size() == 1) return xs[0];
    auto& n = node("Concat", xs);
    integer(n, "axis", 1);
    return n.output(0);
  }

  Value shift(const Value& x) override {
    const auto padded =
        node("Pad", {x, constant(torch::tensor({0, 0, 0, 0, 0, 0, 1, 1}, torch::kInt64))})
            .output(0);
    return slice(padded, 1, 1);
  }

  Value zeros(const Value& x, int64_t stride) override {
    const auto strided = stride == 1 ? x : slice(x, 0, stride);
    return node("Mul", {strided, constant(torch::tensor(0.0F))}).output(0);
  }

  Value channel_shuffle(const Value& x, int64_t channels, int64_t groups) override {
    // A 1x1 convolution with a permutation matrix: output channel o takes
    // input channel (o % g) * (C / g) + o / g, as view(g, C/g).transpose
    // does; exact (one 1 and zeros per row).
    auto w = torch::zeros({channels, channels, 1, 1});
    const auto per_group = channels / groups;
    for (int64_t o = 0; o < channels; ++o) w[o][(o % groups) * per_group + o / groups] = 1.0F;
    auto& n = node("Conv", {x, constant(w)});
    ints(n, "kernel_shape", {1, 1});
    return n.output(0);
  }

 private:
  onnx::NodeProto& node(const std::string& op, const std::vector<Value>& inputs) {
    auto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(fmt::format("{}_{}", op, graph_.node_size()));
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(n->name());
    return *n;
  }

  static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (const auto i : v) a->add_ints(i);
  }

  static void integer(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }

  /// x[:, :, start::step, start::step].
  Value slice(const Value& x, int64_t start, int64_t step) {
    const auto end = std::numeric_limits<int64_t>::max();
    return node("Slice", {x, constant(torch::tensor({start, start}, torch::kInt64)),
                          constant(torch::tensor({end, end}, torch::kInt64)),
                          constant(torch::tensor({int64_t{2}, int64_t{3}}, torch::kInt64)),
                          constant(torch::tensor({step, step}, torch::kInt64))})
        .output(0);
  }

  /// A module's parameter or buffer, once per tensor.
  Value param(const torch::nn::Module& m, const std::string& what, const torch::Tensor& t) {
    const auto it = names_.find(&m);
    const auto prefix = it == names_.end() || it->second.empty() ? "" : it->second + ".";
    return initializer(prefix + what, t);
  }

  Value constant(const torch::Tensor& t) {
    return initializer(fmt::format("const_{}", constants_++), t);
  }

  Value initializer(const std::string& name, const torch::Tensor& t) {
    if (written_.count(name) != 0) return name;
    written_.insert({name, true});
    const bool integer_data = t.scalar_type() == torch::kInt64;
    const auto c = t.detach().to(torch::kCPU, integer_data ? torch::kInt64 : torch::kFloat32)
                       .contiguous();
    auto* p = graph_.add_initializer();
    p->set_name(name);
    p->set_data_type(integer_data ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
    for (const auto d : c.sizes()) p->add_dims(d);
    p->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.nbytes()));
    return name;
  }

  onnx::GraphProto& graph_;
  std::unordered_map<const torch::nn::Module*, std::string> names_;
  std::unordered_map<std::string, bool> written_;
  int64_t constants_ = 0;
};

void tensor_type(onnx::ValueInfoProto& v, const std::string& name,
                 const std::vector<int64_t>& dims) {
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (const auto d : dims) shape->add_dim()->set_dim_value(d);
}

}  // namespace

void export_onnx(const search_space::NetworkImpl& net, const OnnxModelInfo& info,
                 const std::string& path) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("naskit");
  model.set_model_version(1);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  auto* graph = model.mutable_graph();
  graph->set_name(net.name());
  tensor_type(*graph->add_input(), "input", {info.in_channels, info.input_size, info.input_size});
  OnnxWriter writer(net, *graph);
  const auto logits = net.export_graph(writer, "input");
  // The result gets the output's name through an Identity node.
  auto* out = graph->add_node();
  out->set_op_type("Identity");
  out->set_name("output");
  out->add_input(logits);
  out->add_output("logits");
  tensor_type(*graph->add_output(), "logits", {info.num_classes});
  for (const auto& [key, value] : info.metadata) {
    auto* m = model.add_metadata_props();
    m->set_key(key);
    m->set_value(value);
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(fmt::format("export: the ONNX model is not valid: {}", e.what()));
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw Error("export: the ONNX model could not be serialised (over 2 GiB?)");
  }
  core::write_file_atomically(path, bytes);
}

}  // namespace nas::deploy
