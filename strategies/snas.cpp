#include "strategies/snas.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "hardware/profile.h"
#include "hardware/snas_cost.h"
#include "strategies/gumbel.h"

namespace nas::strategies {

const core::OptionTable<SnasOptions>& Snas::options_table() {
  static const auto table = [] {
    core::OptionTable<SnasOptions> t;
    add_weight_options(t);
    add_alpha_options(t);
    add_alpha_kind(t);
    add_eval_options(t);
    t.add("tau_max", &SnasOptions::tau_max, "Gumbel-softmax temperature at the start",
          core::greater_than(0))
        .add("tau_min", &SnasOptions::tau_min, "temperature at the end of the schedule",
             core::greater_than(0))
        .add("tau_epochs", &SnasOptions::tau_epochs,
             "epochs of the temperature schedule (0: the run's)", core::at_least(0))
        .add("train_data", &SnasOptions::train_data,
             "\"all\": weights and alpha on the whole training set, \"split\": on its half",
             core::one_of({"all", "split"}))
        .add("alpha_grad_clip", &SnasOptions::alpha_grad_clip, "max norm of alpha's gradient",
             core::greater_than(0))
        .add("resource_lambda", &SnasOptions::resource_lambda,
             "weight of SNAS's resource penalty (0: off)", core::at_least(0))
        .add("derive", &SnasOptions::derive, "how the answer is derived from alpha",
             core::one_of({"all", "top2"}));
    return t;
  }();
  return table;
}

Snas::Snas(const SnasOptions& options) : OneShotStrategy(options), opts_(options) {}

Snas::Snas(const nlohmann::json& options)
    : Snas(options_table().parse(options, "strategy.snas")) {}

void Snas::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  AlphaOptions o = opts_;
  // The single-GPU script's SGD(arch_parameters, lr) has no weight decay.
  if (o.alpha_optimizer == "sgd") o.alpha_weight_decay = 0.0;
  alpha_optimizer_ = std::make_unique<AlphaOptimizer>(o, alpha_);
}

bool Snas::uses_whole_training_set() const {
  return opts_.train_data == "all";
}

void Snas::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  // SNAS's Temp_Scheduler (utils.py): stepped at the start of every epoch,
  // so epoch e uses t = e + 1: tau = max((1 - t / 150) (tau0 - tau_min) +
  // tau_min, tau_min), the 150 hard-coded (`tau_epochs`; 0: the run's).
  const double t0 = opts_.tau_max;
  const double t1 = opts_.tau_min;
  const auto horizon = opts_.tau_epochs;
  const double T = static_cast<double>(horizon > 0 ? horizon : std::max<int64_t>(ctx_->epochs, 1));
  tau_ = std::max((1.0 - static_cast<double>(epoch + 1) / T) * (t0 - t1) + t1, t1);
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
  // One eval-mode pass records every MixedOp's input shape and stride.
  const auto sites = hardware::find_op_sites(*ctx_->supernet, x.narrow(0, 0, 1));
  const auto decisions = ctx_->space->decisions();
  const auto m = static_cast<int64_t>(sites.size());
  const int64_t k = alpha_.size(1);
  costs_ = torch::zeros({m, k, 3}, torch::kFloat64);
  std::vector<int64_t> rows(m);
  std::vector<double> per_decision(alpha_.size(0), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    const auto& site = sites[i];
    rows[i] = site.decision;
    per_decision[site.decision] += 1;
    for (int64_t j = 0; j < k; ++j) {
      const auto c = hardware::snas_op_cost(decisions[site.decision].candidates[j],
                                            site.input_shape[1], site.input_shape[2],
                                            site.stride, site.c_out);
      costs_[i][j][0] = c.size;
      costs_[i][j][1] = c.flops;
      costs_[i][j][2] = c.mac;
    }
  }
  rows_ = torch::tensor(rows, torch::kInt64).to(alpha_.device());
  std::vector<double> weights(m);
  for (int64_t i = 0; i < m; ++i) weights[i] = 1.0 / per_decision[rows[i]];
  row_weights_ = torch::tensor(weights, torch::kFloat64).to(alpha_.device(), alpha_.scalar_type());
  costs_ = costs_.to(alpha_.device(), alpha_.scalar_type());
}

StepStats Snas::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  const double lambda = opts_.resource_lambda;
  if (lambda > 0 && !costs_.defined()) measure_costs(train.x);
  auto& net = *ctx_->supernet;
  net.train();
  const auto z = gumbel_softmax(logits(), tau_);
  clear_weight_grads();
  alpha_.mutable_grad() = torch::Tensor();
  auto [loss, correct] =
      loss_and_correct(net.forward(train.x, search_space::PathSpec::weighted_all(z)),
                       train.y);
  stats.train_loss = loss.item<double>();
  stats.train_correct = correct;
  stats.train_count = train.size();
  loss = ctx_->objective.apply(loss, torch::softmax(logits(), 1));
  if (lambda > 0) loss = loss + lambda * resource_penalty(z, costs_, rows_, row_weights_);
  loss.backward();
  reduce_weight_grads();
  reduce_alpha_grad();  // before its clip, as the weights'
  torch::nn::utils::clip_grad_norm_(weights_, opts_.grad_clip);
  torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{alpha_}, opts_.alpha_grad_clip);
  w_optimizer_->step();
  apply_alpha_gradient(alpha_.grad());
  alpha_.mutable_grad() = torch::Tensor();
  return stats;
}

search_space::Architecture Snas::best() const {
  return ctx_->space->derive(probabilities(), opts_.derive);
}

nlohmann::json Snas::state() const {
  auto s = OneShotStrategy::state();
  s["tau"] = tau_;
  return s;
}

}  // namespace nas::strategies
