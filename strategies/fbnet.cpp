#include "strategies/fbnet.h"

#include <cmath>

#include <torch/torch.h>

#include "strategies/gumbel.h"

namespace nas::strategies {

const core::OptionTable<FbnetOptions>& Fbnet::options_table() {
  static const auto table = [] {
    core::OptionTable<FbnetOptions> t;
    add_weight_options(t);
    add_alpha_options(t);
    add_eval_options(t);
    t.add("tau_max", &FbnetOptions::tau_max, "Gumbel-softmax temperature at the start",
          core::greater_than(0))
        .add("tau_decay", &FbnetOptions::tau_decay,
             "factor on the temperature per epoch after the warm-up (exp(-0.045))",
             core::in_closed(1e-3, 1))
        .add("warmup_epochs", &FbnetOptions::warmup_epochs,
             "epochs of weight steps only before theta trains (-1: a ninth of the epochs)",
             core::at_least(-1));
    return t;
  }();
  return table;
}

Fbnet::Fbnet(const FbnetOptions& options) : OneShotStrategy(options), opts_(options) {}

Fbnet::Fbnet(const nlohmann::json& options)
    : Fbnet(options_table().parse(options, "strategy.fbnet")) {}

void Fbnet::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer(opts_);
}

int64_t Fbnet::warmup_epochs() const {
  const auto w = opts_.warmup_epochs;
  return w >= 0 ? w : ctx_->epochs / 9;
}

void Fbnet::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  epoch_ = epoch;
  // The reference anneals once per epoch of theta training.
  const auto annealed = std::max<int64_t>(epoch - warmup_epochs(), 0);
  tau_ = opts_.tau_max * std::pow(opts_.tau_decay, static_cast<double>(annealed));
}

StepStats Fbnet::step(const Batch& train, const Batch& val) {
  StepStats stats;
  // Weights: every op under a fresh mask, theta held fixed.
  const auto mask = gumbel_softmax(logits().detach(), tau_);
  weight_step(train, search_space::PathSpec::weighted_all(mask), stats);
  if (!theta_phase()) return stats;
  // theta: a fresh mask on the validation batch; the latency of the mask.
  ctx_->supernet->train();
  const auto m = gumbel_softmax(logits(), tau_);
  auto [loss, correct] = loss_and_correct(
      ctx_->supernet->forward(val.x, search_space::PathSpec::weighted_all(m)), val.y);
  stats.val_loss = loss.item<double>();
  stats.val_correct = correct;
  stats.val_count = val.size();
  const auto total = ctx_->objective.apply(loss, m);
  apply_alpha_gradient(torch::autograd::grad({total}, {alpha_}, {}, false, false, true)[0]);
  return stats;
}

nlohmann::json Fbnet::state() const {
  auto s = OneShotStrategy::state();
  s["tau"] = tau_;
  return s;
}

}  // namespace nas::strategies
