#include "strategies/proxyless.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json Proxyless::default_options() {
  auto o = weight_defaults();
  o.update({{"warmup_epochs", -1},  // -1: a quarter of the epochs
            {"arch_update_every", 5},
            {"alpha_lr", 1e-3},
            {"alpha_beta1", 0.0},
            {"alpha_beta2", 0.999},
            {"alpha_eps", 1e-8},
            {"alpha_weight_decay", 0.0}});
  return o;
}

Proxyless::Proxyless(nlohmann::json options)
    : OneShotStrategy(std::move(options)) {
  if (core::option<int64_t>(options_, "arch_update_every") < 1) {
    throw ConfigError("strategy proxyless option 'arch_update_every': expected 1 or more");
  }
}

void Proxyless::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_adam();
}

int64_t Proxyless::warmup_epochs() const {
  const auto w = core::option<int64_t>(options_, "warmup_epochs");
  return w >= 0 ? w : ctx_->epochs / 4;
}

void Proxyless::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  epoch_ = epoch;
}

int64_t Proxyless::categorical(const torch::Tensor& p) {
  const double u = ctx_->rng->uniform();
  double acc = 0;
  const auto pc = p.to(torch::kCPU, torch::kFloat64).contiguous();
  const auto* v = pc.data_ptr<double>();
  for (int64_t k = 0; k < pc.numel(); ++k) {
    acc += v[k];
    if (u < acc) return k;
  }
  return pc.numel() - 1;
}

std::vector<std::pair<int64_t, int64_t>> Proxyless::sample_pairs() {
  const auto p = probabilities();
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t d = 0; d < p.size(0); ++d) {
    // Two distinct ops from p without replacement, then the active one from
    // the pair's renormalised probabilities.
    const int64_t a = categorical(p[d]);
    auto rest = p[d].clone();
    rest[a] = 0;
    const int64_t b = categorical(rest / rest.sum());
    const auto pair = torch::softmax(alpha_.detach()[d].index_select(
                                         0, torch::tensor({a, b}, torch::kInt64)
                                                .to(alpha_.device())),
                                     0);
    pairs.emplace_back(categorical(pair) == 0 ? std::make_pair(a, b)
                                              : std::make_pair(b, a));
  }
  return pairs;
}

torch::Tensor Proxyless::alpha_step(
    const Batch& val, const std::vector<std::pair<int64_t, int64_t>>& pairs,
    StepStats& stats) {
  auto& net = *ctx_->supernet;
  net.train();
  const int64_t d_count = alpha_.size(0);
  // Gates g = (1, 0) on (active, inactive); both ops run so that
  // dL/dg_k = <dL/dy, o_k(x)> for both.
  auto gates = torch::zeros({d_count, 2}, alpha_.options()).requires_grad_(false);
  gates.select(1, 0).fill_(1.0);
  gates.requires_grad_(true);
  search_space::PathSpec path;
  path.edges.resize(d_count);
  for (int64_t d = 0; d < d_count; ++d) {
    path.edges[d].ops = {pairs[d].first, pairs[d].second};
    path.edges[d].weights = gates[d];
  }
  auto [loss, correct] = loss_and_correct(net.forward(val.x, path), val.y);
  stats.val_loss = loss.item<double>();
  stats.val_correct = correct;
  stats.val_count = val.size();
  auto g_grad = torch::autograd::grad({loss}, {gates}, {}, false, false, true)[0];
  if (!g_grad.defined()) g_grad = torch::zeros_like(gates);
  // BinaryConnect estimate on the renormalised pair (Eq. 4).
  auto grad = torch::zeros_like(alpha_);
  std::vector<torch::Tensor> old_pair(d_count);
  const auto& order = ctx_->space->decisions();
  for (int64_t d = 0; d < d_count; ++d) {
    const auto idx = torch::tensor({pairs[d].first, pairs[d].second}, torch::kInt64)
                         .to(alpha_.device());
    old_pair[d] = alpha_.detach()[d].index_select(0, idx);
    if (order[d].candidates[pairs[d].first] == "none") continue;  // no update
    const auto p = torch::softmax(old_pair[d], 0);
    const auto dg = g_grad[d];
    for (int i = 0; i < 2; ++i) {
      double s = 0;
      for (int j = 0; j < 2; ++j) {
        s += dg[j].item<double>() * p[j].item<double>() *
             ((i == j ? 1.0 : 0.0) - p[i].item<double>());
      }
      grad[d][i == 0 ? pairs[d].first : pairs[d].second] = s;
    }
  }
  if (ctx_->objective) grad = grad + objective_gradient();
  apply_alpha_gradient(grad);
  // Rescale the pair so the unsampled ops keep their probabilities.
  torch::NoGradGuard guard;
  for (int64_t d = 0; d < d_count; ++d) {
    const auto idx = torch::tensor({pairs[d].first, pairs[d].second}, torch::kInt64)
                         .to(alpha_.device());
    const auto updated = alpha_[d].index_select(0, idx);
    const auto offset = (updated.exp().sum() / old_pair[d].exp().sum()).log();
    alpha_[d].index_put_({idx}, updated - offset);
  }
  return grad;
}

StepStats Proxyless::step(const Batch& train, const Batch& val) {
  StepStats stats;
  // Weight step: one path sampled from p; only it runs.
  const auto p = probabilities();
  std::vector<int64_t> ops(p.size(0));
  for (int64_t d = 0; d < p.size(0); ++d) ops[d] = categorical(p[d]);
  weight_step(train, search_space::PathSpec::single(ops), stats);
  ++steps_;
  const int64_t warmup = warmup_epochs();
  // The reference skips alpha updates in the first epoch after warm-up.
  const bool arch_phase = epoch_ > warmup;
  if (arch_phase && steps_ % core::option<int64_t>(options_, "arch_update_every") == 0) {
    alpha_step(val, sample_pairs(), stats);
  }
  return stats;
}

nlohmann::json Proxyless::state() const {
  auto s = OneShotStrategy::state();
  s["warmup"] = epoch_ < warmup_epochs();
  return s;
}

void Proxyless::save_extra(torch::serialize::OutputArchive& archive) const {
  archive.write("steps", torch::tensor(steps_, torch::kInt64));
}

void Proxyless::load_extra(torch::serialize::InputArchive& archive) {
  torch::Tensor steps;
  archive.read("steps", steps);
  steps_ = steps.item<int64_t>();
}

}  // namespace nas::strategies
