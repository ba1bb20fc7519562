#include "estimators/zero_cost.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::estimators {

namespace {

/// The weights of the Conv2d and Linear modules ("the layers").
std::vector<torch::Tensor> layer_weights(torch::nn::Module& net) {
  std::vector<torch::Tensor> out;
  auto add = [&out](torch::nn::Module& m) {
    if (auto* conv = m.as<torch::nn::Conv2dImpl>()) out.push_back(conv->weight);
    if (auto* linear = m.as<torch::nn::LinearImpl>()) out.push_back(linear->weight);
  };
  add(net);  // (modules(true) needs a module held in a shared_ptr)
  for (auto& m : net.modules(/*include_self=*/false)) add(*m);
  return out;
}

/// Sum over the layers of `metric(weight, grad)`; layers without a
/// gradient (unused by the forward pass) add 0.
template <class Metric>
double sum_over_layers(torch::nn::Module& net, Metric metric) {
  double total = 0;
  for (const auto& w : layer_weights(net)) {
    if (w.grad().defined()) total += metric(w, w.grad());
  }
  return total;
}

void loss_backward(torch::nn::Module& net, const Forward& forward, const torch::Tensor& x,
                   const torch::Tensor& y) {
  net.zero_grad();
  torch::nn::functional::cross_entropy(forward(x), y).backward();
}

/// BatchNorm made the identity: eval mode on zero means, unit variances,
/// eps 0, unit weight, zero bias (NASLib replaces its forward by a no-op).
void disable_batch_norm(torch::nn::Module& net) {
  torch::NoGradGuard guard;
  for (auto& m : net.modules(/*include_self=*/false)) {
    auto* bn = m->as<torch::nn::BatchNorm2dImpl>();
    if (bn == nullptr) continue;
    if (!bn->running_mean.defined()) {
      throw Error("synflow: a BatchNorm without running statistics cannot be switched off");
    }
    bn->running_mean.zero_();
    bn->running_var.fill_(1);
    bn->options.eps(0);
    if (bn->weight.defined()) bn->weight.fill_(1);
    if (bn->bias.defined()) bn->bias.zero_();
    bn->eval();
  }
}

}  // namespace

double grad_norm_proxy(torch::nn::Module& net, const Forward& forward, const torch::Tensor& x,
                       const torch::Tensor& y) {
  loss_backward(net, forward, x, y);
  return sum_over_layers(net, [](const torch::Tensor&, const torch::Tensor& g) {
    return g.norm().item<double>();
  });
}

double snip_proxy(torch::nn::Module& net, const Forward& forward, const torch::Tensor& x,
                  const torch::Tensor& y) {
  loss_backward(net, forward, x, y);
  return sum_over_layers(net, [](const torch::Tensor& w, const torch::Tensor& g) {
    return (w * g).abs().sum().item<double>();
  });
}

double synflow_proxy(torch::nn::Module& net, const Forward& forward,
                     std::vector<int64_t> input_shape) {
  net.to(torch::kFloat64);
  {
    torch::NoGradGuard guard;
    for (auto& p : net.parameters()) p.abs_();
  }
  disable_batch_norm(net);
  net.zero_grad();
  input_shape.insert(input_shape.begin(), 1);
  const auto device = net.parameters().empty() ? torch::Device(torch::kCPU)
                                               : net.parameters().front().device();
  const auto ones = torch::ones(input_shape, torch::dtype(torch::kFloat64).device(device));
  forward(ones).sum().backward();
  return sum_over_layers(net, [](const torch::Tensor& w, const torch::Tensor& g) {
    return (w * g).abs().sum().item<double>();
  });
}

double jacov_proxy(const Forward& forward, const torch::Tensor& x_in) {
  auto x = x_in.detach().clone().requires_grad_(true);
  const auto out = forward(x);
  out.backward(torch::ones_like(out));
  const auto jacobian = x.grad().reshape({x.size(0), -1}).to(torch::kFloat64).cpu();
  // corrcoef of the rows, as numpy.corrcoef
  const auto centred = jacobian - jacobian.mean(1, /*keepdim=*/true);
  const auto cov = centred.matmul(centred.t());
  const auto sd = cov.diagonal().sqrt();
  const auto corr = cov / sd.unsqueeze(1) / sd.unsqueeze(0);
  const auto v = torch::linalg_eigvalsh(corr, "L");
  constexpr double k = 1e-5;
  return -(torch::log(v + k) + 1.0 / (v + k)).sum().item<double>();
}

const std::vector<std::string>& zero_cost_names() {
  static const std::vector<std::string> names = {"grad_norm", "jacov", "snip", "synflow"};
  return names;
}

double zero_cost_proxy(const std::string& name, torch::nn::Module& net, const Forward& forward,
                       const torch::Tensor& x, const torch::Tensor& y) {
  if (name == "grad_norm") return grad_norm_proxy(net, forward, x, y);
  if (name == "snip") return snip_proxy(net, forward, x, y);
  if (name == "synflow") {
    return synflow_proxy(net, forward, {x.sizes().begin() + 1, x.sizes().end()});
  }
  if (name == "jacov") return jacov_proxy(forward, x);
  throw ConfigError(fmt::format("unknown zero-cost proxy '{}'; valid names: {}", name,
                                fmt::join(zero_cost_names(), ", ")));
}

const core::OptionTable<ZeroCostOptions>& ZeroCostEstimator::options_table() {
  static const auto table = [] {
    core::OptionTable<ZeroCostOptions> t;
    t.add("batches", &ZeroCostOptions::batches, "training batches the score averages over",
          core::in_closed(1, 1000));
    return t;
  }();
  return table;
}

ZeroCostEstimator::ZeroCostEstimator(std::string proxy, const nlohmann::json& options)
    : proxy_(std::move(proxy)),
      batches_(options_table().parse(options, "estimator." + proxy_).batches) {}

void ZeroCostEstimator::attach(const EstimatorContext& ctx) {
  if (ctx.data == nullptr) throw Error(fmt::format("the {} estimator needs the run's data", proxy_));
  ctx_ = ctx;
  const auto split = data::make_search_split(*ctx.data, ctx.data_options, ctx.seed, ctx.device);
  std::vector<torch::Tensor> xs, ys;
  for (int64_t i = 0; i < std::min(batches_, split.train->batches()); ++i) {
    const auto b = split.train->batch(0, i);
    xs.push_back(b.x);
    ys.push_back(b.y);
  }
  x_ = torch::cat(xs);
  y_ = torch::cat(ys);
}

Estimate ZeroCostEstimator::evaluate(const search_space::Architecture& arch, const Fidelity&) {
  return guarded_estimate(proxy_, {{"images", x_.size(0)}}, [&](Estimate& e) {
    auto net = ctx_.space->build_network(arch, ctx_.network);
    net->to(ctx_.device);
    net->train();
    const Forward forward = [&net](const torch::Tensor& x) { return net->forward(x); };
    e.value = e.score = zero_cost_proxy(proxy_, *net, forward, x_, y_);
    e.passes = 1;
    if (!std::isfinite(e.value)) {
      e.ok = false;
      e.message = fmt::format(
          "{} is {} for this architecture (e.g. no path from the input to the output)", proxy_,
          e.value);
    }
  });
}

}  // namespace nas::estimators
