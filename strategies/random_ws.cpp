#include "strategies/random_ws.h"

#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json RandomWs::default_options() {
  auto o = weight_defaults();
  o.erase("alpha_init_std");
  o.update({{"sample_none", true},
            {"selection", "auto"},
            {"rounds", 0},
            {"eval_archs", 0},
            {"eval_batches", 0},
            {"top_k", 10},
            {"epoch_eval_archs", 10},
            {"bn_recalibration", 0}});
  return o;
}

RandomWs::RandomWs(nlohmann::json options)
    : OneShotStrategy(std::move(options)) {
  options_["alpha_init_std"] = 0.0;  // no architecture parameters to learn
  const auto sel = core::option<std::string>(options_, "selection");
  if (sel != "auto" && sel != "li_talwalkar" && sel != "autodl") {
    throw ConfigError(fmt::format(
        "strategy option 'selection': expected \"auto\", \"li_talwalkar\" or "
        "\"autodl\", found \"{}\"",
        sel));
  }
  for (const char* key : {"rounds", "eval_archs", "eval_batches", "top_k",
                          "epoch_eval_archs", "bn_recalibration"}) {
    if (core::option<int64_t>(options_, key) < 0) {
      throw ConfigError(fmt::format("strategy option '{}': expected 0 or more, found {}",
                                    key, core::option<int64_t>(options_, key)));
    }
  }
}

Selection RandomWs::selection() const {
  auto mode = core::option<std::string>(options_, "selection");
  if (mode == "auto") mode = ctx_->space->name() == "darts" ? "li_talwalkar" : "autodl";
  auto or_default = [&](const char* key, int64_t fallback) {
    const auto v = core::option<int64_t>(options_, key);
    return v > 0 ? v : fallback;
  };
  Selection s;
  s.options.recalibrate = core::option<int64_t>(options_, "bn_recalibration");
  if (mode == "li_talwalkar") {
    s.rounds = or_default("rounds",
                          std::max<int64_t>(1, ctx_->epochs * ctx_->steps_per_epoch / 10000));
    s.samples = or_default("eval_archs", 1000);
    s.options.batches = or_default("eval_batches", 10);
    s.top_k = core::option<int64_t>(options_, "top_k");
  } else {
    const int64_t batch = ctx_->val_loader ? ctx_->val_loader->batch_size() : 512;
    s.rounds = or_default("rounds", 1);
    s.samples = or_default("eval_archs", 100);
    s.options.batches = or_default("eval_batches", (512 + batch - 1) / batch);
    s.top_k = 0;
  }
  return s;
}

search_space::Architecture RandomWs::sample(core::Rng& rng) const {
  return ctx_->space->sample(rng, core::option<bool>(options_, "sample_none"));
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
    const int64_t n = core::option<int64_t>(options_, "epoch_eval_archs");
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
