#include "strategies/snas.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"
#include "strategies/gumbel.h"

namespace nas::strategies {

nlohmann::json Snas::default_options() {
  auto o = weight_defaults();
  o.update({{"tau_max", 1.0},
            {"tau_min", 0.03},
            {"alpha_optimizer", "adam"},
            {"alpha_lr", 3e-4},
            {"alpha_grad_clip", 10.0},
            {"resource_lambda", 0.0},
            {"derive", "all"}});
  return o;
}

Snas::Snas(nlohmann::json options) : OneShotStrategy(std::move(options)) {
  const auto opt = core::option<std::string>(options_, "alpha_optimizer");
  if (opt != "adam" && opt != "sgd") {
    throw ConfigError(fmt::format(
        "strategy snas option 'alpha_optimizer': expected \"adam\" or \"sgd\", "
        "found \"{}\"",
        opt));
  }
  const auto derive = core::option<std::string>(options_, "derive");
  if (derive != "all" && derive != "top2") {
    throw ConfigError(fmt::format(
        "strategy snas option 'derive': expected \"all\" or \"top2\", found "
        "\"{}\"",
        derive));
  }
}

void Snas::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  const double lr = core::option<double>(options_, "alpha_lr");
  if (core::option<std::string>(options_, "alpha_optimizer") == "adam") {
    alpha_optimizer_ = std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{alpha_},
        torch::optim::AdamOptions(lr).betas({0.5, 0.999}).weight_decay(1e-3));
  } else {
    alpha_optimizer_ = std::make_unique<torch::optim::SGD>(
        std::vector<torch::Tensor>{alpha_}, torch::optim::SGDOptions(lr));
  }
}

void Snas::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  // SNAS's Temp_Scheduler: tau_e = (1 - e / E) (tau0 - tau_min) + tau_min.
  const double t0 = core::option<double>(options_, "tau_max");
  const double t1 = core::option<double>(options_, "tau_min");
  tau_ = (1.0 - static_cast<double>(epoch) / std::max<int64_t>(ctx_->epochs, 1)) *
             (t0 - t1) +
         t1;
}

torch::Tensor Snas::resource_penalty(const torch::Tensor& z,
                                     const torch::Tensor& costs,
                                     const torch::Tensor& rows,
                                     const torch::Tensor& row_weights) {
  // E[cost] per MixedOp under its decision's sample, values < 1 clamped
  // to 1, then the mean of the three logs (SNAS --log_penalty).
  const auto zr = z.index_select(0, rows).unsqueeze(2);      // [M, K, 1]
  const auto expected = (zr * costs).sum(1).clamp_min(1.0);  // [M, 3]
  return (expected.log().mean(1) * row_weights).sum();
}

void Snas::measure_costs(const torch::Tensor& x) {
  auto& net = *ctx_->supernet;
  // One eval-mode pass records every MixedOp's input shape; eval mode and
  // no_grad leave the BatchNorm statistics and gradients untouched.
  torch::NoGradGuard guard;
  net.eval();
  net.forward(x.narrow(0, 0, 1), search_space::PathSpec::weighted_all(
                                     torch::softmax(alpha_.detach(), 1)));
  const auto& mixed = net.mixed_ops();
  const int64_t m = static_cast<int64_t>(mixed.size());
  const int64_t k = alpha_.size(1);
  costs_ = torch::zeros({m, k, 3}, torch::kFloat64);
  std::vector<int64_t> rows(m);
  std::vector<double> per_decision(alpha_.size(0), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    const auto& [decision, op] = mixed[i];
    rows[i] = decision;
    per_decision[decision] += 1;
    const auto& shape = op->last_input_shape();
    for (int64_t j = 0; j < k; ++j) {
      auto& candidate = op->op(j);
      if (candidate.is_zero()) continue;
      // Every conv of a DARTS/NB201 op produces the op's output size, so
      // FLOPs = weights x output pixels (SNAS: flops = size * y^2) and the
      // memory access = the convs' input and output maps + weights.
      const auto out = candidate.forward(torch::zeros(shape, alpha_.options()).narrow(0, 0, 1));
      const double pixels = static_cast<double>(out.size(2) * out.size(3));
      double size = 0, flops = 0, mac = 0;
      for (const auto& mod : candidate.modules(/*include_self=*/true)) {
        if (auto* conv = mod->as<torch::nn::Conv2dImpl>()) {
          const double w = static_cast<double>(conv->weight.numel());
          size += w;
          flops += w * pixels;
          mac += pixels * (conv->options.in_channels() + conv->options.out_channels()) + w;
        }
      }
      if (size == 0) {  // pooling or identity: touch the input and output
        flops = static_cast<double>(out.numel() / out.size(0)) * (candidate.is_identity() ? 0 : 9);
        mac = static_cast<double>(out.numel() / out.size(0)) * (candidate.is_identity() ? 0 : 2);
      }
      costs_[i][j][0] = size;
      costs_[i][j][1] = flops;
      costs_[i][j][2] = mac;
    }
  }
  rows_ = torch::tensor(rows, torch::kInt64).to(alpha_.device());
  std::vector<double> weights(m);
  for (int64_t i = 0; i < m; ++i) weights[i] = 1.0 / per_decision[rows[i]];
  row_weights_ = torch::tensor(weights, torch::kFloat64).to(alpha_.device(), alpha_.scalar_type());
  costs_ = costs_.to(alpha_.device(), alpha_.scalar_type());
  net.train();
}

StepStats Snas::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  const double lambda = core::option<double>(options_, "resource_lambda");
  if (lambda > 0 && !costs_.defined()) measure_costs(train.x);
  auto& net = *ctx_->supernet;
  net.train();
  const auto z = gumbel_softmax(alpha_, tau_);
  clear_weight_grads();
  alpha_optimizer_->zero_grad();
  auto [loss, correct] =
      loss_and_correct(net.forward(train.x, search_space::PathSpec::weighted_all(z)),
                       train.y);
  stats.train_loss = loss.item<double>();
  stats.train_correct = correct;
  stats.train_count = train.size();
  if (lambda > 0) loss = loss + lambda * resource_penalty(z, costs_, rows_, row_weights_);
  if (ctx_->objective) loss = loss + ctx_->objective(torch::softmax(alpha_, 1));
  loss.backward();
  torch::nn::utils::clip_grad_norm_(weights_, core::option<double>(options_, "grad_clip"));
  torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{alpha_},
                                    core::option<double>(options_, "alpha_grad_clip"));
  w_optimizer_->step();
  alpha_optimizer_->step();
  return stats;
}

search_space::Architecture Snas::best() const {
  return ctx_->space->derive(probabilities(),
                             core::option<std::string>(options_, "derive"));
}

nlohmann::json Snas::state() const {
  auto s = OneShotStrategy::state();
  s["tau"] = tau_;
  return s;
}

}  // namespace nas::strategies
