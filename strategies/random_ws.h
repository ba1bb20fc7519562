#pragma once

#include "strategies/one_shot.h"
#include "strategies/scoring.h"

namespace nas::strategies {

/// Random search with weight sharing: Li & Talwalkar, "Random Search and
/// Reproducibility for Neural Architecture Search", UAI 2019
/// (randomNAS_release; RSPS in NAS-Bench-201).
///
/// Each minibatch trains one uniformly sampled architecture, and only its
/// ops run. (The reference DARTS-space code runs every op with 0/1 weights,
/// so unselected ops still update their BatchNorm statistics and feel
/// weight decay and momentum; here they are untouched, as the paper
/// describes.) After the last epoch: sample `eval_archs` architectures, score
/// each on `eval_batches` validation batches, re-score the best `top_k` on
/// the whole validation split, return the best. `bn_recalibration` > 0
/// re-estimates BatchNorm statistics on that many training batches before
/// each score. No architecture parameters.
class RandomWs : public OneShotStrategy {
 public:
  explicit RandomWs(nlohmann::json options);
  static nlohmann::json default_options();

  StepStats step(const Batch& train, const Batch& val) override;
  void finish() override;
  void new_epoch(int64_t epoch) override;
  search_space::Architecture best() const override;
  nlohmann::json state() const override;

 protected:
  /// Epoch-end estimate for the log: best of a few sampled architectures.
  void pick_current(int64_t samples) const;
  ScoreOptions score_options() const;

  // The current answer, computed on demand by best() (hence mutable).
  mutable search_space::Architecture current_;
  mutable bool has_current_ = false;
};

/// FairNAS strict fairness: Chu, Zhang, Xu, "FairNAS: Rethinking Evaluation
/// Fairness of Weight Sharing Neural Architecture Search", ICCV 2021.
///
/// Each step draws an independent random permutation of the candidates on
/// every decision; m = #candidates single-path forward/backward passes (path
/// k takes the k-th entry of every permutation) accumulate gradients; then
/// one optimizer step — every candidate of every decision is trained exactly
/// once per step. No official training code exists; choices made here: the
/// same batch for all m paths (`same_batch` true; false takes m consecutive
/// training batches from the epoch's stream), gradient clipping on the sum
/// as the third-party code does, and the final architecture chosen by
/// scoring sampled architectures with the trained supernet (as random search
/// with weight sharing; the paper's NSGA-II search is not reproduced).
class FairNas : public RandomWs {
 public:
  explicit FairNas(nlohmann::json options);
  static nlohmann::json default_options();
  StepStats step(const Batch& train, const Batch& val) override;

  /// The paths of one step (exposed for tests): paths[k][d] = op index.
  std::vector<std::vector<int64_t>> fair_paths();
};

}  // namespace nas::strategies
