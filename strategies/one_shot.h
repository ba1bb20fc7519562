#pragma once

#include <memory>

#include <nlohmann/json.hpp>
#include <torch/optim/sgd.h>
#include <torch/types.h>

#include "strategies/alpha_optimizer.h"
#include "strategies/strategy.h"

namespace nas::strategies {

/// What every one-shot strategy shares: architecture parameters `alpha`
/// [decisions, candidates] kept outside the supernet's weights, the weight
/// optimizer (SGD with momentum, weight decay, cosine learning rate, gradient
/// clipping on the weights only) and checkpointing of both.
///
/// Options read here (defaults from the DARTS reference code):
/// w_lr 0.025, w_lr_min 0.001, w_momentum 0.9, w_weight_decay 3e-4,
/// w_nesterov false, grad_clip 5, label_smoothing 0, alpha_init_std 1e-3;
/// eval_every (1: after every epoch an eval-mode pass over the validation
/// split with `eval_path()`, as the reference's `infer`; 0: never) and
/// eval_batches (0: the whole split), logged as eval_loss / eval_acc.
class OneShotStrategy : public SearchStrategy {
 public:
  explicit OneShotStrategy(nlohmann::json options);

  void attach(SearchContext& ctx) override;
  void new_epoch(int64_t epoch) override;
  search_space::Architecture best() const override;
  nlohmann::json state() const override;
  nlohmann::json end_epoch(int64_t epoch) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  /// The weight options above, for a strategy's default options.
  static nlohmann::json weight_defaults();
  /// The monitoring options (eval_every, eval_batches).
  static nlohmann::json eval_defaults(int64_t every);

  const torch::Tensor& alpha() const { return alpha_; }
  /// softmax(alpha) per decision.
  torch::Tensor probabilities() const;
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
  /// train fields of `stats`.
  void weight_step(const Batch& batch, const search_space::PathSpec& path,
                   StepStats& stats);
  /// The alpha optimizer from the options (see AlphaOptimizer).
  void make_alpha_optimizer();
  /// Steps alpha with gradient `grad`; `rows` [D] bool: the decisions that
  /// step (undefined: all).
  void apply_alpha_gradient(const torch::Tensor& grad,
                            const torch::Tensor& rows = {});
  /// Sets the weights' learning rate.
  void set_lr(double lr);
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
  /// The learning rate of the current epoch.
  double lr() const { return lr_; }
  /// Subclasses save/load their own extra state here.
  virtual void save_extra(torch::serialize::OutputArchive&) const {}
  virtual void load_extra(torch::serialize::InputArchive&) {}

  nlohmann::json options_;
  SearchContext* ctx_ = nullptr;
  torch::Tensor alpha_;
  std::unique_ptr<torch::optim::SGD> w_optimizer_;
  /// Null for strategies without architecture parameters to learn.
  std::unique_ptr<AlphaOptimizer> alpha_optimizer_;
  std::vector<torch::Tensor> weights_;

 private:
  double lr_ = 0;
};

}  // namespace nas::strategies
