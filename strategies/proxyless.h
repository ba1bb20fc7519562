#pragma once

#include <memory>

#include <torch/optim/adam.h>

#include "strategies/one_shot.h"

namespace nas::strategies {

/// ProxylessNAS: Cai, Zhu, Han, "ProxylessNAS: Direct Neural Architecture
/// Search on Target Task and Hardware", ICLR 2019 (mit-han-lab/proxylessnas).
///
/// Binary gates. Weight steps run one path sampled from p = softmax(alpha).
/// Alpha steps ("two" mode): on each decision sample two distinct ops from
/// p, renormalise over them, make one of them active (sampled from the
/// renormalised pair) and run both with gates g (value: one-hot); then
/// dL/dg_k = <dL/dy, o_k(x)> and dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij -
/// p_i) over the pair (Eq. 4), an Adam step, and a rescale of the pair's
/// alpha so the unsampled ops keep their probabilities. A decision whose
/// active op is `none` gets no alpha update. Any objective term of the op
/// probabilities (e.g. expected latency) adds its gradient through autograd.
/// Warm-up epochs train weights only; one alpha step every
/// `arch_update_every` weight steps, skipping the first epoch after warm-up.
///
/// Defaults (imagenet_arch_search.py): alpha Adam(1e-3, betas (0, 0.999),
/// eps 1e-8, no weight decay), alpha init N(0, 1e-3), arch_update_every 5,
/// warm-up 1/4 of the epochs (40 of 160). The weights keep the DARTS
/// defaults of this toolkit (the reference uses SGD 0.025 nesterov, wd 4e-5,
/// label smoothing 0.1 on ImageNet).
class Proxyless : public OneShotStrategy {
 public:
  explicit Proxyless(nlohmann::json options);
  static nlohmann::json default_options();

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  nlohmann::json state() const override;

  /// One alpha step on `val` with the two sampled ops per decision given
  /// (pairs[d] = {active, inactive}); returns the alpha gradient it applied.
  /// Exposed so tests can check it against the formula.
  torch::Tensor alpha_step(const Batch& val,
                           const std::vector<std::pair<int64_t, int64_t>>& pairs,
                           StepStats& stats);
  /// Samples the pairs of one alpha step.
  std::vector<std::pair<int64_t, int64_t>> sample_pairs();

 protected:
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  int64_t warmup_epochs() const;
  int64_t categorical(const torch::Tensor& p);

  int64_t epoch_ = 0;
  int64_t steps_ = 0;
};

}  // namespace nas::strategies
