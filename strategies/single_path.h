#pragma once

#include "strategies/one_shot.h"

namespace nas::strategies {

/// Single-Path NAS: Stamoulis et al., "Single-Path NAS: Designing
/// Hardware-Efficient ConvNets in less than 4 Hours", ECML-PKDD 2019
/// (dstamoulis/single-path-nas `nas-search/`).
///
/// The supernet is one superkernel per block (`NetworkOptions::superkernel`,
/// search_space/superkernel.h): the largest kernel and expansion, whose
/// inner kernels and leading channel groups are the smaller candidates.
/// Trainable thresholds decide per block whether each larger kernel ring,
/// each larger channel group and (on residual blocks with `zero`) the block
/// itself is kept: kept when the norm of its weights exceeds the threshold,
/// a straight-through indicator (value 1(norm > t), gradient sigmoid'). One
/// step: one forward on the training batch, loss = CE + the latency
/// objective of the candidates the indicators select (mode "single_path",
/// the default for this strategy: + lambda * log E, E the whole network's
/// latency from a profiled table); weights and thresholds step on the same
/// gradient (single level, as the reference). For the first
/// `warmup_epochs` (-1: 5/8 of the epochs, the reference's 6255 of 10008
/// steps) the latency term is off and every indicator goes through dropout
/// with keep probability `indicator_keep` (0.6, scaled by 1/keep, as the
/// reference's `tf.nn.dropout(Indicator(x), 0.6)`). Derive: each block's
/// candidate as its indicators select it without dropout.
///
/// The thresholds are alpha's leading S columns (S = kernels + expansions
/// - 1 per block: kernel steps, expansion steps, the block's own), the rest
/// unused; they start at 0 (every part kept) and step by TensorFlow's
/// RMSProp as the reference (decay 0.9, momentum 0.9, eps 1e-3, lr 0.016 x
/// 1024 / 256 = 0.064, L2 1e-5). Two choices are ours: the weights keep
/// the one-shot SGD with a cosine learning rate (the reference trains them
/// with the same RMSProp, lr decayed 0.97 every 2.4 epochs), and their
/// gradient is clipped at 5. The latency of a block is exact at every
/// candidate (the selection's products); the reference's runtime form
/// scales the channel terms by the 3x3/5x5 ratio of expansion 6, exact
/// only there. Its `parse_netarch.py` swaps the expansions of 3x3-6 and
/// 5x5-3 when it writes the found net; naskit derives what the indicators
/// say.
struct SinglePathOptions : OneShotOptions, AlphaOptions {
  SinglePathOptions() {
    w_lr = 0.1;
    w_lr_min = 0.0;
    w_weight_decay = 1e-5;
    label_smoothing = 0.1;
    alpha_init_std = 0.0;
    alpha_optimizer = "rmsprop";
    alpha_lr = 0.064;
    alpha_eps = 1e-3;
    alpha_weight_decay = 1e-5;
    eval_every = 1;
  }
  int64_t warmup_epochs = -1;  ///< -1: 5/8 of the epochs
  double indicator_keep = 0.6;
};

class SinglePath : public OneShotStrategy {
 public:
  explicit SinglePath(const SinglePathOptions& options);
  explicit SinglePath(const nlohmann::json& options);
  static const core::OptionTable<SinglePathOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  /// Superkernels on the chain (ConfigError on other spaces, or where the
  /// candidates do not nest).
  void configure_supernet(const search_space::SearchSpace& space,
                          search_space::NetworkOptions& sizes) const override;
  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  StepStats step(const Batch& train, const Batch& val) override;
  /// Single level on the whole training set, as the reference (ImageNet's
  /// training set; its validation set for monitoring).
  bool uses_whole_training_set() const override { return true; }
  search_space::Architecture best() const override;
  /// The selection [D, K] of the thresholds without dropout.
  torch::Tensor op_probabilities() const override;
  nlohmann::json state() const override;
  int64_t warmup_epochs() const;
  /// The thresholds [D, S] (a view of alpha).
  torch::Tensor thresholds() const { return alpha_.narrow(1, 0, slots_); }

 protected:
  search_space::PathSpec eval_path() const override;

 private:
  /// Indicators [D, S] without dropout, no gradient.
  torch::Tensor hard_indicators() const;

  SinglePathOptions opts_;
  int64_t slots_ = 0;
  int64_t epoch_ = 0;
};

}  // namespace nas::strategies
