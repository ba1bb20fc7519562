#include "strategies/one_shot.h"

#include "core/distributed.h"

#include <cmath>

#include <fmt/format.h>

#include <torch/torch.h>

#include "core/error.h"
#include "strategies/scoring.h"

namespace nas::strategies {

OneShotStrategy::OneShotStrategy(const OneShotOptions& options) : one_shot_(options) {}

void OneShotStrategy::attach(SearchContext& ctx) {
  ctx_ = &ctx;
  const auto decisions = ctx.space->decisions();
  const int64_t d = static_cast<int64_t>(decisions.size());
  const int64_t k = ctx.space->num_candidates();
  weights_ = ctx.supernet->parameters();
  const auto dtype = weights_.empty() ? torch::kFloat32
                                      : weights_.front().scalar_type();
  alpha_ = (one_shot_.alpha_init_std *
            torch::randn({d, k}, torch::kFloat64))
               .to(ctx.device, dtype)
               .requires_grad_(true);
  mask_ = search_space::logit_mask(decisions);
  if (mask_.defined()) mask_ = mask_.to(ctx.device, dtype);
  lr_ = one_shot_.w_lr;
  w_optimizer_ = std::make_unique<torch::optim::SGD>(
      weights_, torch::optim::SGDOptions(lr_)
                    .momentum(one_shot_.w_momentum)
                    .weight_decay(one_shot_.w_weight_decay)
                    .nesterov(one_shot_.w_nesterov));
}

void OneShotStrategy::new_epoch(int64_t epoch) {
  // NOTE: the DARTS reference steps its CosineAnnealingLR at the start of
  // every epoch (PyTorch 0.3 style), so epoch e uses the value at t = e + 1;
  // computed in closed form here.
  const double lr0 = one_shot_.w_lr;
  const double lr_min = one_shot_.w_lr_min;
  const double t = static_cast<double>(epoch + 1);
  const double T = static_cast<double>(std::max<int64_t>(ctx_->epochs, 1));
  set_lr(lr_min + (lr0 - lr_min) * (1 + std::cos(M_PI * std::min(t, T) / T)) / 2);
}

void OneShotStrategy::set_lr(double lr) {
  lr_ = lr;
  for (auto& group : w_optimizer_->param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr_);
  }
}

search_space::PathSpec OneShotStrategy::eval_path() const {
  return search_space::PathSpec::weighted_all(probabilities());
}

search_space::PathSpec OneShotStrategy::argmax_path() const {
  const auto idx = probabilities().argmax(1).to(torch::kCPU);
  return search_space::PathSpec::single(std::vector<int64_t>(
      idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel()));
}

nlohmann::json OneShotStrategy::end_epoch(int64_t epoch) {
  const int64_t every = one_shot_.eval_every;
  const bool due = every > 0 && ((epoch + 1) % every == 0 || epoch + 1 == ctx_->epochs);
  if (!due || ctx_->val_loader == nullptr) return nlohmann::json::object();
  const auto r = evaluate_path(*ctx_, eval_path(), one_shot_.eval_batches);
  return {{"eval_loss", r.loss}, {"eval_acc", r.accuracy}};
}

torch::Tensor OneShotStrategy::probabilities() const {
  return torch::softmax(logits().detach(), 1);
}

search_space::Architecture OneShotStrategy::best() const {
  return ctx_->space->derive(probabilities());
}

nlohmann::json OneShotStrategy::state() const {
  const auto p = probabilities().to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows(p.size(0));
  for (int64_t i = 0; i < p.size(0); ++i) {
    rows[i].assign(p[i].data_ptr<double>(), p[i].data_ptr<double>() + p.size(1));
  }
  return {{"arch_weights", rows}, {"lr", lr_}};
}

std::pair<torch::Tensor, double> OneShotStrategy::loss_and_correct(
    const torch::Tensor& logits, const torch::Tensor& y) const {
  const double smoothing = one_shot_.label_smoothing;
  auto loss = torch::nn::functional::cross_entropy(
      logits, y,
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing));
  const double correct = logits.argmax(1).eq(y).sum().item<double>();
  return {loss, correct};
}

