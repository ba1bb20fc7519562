#pragma once

#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "core/option_table.h"
#include "strategies/alpha_optimizer.h"
#include "strategies/strategy.h"

namespace nas::strategies {

/// The options every one-shot strategy shares (defaults from the DARTS
/// reference code): the weights' SGD, the alpha initialisation and the
/// epoch-end monitoring pass — eval_every (1: after every epoch an eval-mode
/// pass over the validation split with `eval_path()`, as the reference's
/// `infer`; 0: never) and eval_batches (0: the whole split), logged as
/// eval_loss / eval_acc.
struct OneShotOptions {
  double w_lr = 0.025;
  double w_lr_min = 0.001;
  double w_momentum = 0.9;
  double w_weight_decay = 3e-4;
  bool w_nesterov = false;
  double grad_clip = 5.0;
  double label_smoothing = 0.0;
  double alpha_init_std = 1e-3;
  int64_t eval_every = 0;
  int64_t eval_batches = 0;
};

/// Declares the weight options (w_*, grad_clip, label_smoothing and, with
/// `alpha`, alpha_init_std) in a strategy's table.
template <class O>
void add_weight_options(core::OptionTable<O>& t, bool alpha = true) {
  using core::at_least;
  t.add("w_lr", &OneShotOptions::w_lr, "weight learning rate (cosine schedule)", at_least(0))
      .add("w_lr_min", &OneShotOptions::w_lr_min, "weight learning rate at the end", at_least(0))
      .add("w_momentum", &OneShotOptions::w_momentum, "SGD momentum", at_least(0))
      .add("w_weight_decay", &OneShotOptions::w_weight_decay, "SGD weight decay", at_least(0))
      .add("w_nesterov", &OneShotOptions::w_nesterov, "Nesterov momentum")
      .add("grad_clip", &OneShotOptions::grad_clip, "max norm of the weights' gradient",
           core::greater_than(0))
      .add("label_smoothing", &OneShotOptions::label_smoothing, "of the cross-entropy",
           core::in_half_open(0, 1));
  if (alpha) {
    t.add("alpha_init_std", &OneShotOptions::alpha_init_std, "alpha = std * randn at the start",
          at_least(0));
  }
}

/// Declares eval_every and eval_batches (the epoch-end monitoring pass).
template <class O>
void add_eval_options(core::OptionTable<O>& t) {
  t.add("eval_every", &OneShotOptions::eval_every,
        "epochs between eval passes over the validation split (0: never)", core::at_least(0))
      .add("eval_batches", &OneShotOptions::eval_batches,
           "batches of each eval pass (0: the whole split)", core::at_least(0));
}

/// What every one-shot strategy shares: architecture parameters `alpha`
/// [decisions, candidates] kept outside the supernet's weights, the weight
/// optimizer (SGD with momentum, weight decay, cosine learning rate, gradient
/// clipping on the weights only) and checkpointing of both; options:
/// OneShotOptions, parsed by the strategy from its own table.
class OneShotStrategy : public SearchStrategy {
 public:
  explicit OneShotStrategy(const OneShotOptions& options);

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  search_space::Architecture best() const override;
  nlohmann::json state() const override;
  nlohmann::json end_epoch(int64_t epoch) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  const torch::Tensor& alpha() const { return alpha_; }
  /// alpha with the space's disallowed columns masked (`logit_mask`):
  /// what every softmax and Gumbel sample of alpha reads; alpha itself
  /// where the space allows every column. (ASAP: alpha / tau, its pruned
  /// columns masked too.)
  virtual torch::Tensor logits() const { return mask_.defined() ? alpha_ + mask_ : alpha_; }
  /// The architecture weights per decision, without gradient:
  /// softmax(logits()) (DARTS-PRIME's CRB activation: alpha clamped to
  /// 0..1). best(), argmax_path(), the eval path and the log read them.
  virtual torch::Tensor probabilities() const;
  torch::Tensor op_probabilities() const override { return probabilities(); }

 protected:
  /// Cross-entropy and the number of correct predictions.
  std::pair<torch::Tensor, double> loss_and_correct(
      const torch::Tensor& logits, const torch::Tensor& y) const;
  /// The path of the epoch-end eval pass: softmax(alpha) on every op.
  virtual search_space::PathSpec eval_path() const;
  /// One op per decision: the argmax of the probabilities.
  search_space::PathSpec argmax_path() const;
  /// One SGD step of the weights on `batch` through `path`; fills the
  /// train fields of `stats` and last_grad_norm().
  void weight_step(const Batch& batch, const search_space::PathSpec& path,
                   StepStats& stats);
  /// The alpha optimizer (see AlphaOptimizer).
  void make_alpha_optimizer(const AlphaOptions& options);
  /// Steps alpha with gradient `grad`; `rows` [D] bool: the decisions that
  /// step (undefined: all).
  void apply_alpha_gradient(const torch::Tensor& grad,
                            const torch::Tensor& rows = {});
  /// Sets the weights' learning rate.
  void set_lr(double lr);
  /// Averages the weights' gradients over the ranks of a data-parallel
  /// search (nothing in one process): call it after the backward passes of
  /// a step, before the clip and the optimizer step.
  void reduce_weight_grads();
  /// The same for alpha.grad() (apply_alpha_gradient averages what it is
  /// given in any case; this is for a strategy that clips it first).
  void reduce_alpha_grad();
  /// This rank's part of `batch` (all of it in one process): a strategy
  /// that draws batches of its own shards them as the loop does.
  Batch local_shard(const Batch& batch) const;
  /// Clears the weights' gradients to undefined (not zero): ops that do
  /// not run in a step then get no update at all — no weight decay, no
  /// momentum — as ProxylessNAS does ("avoid over-regularization") and as
  /// newer LibTorch's zero_grad does. It also makes a resumed run exact: a
  /// zeroed gradient is state a checkpoint would not carry.
  void clear_weight_grads();
  /// The alpha gradient of `ctx.objective.loss(L, P)` for a task loss L of
  /// value `task_loss` and alpha gradient `task_grad`, and op probabilities
  /// `probs` (a differentiable function of alpha): the chain rule
  /// s * task_grad + d objective / d alpha through P, with s = d objective
  /// / d L (1 for additive terms). `task_grad` alone without an objective.
  torch::Tensor with_objective(const torch::Tensor& task_grad, double task_loss,
                               const torch::Tensor& probs) const;
  /// The L2 norm of all weight gradients of the last weight_step, before
  /// the clip.
  double last_grad_norm() const { return last_grad_norm_; }
  /// The learning rate of the current epoch.
  double lr() const { return lr_; }
  /// The space's logit mask (undefined where every column is allowed).
  const torch::Tensor& space_mask() const { return mask_; }
  /// Subclasses save/load their own extra state here.
  virtual void save_extra(torch::serialize::OutputArchive&) const {}
  virtual void load_extra(torch::serialize::InputArchive&) {}

  OneShotOptions one_shot_;
  SearchContext* ctx_ = nullptr;
  torch::Tensor alpha_;
  std::unique_ptr<torch::optim::SGD> w_optimizer_;
  /// Null for strategies without architecture parameters to learn.
  std::unique_ptr<AlphaOptimizer> alpha_optimizer_;
  std::vector<torch::Tensor> weights_;

 private:
  torch::Tensor mask_;
  double lr_ = 0;
  double last_grad_norm_ = 0;
};

}  // namespace nas::strategies
