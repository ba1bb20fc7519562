#include "strategies/gdas.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "strategies/gumbel.h"

namespace nas::strategies {

const core::OptionTable<GdasOptions>& Gdas::options_table() {
  static const auto table = [] {
    core::OptionTable<GdasOptions> t;
    add_weight_options(t);
    add_alpha_options(t);
    add_eval_options(t);
    t.add("tau_max", &GdasOptions::tau_max, "Gumbel temperature at the start",
          core::greater_than(0))
        .add("tau_min", &GdasOptions::tau_min, "temperature at the last epoch",
             core::greater_than(0))
        .add("variant", &GdasOptions::variant,
             "\"autodl\": unselected ops weighted 0, \"single\": the sampled term only, "
             "\"auto\": single on DARTS",
             core::one_of({"auto", "autodl", "single"}));
    return t;
  }();
  return table;
}

Gdas::Gdas(const GdasOptions& options) : OneShotStrategy(options), opts_(options) {}

Gdas::Gdas(const nlohmann::json& options)
    : Gdas(options_table().parse(options, "strategy.gdas")) {}

void Gdas::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer(opts_);
  // AutoDL's NASNet-space GDAS (the DARTS space here) uses the single-term
  // form op_k * h_k; its NB201 cell adds the unselected weights.
  const auto& variant = opts_.variant;
  autodl_variant_ = variant == "auto" ? ctx.space->name() != "darts" : variant == "autodl";
}

search_space::PathSpec Gdas::eval_path() const { return argmax_path(); }

void Gdas::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  tau_ = linear_schedule(opts_.tau_max, opts_.tau_min, epoch, ctx_->epochs);
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
  weight_step(train, sample_path(logits().detach()), stats);
  // Then the alpha step on validation data with a fresh sample.
  ctx_->supernet->train();
  auto [loss, correct] =
      loss_and_correct(ctx_->supernet->forward(val.x, sample_path(logits())), val.y);
  stats.val_loss = loss.item<double>();
  const auto total = ctx_->objective.apply(loss, torch::softmax(logits(), 1));
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