void OneShotStrategy::weight_step(const Batch& batch,
                                  const search_space::PathSpec& path,
                                  StepStats& stats) {
  ctx_->supernet->train();
  clear_weight_grads();
  auto [loss, correct] =
      loss_and_correct(ctx_->supernet->forward(batch.x, path), batch.y);
  loss.backward();
  reduce_weight_grads();
  // NOTE: alpha is kept out of the weight optimizer and the weight gradient
  // clip, as in the reference implementation.
  last_grad_norm_ = torch::nn::utils::clip_grad_norm_(weights_, one_shot_.grad_clip);
  w_optimizer_->step();
  stats.train_loss = loss.item<double>();
  stats.train_correct = correct;
  stats.train_count = batch.size();
}

void OneShotStrategy::reduce_weight_grads() {
  if (ctx_->group == nullptr) return;
  std::vector<torch::Tensor> grads;
  for (const auto& w : weights_) {
    if (w.grad().defined()) grads.push_back(w.grad());  // the same set on every rank: one path
  }
  ctx_->group->average(grads);
}

void OneShotStrategy::reduce_alpha_grad() {
  if (ctx_->group != nullptr && alpha_.grad().defined()) ctx_->group->average({alpha_.grad()});
}

Batch OneShotStrategy::local_shard(const Batch& batch) const {
  return ctx_->group == nullptr ? batch : ctx_->group->shard(batch);
}

void OneShotStrategy::clear_weight_grads() {
  for (auto& w : weights_) w.mutable_grad() = torch::Tensor();
}

void OneShotStrategy::make_alpha_optimizer(const AlphaOptions& options) {
  alpha_optimizer_ = std::make_unique<AlphaOptimizer>(options, alpha_);
}

void OneShotStrategy::apply_alpha_gradient(const torch::Tensor& grad,
                                           const torch::Tensor& rows) {
  auto g = grad.defined() ? grad : torch::zeros_like(alpha_);
  if (ctx_->group != nullptr) {
    g = g.clone();
    ctx_->group->average({g});
  }
  alpha_optimizer_->step(alpha_, g, rows);
}

torch::Tensor OneShotStrategy::with_objective(const torch::Tensor& task_grad,
                                              double task_loss,
                                              const torch::Tensor& probs) const {
  if (!ctx_->objective.loss) return task_grad;
  auto loss = torch::tensor(task_loss, alpha_.options()).requires_grad_(true);
  const auto total = ctx_->objective.loss(loss, probs);
  const auto g = torch::autograd::grad({total}, {loss, alpha_}, {}, false, false, true);
  const auto scale = g[0].defined() ? g[0].detach() : torch::zeros({}, alpha_.options());
  const auto direct = g[1].defined() ? g[1] : torch::zeros_like(alpha_);
  return scale * task_grad + direct;
}

void OneShotStrategy::save(torch::serialize::OutputArchive& archive) const {
  archive.write("alpha", alpha_.detach());
  torch::serialize::OutputArchive w;
  w_optimizer_->save(w);
  archive.write("w_optimizer", w);
  archive.write("lr", torch::tensor(lr_, torch::kFloat64));
  if (alpha_optimizer_) {
    torch::serialize::OutputArchive a;
    alpha_optimizer_->save(a);
    archive.write("alpha_optimizer", a);
  }
  save_extra(archive);
}

void OneShotStrategy::load(torch::serialize::InputArchive& archive) {
  torch::Tensor alpha, lr;
  archive.read("alpha", alpha);
  {
    torch::NoGradGuard guard;
    alpha_.copy_(alpha);
  }
  torch::serialize::InputArchive w;
  archive.read("w_optimizer", w);
  w_optimizer_->load(w);
  archive.read("lr", lr);
  lr_ = lr.item<double>();
  if (alpha_optimizer_) {
    torch::serialize::InputArchive a;
    archive.read("alpha_optimizer", a);
    alpha_optimizer_->load(a);
  }
  load_extra(archive);
}

}  // namespace nas::strategies
