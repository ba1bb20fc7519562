#pragma once

#include "strategies/one_shot.h"
#include "strategies/scoring.h"

namespace nas::strategies {

/// Random search with weight sharing: Li & Talwalkar, "Random Search and
/// Reproducibility for Neural Architecture Search", UAI 2019
/// (randomNAS_release; RSPS in NAS-Bench-201).
///
/// Each minibatch trains one uniformly sampled architecture (`sample_none`
/// true: `none` is among the ops drawn, as both reference codes do), and
/// only its ops run. (The reference DARTS-space code runs every op with 0/1
/// weights, so unselected ops still update their BatchNorm statistics and
/// feel weight decay and momentum; here they are untouched, as the paper
/// describes.)
///
/// After the last epoch the answer is selected by scoring sampled
/// architectures with the supernet (eval mode), `selection`:
/// - "li_talwalkar" (randomNAS_release): `rounds` rounds (0: max(1, steps /
///   10000)) of `eval_archs` (0: 1000) samples scored on `eval_batches` (0:
///   10) validation batches; the best `top_k` (10) re-scored on the whole
///   validation split; the best of the rounds' winners;
/// - "autodl" (AutoDL's RSPS `search_find_best`): `eval_archs` (0: 100)
///   samples, each scored on one validation batch of 512 images (0: as
///   many batches as make 512), the best score wins;
/// - "auto": "li_talwalkar" on the DARTS space, "autodl" elsewhere.
/// `bn_recalibration` > 0 re-estimates BatchNorm statistics on that many
/// training batches before each score. No architecture parameters. The
/// epoch log's architecture (best of `epoch_eval_archs` samples on 2
/// batches) is drawn from a stream derived from the seed, never from the
/// search's own.
class RandomWs : public OneShotStrategy {
 public:
  explicit RandomWs(nlohmann::json options);
  static nlohmann::json default_options();

  StepStats step(const Batch& train, const Batch& val) override;
  void finish() override;
  void new_epoch(int64_t epoch) override;
  search_space::Architecture best() const override;
  nlohmann::json state() const override;
  /// No architecture weights: sampling is uniform.
  torch::Tensor op_probabilities() const override { return {}; }

  /// The selection after the last epoch, with every "auto" resolved.
  Selection selection() const;

 protected:
  /// A uniform architecture as this strategy samples them.
  search_space::Architecture sample(core::Rng& rng) const;
  /// Epoch-end estimate for the log: best of a few sampled architectures.
  void pick_current(int64_t samples) const;

  // The current answer, computed on demand by best() (hence mutable).
  mutable search_space::Architecture current_;
  mutable bool has_current_ = false;
  int64_t epoch_ = 0;
};

}  // namespace nas::strategies
