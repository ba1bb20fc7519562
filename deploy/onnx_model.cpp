#include "deploy/onnx_model.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "core/error.h"

namespace nas::deploy {

struct OnnxModel::Impl {
  onnx::ModelProto model;
  onnx::GraphProto* graph = nullptr;
};

namespace {

void tensor_type(onnx::ValueInfoProto& v, const std::string& name,
                 const std::vector<int64_t>& dims) {
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (const auto d : dims) shape->add_dim()->set_dim_value(d);
}

void initializer(onnx::GraphProto& g, const std::string& name, const std::vector<int64_t>& dims,
                 int type, const void* data, size_t element_bytes) {
  auto* p = g.add_initializer();
  p->set_name(name);
  p->set_data_type(type);
  size_t n = 1;
  for (const auto d : dims) {
    p->add_dims(d);
    n *= static_cast<size_t>(d);
  }
  p->set_raw_data(std::string(static_cast<const char*>(data), n * element_bytes));
}

}  // namespace

OnnxModel::OnnxModel(const std::string& name, int64_t opset) : impl_(std::make_unique<Impl>()) {
  auto& m = impl_->model;
  m.set_ir_version(7);
  m.set_producer_name("naskit");
  m.set_model_version(1);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  impl_->graph = m.mutable_graph();
  impl_->graph->set_name(name);
}

OnnxModel::~OnnxModel() = default;

std::string OnnxModel::node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::vector<OnnxAttribute>& attributes) {
  auto* n = impl_->graph->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(impl_->graph->node_size()));
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(n->name());
  for (const auto& a : attributes) {
    auto* p = n->add_attribute();
    p->set_name(a.name);
    switch (a.kind) {
      case OnnxAttribute::Kind::ints:
        p->set_type(onnx::AttributeProto::INTS);
        for (const auto v : a.ints) p->add_ints(v);
        break;
      case OnnxAttribute::Kind::integer:
        p->set_type(onnx::AttributeProto::INT);
        p->set_i(a.i);
        break;
      case OnnxAttribute::Kind::real:
        p->set_type(onnx::AttributeProto::FLOAT);
        p->set_f(a.f);
        break;
    }
  }
  return n->output(0);
}

void OnnxModel::node_to(const std::string& op, const std::vector<std::string>& inputs,
                        const std::string& output) {
  auto* n = impl_->graph->add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(output);
}

void OnnxModel::float_initializer(const std::string& name, const std::vector<int64_t>& dims,
                                  const float* data) {
  initializer(*impl_->graph, name, dims, onnx::TensorProto::FLOAT, data, sizeof(float));
}

void OnnxModel::int64_initializer(const std::string& name, const std::vector<int64_t>& dims,
                                  const int64_t* data) {
  initializer(*impl_->graph, name, dims, onnx::TensorProto::INT64, data, sizeof(int64_t));
}

void OnnxModel::input(const std::string& name, const std::vector<int64_t>& dims) {
  tensor_type(*impl_->graph->add_input(), name, dims);
}

void OnnxModel::output(const std::string& name, const std::vector<int64_t>& dims) {
  tensor_type(*impl_->graph->add_output(), name, dims);
}

void OnnxModel::metadata(const std::string& key, const std::string& value) {
  auto* m = impl_->model.add_metadata_props();
  m->set_key(key);
  m->set_value(value);
}

std::string OnnxModel::checked_bytes() const {
  try {
    onnx::checker::check_model(impl_->model);
  } catch (const std::exception& e) {
    throw Error(std::string("export: the ONNX model is not valid: ") + e.what());
  }
  std::string bytes;
  if (!impl_->model.SerializeToString(&bytes)) {
    throw Error("export: the ONNX model could not be serialised (over 2 GiB?)");
  }
  return bytes;
}

}  // namespace nas::deploy
