#include "strategies/reinforce.h"

#include <cmath>

#include <torch/torch.h>

namespace nas::strategies {

const core::OptionTable<ReinforceTrialOptions>& ReinforceTrials::options_table() {
  static const auto table = [] {
    core::OptionTable<ReinforceTrialOptions> t;
    add_controller_options(t);
    add_reinforce_options(t);
    return t;
  }();
  return table;
}

ReinforceTrials::ReinforceTrials(const nlohmann::json& options)
    : opts_(options_table().parse(options, "strategy.reinforce")) {}

void ReinforceTrials::attach(const TrialContext& ctx) {
  ctx_ = ctx;
  // NOTE: derived without advancing the run's stream (a resume overwrites
  // the parameters anyway).
  auto init = ctx.rng->derive(0x7e1f);
  controller_ = Controller(*ctx.space, opts_, init);
  learner_ = std::make_unique<Reinforce>(controller_, opts_);
}

search_space::Architecture ReinforceTrials::propose() {
  pending_ = controller_->sample(ctx_.rng);
  pending_arch_ = controller_->architecture(pending_);
  has_pending_ = true;
  return pending_arch_;
}

void ReinforceTrials::tell(const TrialOutcome& outcome) {
  if (!has_pending_ || outcome.arch != pending_arch_) return;  // not ours to learn from
  has_pending_ = false;
  if (!outcome.ok || !std::isfinite(outcome.score)) return;
  learner_->learn(pending_, outcome.score);
}

nlohmann::json ReinforceTrials::proposal_info() const {
  return {{"log_prob", has_pending_ ? pending_.log_prob.item<double>() : 0.0},
          {"baseline", learner_->baseline()}};
}

nlohmann::json ReinforceTrials::save() const { return {{"policy", learner_->state_json()}}; }

void ReinforceTrials::load(const nlohmann::json& state) {
  learner_->set_state_json(state.at("policy"));
}

}  // namespace nas::strategies
