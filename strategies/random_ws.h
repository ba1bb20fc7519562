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
struct RandomWsOptions : OneShotOptions {
  RandomWsOptions() { alpha_init_std = 0.0; }  // no architecture parameters to learn
  bool sample_none = true;
  std::string selection = "auto";
  int64_t rounds = 0;
  int64_t eval_archs = 0;
  int64_t top_k = 10;
  int64_t epoch_eval_archs = 10;
  int64_t bn_recalibration = 0;
};

/// Declares RandomWsOptions' fields (shared with FairNAS's table).
template <class O>
void add_random_ws_options(core::OptionTable<O>& t) {
  using core::at_least;
  add_weight_options(t, /*alpha=*/false);
  t.add("sample_none", &RandomWsOptions::sample_none, "`none` among the ops drawn")
      .add("selection", &RandomWsOptions::selection,
           "the final selection: \"li_talwalkar\", \"autodl\" or \"auto\" (see nas list)",
           core::one_of({"auto", "li_talwalkar", "autodl"}))
      .add("rounds", &RandomWsOptions::rounds, "selection rounds (0: the mode's default)",
           at_least(0))
      .add("eval_archs", &RandomWsOptions::eval_archs,
           "architectures scored per round (0: the mode's default)", at_least(0))
      .add("eval_batches", &RandomWsOptions::eval_batches,
           "validation batches per score (0: the mode's default)", at_least(0))
      .add("top_k", &RandomWsOptions::top_k,
           "best of a round re-scored on the whole validation split", at_least(0))
      .add("epoch_eval_archs", &RandomWsOptions::epoch_eval_archs,
           "architectures sampled for the epoch log's answer", at_least(0))
      .add("bn_recalibration", &RandomWsOptions::bn_recalibration,
           "training batches that re-estimate BatchNorm before each score (0: none)",
           at_least(0));
}

class RandomWs : public OneShotStrategy {
 public:
  explicit RandomWs(const RandomWsOptions& options);
  explicit RandomWs(const nlohmann::json& options);
  static const core::OptionTable<RandomWsOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

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

  RandomWsOptions opts_;
  // The current answer, computed on demand by best() (hence mutable).
  mutable search_space::Architecture current_;
  mutable bool has_current_ = false;
  int64_t epoch_ = 0;
};

}  // namespace nas::strategies
