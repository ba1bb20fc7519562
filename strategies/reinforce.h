#pragma once

#include <memory>

#include "core/option_table.h"
#include "strategies/controller.h"
#include "strategies/trial_strategy.h"

namespace nas::strategies {

/// REINFORCE over estimates (Williams 1992), as AutoDL-Projects'
/// NAS-Bench-201 baseline runs it (exps/NAS-Bench-201-algos/reinforce.py):
/// each proposal is one sample of the policy, its score (the estimate minus
/// the objective's penalty) the reward, one update per trial (`aggregate`
/// 1). Defaults are that script's: policy "table" (one logit per edge and op,
/// softmax, 1e-3 * randn at the start), Adam (torch defaults: betas (0.9,
/// 0.999), eps 1e-8) at lr 1e-3 (its usage line), baseline the debiased
/// moving average with momentum 0.9, no entropy term, no clipping. `policy`
/// "lstm" samples with ENAS's controller instead (ControllerOptions). A
/// failed estimate teaches nothing. The answer is the best estimate told,
/// as AutoDL's `max(trace)`.
struct ReinforceTrialOptions : ControllerOptions, ReinforceOptions {
  ReinforceTrialOptions() {
    policy = "table";
    controller_beta1 = 0.9;
    controller_eps = 1e-8;
    baseline_decay = 0.9;
    entropy_weight = 0.0;
    aggregate = 1;
    controller_grad_clip = 0.0;
  }
};

class ReinforceTrials : public TrialStrategy {
 public:
  explicit ReinforceTrials(const nlohmann::json& options);
  static const core::OptionTable<ReinforceTrialOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const TrialContext& ctx) override;
  search_space::Architecture propose() override;
  void tell(const TrialOutcome& outcome) override;
  nlohmann::json proposal_info() const override;
  nlohmann::json save() const override;
  void load(const nlohmann::json& state) override;

  Controller controller() const { return controller_; }

 private:
  ReinforceTrialOptions opts_;
  TrialContext ctx_;
  Controller controller_{nullptr};
  std::unique_ptr<Reinforce> learner_;
  ControllerSample pending_;
  search_space::Architecture pending_arch_;
  bool has_pending_ = false;
};

}  // namespace nas::strategies
