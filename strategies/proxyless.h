#pragma once

#include <vector>

#include "strategies/one_shot.h"

namespace nas::strategies {

/// ProxylessNAS: Cai, Zhu, Han, "ProxylessNAS: Direct Neural Architecture
/// Search on Target Task and Hardware", ICLR 2019 (mit-han-lab/proxylessnas).
///
/// Binary gates. Weight steps run one path sampled from p = softmax(alpha).
/// Alpha steps, `binary_mode`:
/// - "full_v2" (default) and "full": one active op k ~ p per decision, gates
///   g = one_hot(k); dL/dg_j = <dL/dy, o_j(x)> for every candidate j, and
///   dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i) (Eq. 4). The reference
///   computes the same gate gradient two ways (full: all candidates in the
///   forward; full_v2: recomputed in backward to save memory); here every
///   candidate runs weighted by its gate, which gives that gradient exactly
///   (the inactive gates are 0, so no gradient reaches x or the weights
///   through them).
/// - "two": two distinct ops sampled from p, one of them active (sampled
///   from the pair's renormalised probabilities); Eq. 4 on the pair; after
///   the step the pair's alpha is shifted so the unsampled ops keep their
///   probabilities.
/// A decision whose active op is `none` gets no alpha update at all (its
/// optimizer state does not move either), as the reference sets its grad
/// to None. An objective term of the op probabilities (e.g. expected
/// latency) sees the probabilities the reference's `current_prob_over_ops`
/// holds: p in full modes, the renormalised pair (zeros elsewhere) in two
/// mode; its gradient reaches alpha through autograd.
///
/// Schedule (imagenet_arch_search.py): `warmup_epochs` (-1: a quarter of the
/// epochs, 40 of 160) train weights only on random paths with learning rate
/// 0.5 * warmup_lr * (1 + cos(pi t / T)) per step (warmup_lr 0.05); then the
/// learning rate follows a per-step cosine from w_lr (0.025) to w_lr_min (0)
/// over the remaining epochs, and one alpha step every `arch_update_every`
/// (5) weight steps, skipping the first epoch after warm-up. Weights: SGD
/// Nesterov momentum 0.9, weight decay 4e-5, label smoothing 0.1, clip 5
/// (this toolkit's clip; the reference sets none). Alpha: Adam(1e-3, betas
/// (0, 0.999), eps 1e-8), init N(0, 1e-3).
struct ProxylessOptions : OneShotOptions, AlphaOptions {
  ProxylessOptions() {
    w_lr_min = 0.0;
    w_nesterov = true;
    w_weight_decay = 4e-5;
    label_smoothing = 0.1;
    alpha_lr = 1e-3;
    alpha_beta1 = 0.0;
    eval_every = 1;
  }
  std::string binary_mode = "full_v2";
  int64_t warmup_epochs = -1;  // -1: a quarter of the epochs
  double warmup_lr = 0.05;
  int64_t arch_update_every = 5;
};

class Proxyless : public OneShotStrategy {
 public:
  explicit Proxyless(const ProxylessOptions& options);
  explicit Proxyless(const nlohmann::json& options);
  static const core::OptionTable<ProxylessOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// The weight step's pass, and the alpha step's every
  /// `arch_update_every` steps (after the warm-up epochs).
  double passes_per_step(const search_space::SearchSpace& space) const override;
  nlohmann::json state() const override;

  /// The ops of one decision in an alpha step: the active one and the
  /// candidates whose gates get a gradient (all in full modes, the pair in
  /// two mode; `involved` contains `active`).
  struct Gates {
    int64_t active = 0;
    std::vector<int64_t> involved;
  };
  /// One alpha step on `val` with the given gates per decision; returns the
  /// alpha gradient it applied (rows of skipped decisions are zero).
  /// Exposed so tests can check it against the formula.
  torch::Tensor alpha_step(const Batch& val, const std::vector<Gates>& gates,
                           StepStats& stats);
  /// Samples the gates of one alpha step in the configured mode.
  std::vector<Gates> sample_gates();

 protected:
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;
  search_space::PathSpec eval_path() const override { return argmax_path(); }

 private:
  ProxylessOptions opts_;
  int64_t warmup_epochs() const;
  int64_t categorical(const torch::Tensor& p);
  /// The learning rate of global weight step `step` (warm-up or main cosine).
  double scheduled_lr(int64_t step) const;

  bool two_mode_ = false;
  int64_t epoch_ = 0;
  int64_t steps_ = 0;
};

}  // namespace nas::strategies
