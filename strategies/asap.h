#pragma once

#include "strategies/darts.h"

namespace nas::strategies {

/// ASAP: Noy, Nayman, Ridnik, Zamir, Doveh, Friedman, Giryes, Zelnik-Manor,
/// "ASAP: Architecture Search, Anneal and Prune", AISTATS 2020 (arXiv
/// 1904.04123). The authors released no code; this follows the paper and
/// UniNAS's implementation (cogsys-tuebingen/uninas `methods/asap.py`,
/// whose defaults these are).
///
/// DARTS's step (DartsOptions) on a mixture at temperature tau: w =
/// softmax(alpha / tau) over the ops still alive, tau = tau0 * tau_decay^e
/// in epoch e (1.6, 0.95). While tau >= tau_grace (1.0, the first 10
/// epochs) only the weights train. At the start of every epoch each op
/// whose weight is below prune_threshold / K (0.4 / K, K the decision's
/// candidates) is pruned for good: it never runs again, the supernet
/// shrinks as it trains, and the strongest op of a decision always
/// survives. The paper's own threshold schedule (a threshold that grows
/// with the annealing) is UNVERIFIED (no public code); UniNAS's fixed one
/// is used.
struct AsapOptions : DartsOptions {
  double tau0 = 1.6;
  double tau_decay = 0.95;
  double tau_grace = 1.0;
  double prune_threshold = 0.4;
};

class Asap : public Darts {
 public:
  explicit Asap(const AsapOptions& options);
  explicit Asap(const nlohmann::json& options);
  static const core::OptionTable<AsapOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  nlohmann::json state() const override;
  torch::Tensor logits() const override;

  double tau() const { return tau_; }
  bool in_grace() const { return tau_ >= asap_.tau_grace; }
  /// [D, K] bool: the ops still alive (allowed by the space and not pruned).
  torch::Tensor alive() const { return alive_; }

 protected:
  search_space::PathSpec mixture_path(const torch::Tensor& p) const override;
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  void prune();
  /// prune_mask_ from alive_.
  void sync_mask();

  AsapOptions asap_;
  double tau_ = 1.0;
  torch::Tensor alive_;       ///< [D, K] bool (CPU)
  torch::Tensor prune_mask_;  ///< [D, K]: 0 alive, kMaskedLogit pruned (alpha's device)
  int64_t pruned_epoch_ = -1;
};

}  // namespace nas::strategies
