#pragma once

#include "strategies/random_ws.h"

namespace nas::strategies {

/// FairNAS strict fairness: Chu, Zhang, Xu, "FairNAS: Rethinking Evaluation
/// Fairness of Weight Sharing Neural Architecture Search", ICCV 2021.
///
/// Each step samples the structure of an architecture of the space (which
/// decisions carry an op: on the DARTS space, two inputs per node; on
/// NB201, every edge), draws an independent random permutation of the m
/// candidates (`none` among them only with `sample_none`) on each of those
/// decisions, and runs m single-path forward/backward passes — path k takes
/// the k-th entry of every permutation — whose gradients accumulate before
/// one optimizer step: every candidate of every used decision is trained
/// exactly once per step, and every path is an architecture of the same
/// distribution the final selection samples from.
///
/// No official training code exists; choices made here: the same batch for
/// all m paths (`same_batch` true; false takes m consecutive training
/// batches), gradient clipping on the sum as the third-party code does, and
/// the final architecture chosen by scoring sampled architectures with the
/// trained supernet after BatchNorm recalibration (`bn_recalibration` 10
/// batches), with Li & Talwalkar's selection (the paper's NSGA-II search is
/// not reproduced).
struct FairNasOptions : RandomWsOptions {
  FairNasOptions() {
    sample_none = false;
    selection = "li_talwalkar";
    rounds = 1;
    eval_archs = 100;
    bn_recalibration = 10;
  }
  bool same_batch = true;
};

class FairNas : public RandomWs {
 public:
  explicit FairNas(const FairNasOptions& options);
  explicit FairNas(const nlohmann::json& options);
  static const core::OptionTable<FairNasOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  StepStats step(const Batch& train, const Batch& val) override;
  /// One pass per candidate op (the m strictly fair paths).
  double passes_per_step(const search_space::SearchSpace& space) const override;

  /// The paths of one step (exposed for tests); each is a PathSpec with at
  /// most one op per decision.
  std::vector<search_space::PathSpec> fair_paths();

 private:
  bool same_batch_;
};

}  // namespace nas::strategies
