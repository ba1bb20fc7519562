#include "strategies/darts.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/torch_compat.h"

namespace nas::strategies {

namespace {

/// Applies `f(param, i)` to every weight without recording gradients.
template <class F>
void for_each_weight(std::vector<torch::Tensor>& weights, F f) {
  torch::NoGradGuard guard;
  for (size_t i = 0; i < weights.size(); ++i) f(weights[i], i);
}

/// Gradients of `loss` w.r.t. `inputs`, zeros for inputs it does not reach.
std::vector<torch::Tensor> gradients(const torch::Tensor& loss,
                                     const std::vector<torch::Tensor>& inputs) {
  auto grads = torch::autograd::grad({loss}, inputs, /*grad_outputs=*/{},
                                     /*retain_graph=*/false,
                                     /*create_graph=*/false,
                                     /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(inputs[i]);
  }
  return grads;
}

}  // namespace

const core::OptionTable<DartsOptions>& Darts::options_table() {
  static const auto table = [] {
    core::OptionTable<DartsOptions> t;
    add_darts_options(t);
    return t;
  }();
  return table;
}

Darts::Darts(const DartsOptions& options) : OneShotStrategy(options), opts_(options) {}

Darts::Darts(const nlohmann::json& options)
    : Darts(options_table().parse(options, "strategy.darts")) {}

void Darts::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer(opts_);
}

search_space::PathSpec Darts::path() const {
  return mixture_path(activation());
}

search_space::PathSpec Darts::eval_path() const {
  return mixture_path(probabilities());
}

torch::Tensor Darts::first_order_gradient(const Batch& val, StepStats& stats) {
  auto [loss, correct] =
      loss_and_correct(ctx_->supernet->forward(val.x, path()), val.y);
  stats.val_loss = loss.item<double>();
  stats.val_correct = correct;
  stats.val_count = val.size();
  return gradients(loss, {alpha_})[0];
}

torch::Tensor Darts::second_order_gradient(const Batch& train,
                                           const Batch& val, StepStats& stats) {
  auto& net = *ctx_->supernet;
  const double xi = lr();
  std::vector<torch::Tensor> saved;
  for (const auto& w : weights_) saved.push_back(w.detach().clone());

  // 1. Virtual step w' = w - xi * (mu * buf + g + wd * w), the real SGD's.
  {
    auto [loss, correct] = loss_and_correct(net.forward(train.x, path()), train.y);
    const auto g = gradients(loss, weights_);
    const double mu = opts_.w_momentum;
    const double wd = opts_.w_weight_decay;
    auto& state = w_optimizer_->state();
    for_each_weight(weights_, [&](torch::Tensor& w, size_t i) {
      auto step = g[i] + wd * w;
      auto it = state.find(compat::optimizer_state_key(w));
      if (it != state.end()) {
        auto& s = static_cast<torch::optim::SGDParamState&>(*it->second);
        if (s.momentum_buffer().defined()) step = step + mu * s.momentum_buffer();
      }
      w.sub_(xi * step);
    });
  }
  // 2. dalpha and v = dL_val/dw' at w'.
  std::vector<torch::Tensor> inputs{alpha_};
  inputs.insert(inputs.end(), weights_.begin(), weights_.end());
  auto [val_loss, val_correct] =
      loss_and_correct(net.forward(val.x, path()), val.y);
  stats.val_loss = val_loss.item<double>();
  stats.val_correct = val_correct;
  stats.val_count = val.size();
  auto grads = gradients(val_loss, inputs);
  const torch::Tensor d_alpha = grads[0];
  const std::vector<torch::Tensor> v(grads.begin() + 1, grads.end());

  // 3. Finite-difference Hessian-vector product around w (not w').
  double norm2 = 0;
  for (const auto& t : v) norm2 += t.pow(2).sum().item<double>();
  const double R = opts_.unrolled_r /
                   std::max(std::sqrt(norm2), 1e-12);
  auto alpha_grad_at = [&](double sign) {
    for_each_weight(weights_, [&](torch::Tensor& w, size_t i) {
      w.copy_(saved[i] + sign * R * v[i]);
    });
    auto [loss, c] = loss_and_correct(net.forward(train.x, path()), train.y);
    return gradients(loss, {alpha_})[0];
  };
  const auto g_plus = alpha_grad_at(+1.0);
  const auto g_minus = alpha_grad_at(-1.0);
  for_each_weight(weights_, [&](torch::Tensor& w, size_t i) { w.copy_(saved[i]); });
  return d_alpha - xi * (g_plus - g_minus) / (2 * R);
}

torch::Tensor Darts::alpha_gradient(const Batch& train, const Batch& val,
                                    StepStats& stats) {
  ctx_->supernet->train();
  return opts_.order == 1 ? first_order_gradient(val, stats)
                     : second_order_gradient(train, val, stats);
}

StepStats Darts::step(const Batch& train, const Batch& val) {
  StepStats stats;
  auto weights = [&] {
    weight_step(train, mixture_path(probabilities()), stats);
  };
  // quark0/darts (and AutoDL's DARTS-V2): the alpha step first, then the
  // weight step; AutoDL's DARTS-V1 does the weight step first.
  const bool weight_first = opts_.weight_step_first;
  if (weight_first) weights();
  const auto grad = alpha_gradient(train, val, stats);
  apply_alpha_gradient(with_objective(grad, stats.val_loss, torch::softmax(logits(), 1)));
  if (!weight_first) weights();
  return stats;
}

}  // namespace nas::strategies
