#include "strategies/gdas.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"
#include "strategies/gumbel.h"

namespace nas::strategies {

nlohmann::json Gdas::default_options() {
  auto o = weight_defaults();
  // AutoDL's GDAS configs (NB201 and NASNet space): weight decay 5e-4,
  // Nesterov momentum.
  o["w_weight_decay"] = 5e-4;
  o["w_nesterov"] = true;
  o.update(eval_defaults(1));
  o.update({{"tau_max", 10.0},
            {"tau_min", 0.1},
            {"variant", "auto"},
            {"alpha_lr", 3e-4},
            {"alpha_beta1", 0.5},
            {"alpha_beta2", 0.999},
            {"alpha_weight_decay", 1e-3}});
  return o;
}

Gdas::Gdas(nlohmann::json options) : OneShotStrategy(std::move(options)) {
  const auto variant = core::option<std::string>(options_, "variant");
  if (variant != "auto" && variant != "autodl" && variant != "single") {
    throw ConfigError(fmt::format(
        "strategy gdas option 'variant': expected \"auto\", \"autodl\" or "
        "\"single\", found \"{}\"",
        variant));
  }
}

void Gdas::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer();
  // AutoDL's NASNet-space GDAS (the DARTS space here) uses the single-term
  // form op_k * h_k; its NB201 cell adds the unselected weights.
  const auto variant = core::option<std::string>(options_, "variant");
  autodl_variant_ = variant == "auto" ? ctx.space->name() != "darts" : variant == "autodl";
}

search_space::PathSpec Gdas::eval_path() const { return argmax_path(); }

void Gdas::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  tau_ = linear_schedule(core::option<double>(options_, "tau_max"),
                         core::option<double>(options_, "tau_min"), epoch,
                         ctx_->epochs);
}

search_space::PathSpec Gdas::sample_path(const torch::Tensor& alpha) const {
  if (!alpha.requires_grad()) {
    // Weight step: the hard sample is exactly one-hot; run it unweighted.
    const auto idx = gumbel_softmax(torch::log_softmax(alpha, 1), tau_)
                         .argmax(1)
                         .to(torch::kCPU);
    return search_space::PathSpec::single(
        std::vector<int64_t>(idx.data_ptr<int64_t>(),
                             idx.data_ptr<int64_t>() + idx.numel()));
  }
  const auto probs = gumbel_softmax(torch::log_softmax(alpha, 1), tau_);
  const auto index = probs.argmax(1);
  const auto hard = torch::zeros_like(probs).scatter_(1, index.unsqueeze(1), 1.0) -
                    probs.detach() + probs;
  const auto idx = index.to(torch::kCPU);
  search_space::PathSpec path;
  path.edges.resize(alpha.size(0));
  for (int64_t d = 0; d < alpha.size(0); ++d) {
    const int64_t k = idx[d].item<int64_t>();
    auto& e = path.edges[d];
    e.ops = {k};
    e.weights = hard[d].narrow(0, k, 1);
    if (autodl_variant_ && alpha.requires_grad()) {
      // Sum of the unselected entries: value 0, gradient to every alpha.
      e.offset = hard[d].sum() - hard[d][k];
    }
  }
  return path;
}

StepStats Gdas::step(const Batch& train, const Batch& val) {
  StepStats stats;
  // The weight step first (GDAS.py), with alpha detached: h is exactly
  // one-hot and no alpha gradient is computed.
  weight_step(train, sample_path(alpha_.detach()), stats);
  // Then the alpha step on validation data with a fresh sample.
  ctx_->supernet->train();
  auto [loss, correct] =
      loss_and_correct(ctx_->supernet->forward(val.x, sample_path(alpha_)), val.y);
  stats.val_loss = loss.item<double>();
  const auto total = ctx_->objective.apply(loss, torch::softmax(alpha_, 1));
  apply_alpha_gradient(
      torch::autograd::grad({total}, {alpha_}, {}, false, false, true)[0]);
  stats.val_correct = correct;
  stats.val_count = val.size();
  return stats;
}

nlohmann::json Gdas::state() const {
  auto s = OneShotStrategy::state();
  s["tau"] = tau_;
  return s;
}

}  // namespace nas::strategies
