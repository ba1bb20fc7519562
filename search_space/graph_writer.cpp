#include "search_space/graph_writer.h"

#include <fmt/format.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include "core/error.h"

namespace nas::search_space {

namespace {

int64_t single(const torch::ExpandingArray<2>& a, const char* what) {
  if ((*a)[0] != (*a)[1]) throw Error(fmt::format("export: a non-square {} has no mapping", what));
  return (*a)[0];
}

}  // namespace

GraphWriter::Value GraphWriter::sequential(const Value& x, const torch::nn::Sequential& seq) {
  namespace nn = torch::nn;
  Value h = x;
  for (const auto& m : seq->children()) {
    if (const auto* c = m->as<nn::Conv2dImpl>()) {
      h = conv(h, *c);
    } else if (const auto* bn = m->as<nn::BatchNorm2dImpl>()) {
      h = batch_norm(h, *bn);
    } else if (m->as<nn::ReLUImpl>() != nullptr) {
      h = relu(h);
    } else if (m->as<nn::ReLU6Impl>() != nullptr) {
      h = relu6(h);
    } else if (const auto* avg = m->as<nn::AvgPool2dImpl>()) {
      const auto& o = avg->options;
      h = pool(h, false, single(o.kernel_size(), "pool"), single(o.stride(), "pool"),
               single(o.padding(), "pool"), o.count_include_pad());
    } else if (const auto* mp = m->as<nn::MaxPool2dImpl>()) {
      const auto& o = mp->options;
      h = pool(h, true, single(o.kernel_size(), "pool"), single(o.stride(), "pool"),
               single(o.padding(), "pool"), false);
    } else if (const auto* fc = m->as<nn::LinearImpl>()) {
      h = linear(h, *fc);
    } else {
      throw Error(fmt::format("export: the module {} has no mapping", m->name()));
    }
  }
  return h;
}

}  // namespace nas::search_space
