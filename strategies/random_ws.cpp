#include "strategies/random_ws.h"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

const core::OptionTable<RandomWsOptions>& RandomWs::options_table() {
  static const auto table = [] {
    core::OptionTable<RandomWsOptions> t;
    add_random_ws_options(t);
    return t;
  }();
  return table;
}

RandomWs::RandomWs(const RandomWsOptions& options) : OneShotStrategy(options), opts_(options) {}

RandomWs::RandomWs(const nlohmann::json& options)
    : RandomWs(options_table().parse(options, "strategy.random_ws")) {}

Selection RandomWs::selection() const {
  auto mode = opts_.selection;
  if (mode == "auto") mode = ctx_->space->name() == "darts" ? "li_talwalkar" : "autodl";
  auto or_default = [](int64_t v, int64_t fallback) { return v > 0 ? v : fallback; };
  Selection s;
  s.options.recalibrate = opts_.bn_recalibration;
  if (mode == "li_talwalkar") {
    s.rounds = or_default(opts_.rounds,
                          std::max<int64_t>(1, ctx_->epochs * ctx_->steps_per_epoch / 10000));
    s.samples = or_default(opts_.eval_archs, 1000);
    s.options.batches = or_default(opts_.eval_batches, 10);
    s.top_k = opts_.top_k;
  } else {
    const int64_t batch = ctx_->val_loader ? ctx_->val_loader->batch_size() : 512;
    s.rounds = or_default(opts_.rounds, 1);
    s.samples = or_default(opts_.eval_archs, 100);
    s.options.batches = or_default(opts_.eval_batches, (512 + batch - 1) / batch);
    s.top_k = 0;
  }
  return s;
}

search_space::Architecture RandomWs::sample(core::Rng& rng) const {
  return ctx_->space->sample(rng, opts_.sample_none);
}

void RandomWs::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  epoch_ = epoch;
  has_current_ = false;
}

StepStats RandomWs::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  weight_step(train, ctx_->space->path_of(sample(*ctx_->rng)), stats);
  return stats;
}

void RandomWs::pick_current(int64_t samples) const {
  // NOTE: a stream of its own, so that logging never changes the search.
  core::Rng rng(core::mix_seed(ctx_->seed, 7919 + static_cast<uint64_t>(epoch_)));
  ScoreOptions o = selection().options;
  o.batches = std::min<int64_t>(o.batches, 2);
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < samples; ++i) {
    auto arch = sample(rng);
    const double s = samples > 1 ? selection_score(*ctx_, arch, o) : 0.0;
    if (s > best) {
      best = s;
      current_ = arch;
    }
  }
  has_current_ = true;
}

search_space::Architecture RandomWs::best() const {
  if (!has_current_) {
    const int64_t n = opts_.epoch_eval_archs;
    pick_current(ctx_->val_loader != nullptr ? std::max<int64_t>(n, 1) : 1);
  }
  return current_;
}

void RandomWs::finish() {
  current_ = select_by_sampling(
      *ctx_, [this](core::Rng& rng) { return sample(rng); }, selection(), *ctx_->rng);
  has_current_ = true;
}

nlohmann::json RandomWs::state() const { return {{"lr", lr()}}; }

}  // namespace nas::strategies
