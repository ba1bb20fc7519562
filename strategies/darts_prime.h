#pragma once

#include <string>
#include <vector>

#include "strategies/darts.h"

namespace nas::strategies {

/// DARTS-PRIME: Maile, Lecarpentier, Luga, Wilson, "DARTS-PRIME:
/// Regularization and Scheduling Improve Constrained Optimization in
/// Differentiable NAS" (arXiv 2106.11655; k8lion/DARTS-PRIME
/// `src/train_scheduled_hard_statebn.py`, `src/model_admm_hard_statebn.py`,
/// `src/architect.py`). DARTS's first-order step (DartsOptions, the same
/// Adam and SGD) with three switchable changes:
///
/// - `schedule` "dynamic" (the paper's): an alpha step is taken before the
///   weight step when 0 < FI_ewma < threshold, FI the squared L2 norm of all
///   weight gradients of the last weight step (before the clip) and FI_ewma
///   its moving average (weight `fi_ewma` 0.2, starting at the first FI);
///   the threshold (from `threshold_init` 1) is multiplied by
///   `threshold_multiplier` (1.05) after each step without an alpha step
///   and divided by threshold_multiplier^sched_freq after each with one, so
///   one step in 1 + sched_freq (10) steps the alpha in the long run.
///   "fixed": an alpha step every sched_freq-th step of an epoch.
///   The reference pairs the schedule with the data split train_portion =
///   1 - 1 / (1 + sched_freq) ("dyno_split"); the recipes set it.
/// - `reg` "prox" (the paper's): the alpha loss adds (t / T) rho / 2
///   sum_c ||a_c - d_c||, t the epochs elapsed (fractional, counted in
///   steps), T the epochs, a = activation(alpha), d the one-hot of the
///   architecture derived from a, c the cell types (the decisions sharing
///   their name's first word: DARTS's normal and reduce), ||.|| the
///   Frobenius norm (not squared, as the reference). "admm": rho / 2 sum_c
///   ||(a_c - Z_c + U_c) m_c||, with Z = alpha, U = 0 at the start and, each
///   time alpha_counter + 1 reaches admm_freq (the reference's count, so
///   every admm_freq - 1 alpha steps), Z = one-hot(derive(activation(alpha
///   + U))), U = zu_ewma U + (alpha - Z), masked. "none": DARTS's loss.
/// - `activation` "softmax" (the paper's DARTS-PRIME) or "crb" (its first
///   version's per-edge activation): a = clamp(alpha, 0, 1), alpha = 1/K +
///   alpha_init_std * randn at the start, every op whose alpha reaches 0 is
///   masked for good and never runs again (the reference multiplies alpha
///   by the mask after every step; here the mask also keeps a masked op
///   out of the step between), `none` is left out (CRBPRIMITIVES) and each
///   node's sum goes through an affine-free BatchNorm (`crb_node_bn`; only
///   the darts supernet has it). Ops then compete across edges, not within
///   one: derive's top-2 rule compares the clamped weights directly.
///
/// Latency and other objectives enter the alpha loss through the op
/// probabilities (softmax; CRB: each row's weights normalised).
struct DartsPrimeOptions : DartsOptions {
  std::string activation = "softmax";
  bool crb_node_bn = true;
  std::string schedule = "dynamic";
  int64_t sched_freq = 10;
  double fi_ewma = 0.2;
  double threshold_init = 1.0;
  double threshold_multiplier = 1.05;
  std::string reg = "prox";
  double rho = 0.1;
  int64_t admm_freq = 10;
  /// The reference's Network default (its script does not pass --zuewma).
  double zu_ewma = 1.0;
};

class DartsPrime : public Darts {
 public:
  explicit DartsPrime(const DartsPrimeOptions& options);
  explicit DartsPrime(const nlohmann::json& options);
  static const core::OptionTable<DartsPrimeOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void configure_supernet(const search_space::SearchSpace& space,
                          search_space::NetworkOptions& sizes) const override;
  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// One weight step plus, on average, one alpha step per sched_freq
  /// (fixed) or 1 + sched_freq (dynamic, the steady state) steps.
  double passes_per_step(const search_space::SearchSpace&) const override;
  nlohmann::json state() const override;
  torch::Tensor probabilities() const override;
  torch::Tensor op_probabilities() const override;

  /// a = activation(alpha) [D, K] with gradient.
  torch::Tensor activation() const override;
  /// The regularizer of the alpha loss for activation `a` (scalar, with
  /// gradient through `a`); 0 for reg "none".
  torch::Tensor regularizer(const torch::Tensor& a) const;
  /// The one-hot [D, K] of the architecture derived from weights `w`.
  torch::Tensor discretize(const torch::Tensor& w) const;
  /// Epochs elapsed, counted in steps (the reference's model.clock).
  double clock() const;
  double threshold() const { return threshold_; }
  double fi_ewma() const { return fi_ewma_; }
  int64_t alpha_steps() const { return alpha_steps_; }
  const torch::Tensor& admm_z() const { return z_; }
  const torch::Tensor& admm_u() const { return u_; }
  /// [D, K] bool: the ops not masked (CRB; every allowed op for softmax).
  const torch::Tensor& alive() const { return alive_; }

 protected:
  search_space::PathSpec mixture_path(const torch::Tensor& p) const override;
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  bool crb() const { return prime_.activation == "crb"; }
  /// Decides (and moves the dynamic threshold) whether this step has an
  /// alpha step.
  bool alpha_step_due();
  void alpha_step(const Batch& train, const Batch& val, StepStats& stats);
  /// activation() of raw parameters `raw` (alpha or alpha + U).
  torch::Tensor activate(const torch::Tensor& raw) const;
  /// sum over cell types of the Frobenius norm of `t`'s rows.
  torch::Tensor group_norms(const torch::Tensor& t) const;
  void track_fi();
  void mask_alphas();
  void update_admm();

  DartsPrimeOptions prime_;
  std::vector<torch::Tensor> groups_;  ///< row indices per cell type
  torch::Tensor alive_;                ///< [D, K] bool (alpha's device)
  torch::Tensor z_, u_;                ///< ADMM (undefined otherwise)
  double threshold_ = 1.0;
  double fi_ewma_ = -1.0;
  int64_t alpha_counter_ = 0;
  int64_t alpha_steps_ = 0;
  int64_t epoch_ = -1;
  int64_t epoch_step_ = 0;
};

}  // namespace nas::strategies
