#include "strategies/asap.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

const core::OptionTable<AsapOptions>& Asap::options_table() {
  static const auto table = [] {
    core::OptionTable<AsapOptions> t;
    add_darts_options(t);
    t.add("tau0", &AsapOptions::tau0, "softmax temperature of epoch 0", core::greater_than(0))
        .add("tau_decay", &AsapOptions::tau_decay, "tau = tau0 * tau_decay^epoch",
             core::in_closed(0.01, 1))
        .add("tau_grace", &AsapOptions::tau_grace,
             "only the weights train while tau >= tau_grace", core::greater_than(0))
        .add("prune_threshold", &AsapOptions::prune_threshold,
             "an op is pruned when its weight falls below prune_threshold / K",
             core::in_half_open(0, 1));
    return t;
  }();
  return table;
}

Asap::Asap(const AsapOptions& options) : Darts(options), asap_(options) {}

Asap::Asap(const nlohmann::json& options)
    : Asap(options_table().parse(options, "strategy.asap")) {}

void Asap::attach(SearchContext& ctx) {
  Darts::attach(ctx);
  const auto decisions = ctx.space->decisions();
  const auto d = static_cast<int64_t>(decisions.size());
  const int64_t k = ctx.space->num_candidates();
  alive_ = torch::zeros({d, k}, torch::kBool);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t c = 0; c < k; ++c) alive_[i][c] = decisions[static_cast<size_t>(i)].allows(c);
  }
  prune_mask_ = torch::zeros({d, k}, alpha_.options().requires_grad(false));
  tau_ = asap_.tau0;
}

torch::Tensor Asap::logits() const {
  auto l = alpha_ / tau_ + prune_mask_;
  return space_mask().defined() ? l + space_mask() : l;
}

void Asap::new_epoch(int64_t epoch) {
  Darts::new_epoch(epoch);
  tau_ = asap_.tau0 * std::pow(asap_.tau_decay, static_cast<double>(epoch));
  // NOTE: once per epoch, also across a resume inside it.
  if (epoch > pruned_epoch_) {
    prune();
    pruned_epoch_ = epoch;
  }
}

void Asap::prune() {
  const auto p = probabilities().to(torch::kCPU, torch::kFloat64);
  const auto allowed = ctx_->space->decisions();
  for (int64_t i = 0; i < alive_.size(0); ++i) {
    const auto k = static_cast<double>(allowed[static_cast<size_t>(i)].choices().size());
    const auto below = p[i] < asap_.prune_threshold / k;
    alive_[i].masked_fill_(below, false);
  }
  sync_mask();
}

void Asap::sync_mask() {
  torch::NoGradGuard guard;
  const auto zero = torch::zeros(alive_.sizes(), torch::kFloat64);
  prune_mask_.copy_(torch::where(alive_, zero, zero + search_space::kMaskedLogit));
}

StepStats Asap::step(const Batch& train, const Batch& val) {
  if (!in_grace()) return Darts::step(train, val);
  StepStats stats;
  weight_step(train, mixture_path(probabilities()), stats);
  return stats;
}

search_space::PathSpec Asap::mixture_path(const torch::Tensor& p) const {
  return search_space::PathSpec::weighted_where(mixture_weights(p), alive_);
}

nlohmann::json Asap::state() const {
  auto s = Darts::state();
  s["tau"] = tau_;
  s["alive_ops"] = alive_.sum().item<int64_t>();
  s["grace"] = in_grace();
  return s;
}

void Asap::save_extra(torch::serialize::OutputArchive& archive) const {
  archive.write("asap_alive", alive_);
  archive.write("asap_pruned_epoch", torch::tensor(pruned_epoch_, torch::kInt64));
}

void Asap::load_extra(torch::serialize::InputArchive& archive) {
  torch::Tensor alive, epoch;
  archive.read("asap_alive", alive);
  archive.read("asap_pruned_epoch", epoch);
  alive_.copy_(alive);
  pruned_epoch_ = epoch.item<int64_t>();
  sync_mask();
}

}  // namespace nas::strategies
