#include "strategies/random_ws.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json RandomWs::default_options() {
  auto o = weight_defaults();
  o.erase("alpha_init_std");
  o.update({{"eval_archs", 100},
            {"eval_batches", 10},
            {"top_k", 10},
            {"epoch_eval_archs", 10},
            {"bn_recalibration", 0}});
  return o;
}

RandomWs::RandomWs(nlohmann::json options)
    : OneShotStrategy(std::move(options)) {
  options_["alpha_init_std"] = 0.0;  // no architecture parameters to learn
}

ScoreOptions RandomWs::score_options() const {
  ScoreOptions s;
  s.batches = core::option<int64_t>(options_, "eval_batches");
  s.recalibrate = core::option<int64_t>(options_, "bn_recalibration");
  return s;
}

void RandomWs::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  has_current_ = false;
}

StepStats RandomWs::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  const auto arch = ctx_->space->sample(*ctx_->rng);
  weight_step(train, ctx_->space->path_of(arch), stats);
  return stats;
}

void RandomWs::pick_current(int64_t samples) const {
  ScoreOptions o = score_options();
  o.batches = std::min<int64_t>(o.batches, 2);
  double best = -1;
  for (int64_t i = 0; i < samples; ++i) {
    auto arch = ctx_->space->sample(*ctx_->rng);
    const double s = score_architecture(*ctx_, arch, o);
    if (s > best) {
      best = s;
      current_ = arch;
    }
  }
  has_current_ = true;
}

search_space::Architecture RandomWs::best() const {
  if (!has_current_) {
    const int64_t n = core::option<int64_t>(options_, "epoch_eval_archs");
    if (ctx_->val_loader != nullptr && n > 0) {
      pick_current(n);
    } else {
      current_ = ctx_->space->sample(*ctx_->rng);
      has_current_ = true;
    }
  }
  return current_;
}

void RandomWs::finish() {
  current_ = select_by_sampling(*ctx_, core::option<int64_t>(options_, "eval_archs"),
                                core::option<int64_t>(options_, "top_k"),
                                score_options());
  has_current_ = true;
}

nlohmann::json RandomWs::state() const { return {{"lr", lr()}}; }

nlohmann::json FairNas::default_options() {
  auto o = RandomWs::default_options();
  o["same_batch"] = true;
  return o;
}

FairNas::FairNas(nlohmann::json options) : RandomWs(std::move(options)) {}

std::vector<std::vector<int64_t>> FairNas::fair_paths() {
  const int64_t d = alpha_.size(0), m = alpha_.size(1);
  std::vector<std::vector<int64_t>> paths(m, std::vector<int64_t>(d));
  for (int64_t j = 0; j < d; ++j) {
    const auto perm = ctx_->rng->permutation(m);
    for (int64_t k = 0; k < m; ++k) paths[k][j] = perm[k];
  }
  return paths;
}

StepStats FairNas::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  auto& net = *ctx_->supernet;
  net.train();
  clear_weight_grads();
  const auto paths = fair_paths();
  const bool same_batch = core::option<bool>(options_, "same_batch");
  double loss_sum = 0, correct = 0;
  int64_t count = 0;
  for (size_t k = 0; k < paths.size(); ++k) {
    // m different batches: draw them from the validation-free training
    // stream by index, deterministically.
    const Batch b = same_batch || ctx_->train_loader == nullptr
                        ? train
                        : ctx_->train_loader->cycling(
                              static_cast<int64_t>(ctx_->rng->uniform_int(1 << 30)));
    auto [loss, c] = loss_and_correct(
        net.forward(b.x, search_space::PathSpec::single(paths[k])), b.y);
    loss.backward();  // gradients accumulate over the m paths
    loss_sum += loss.item<double>() * b.size();
    correct += c;
    count += b.size();
  }
  torch::nn::utils::clip_grad_norm_(weights_, core::option<double>(options_, "grad_clip"));
  w_optimizer_->step();
  stats.train_loss = loss_sum / count;
  stats.train_correct = correct * train.size() / count;
  stats.train_count = train.size();
  return stats;
}

}  // namespace nas::strategies
