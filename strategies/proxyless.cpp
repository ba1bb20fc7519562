#include "strategies/proxyless.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json Proxyless::default_options() {
  auto o = weight_defaults();
  o.update(eval_defaults(1));
  o.update({{"w_lr_min", 0.0},
            {"w_nesterov", true},
            {"w_weight_decay", 4e-5},
            {"label_smoothing", 0.1},
            {"binary_mode", "full_v2"},
            {"warmup_epochs", -1},  // -1: a quarter of the epochs
            {"warmup_lr", 0.05},
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
    throw ConfigError(fmt::format(
        "strategy proxyless option 'arch_update_every': expected 1 or more, found {}",
        core::option<int64_t>(options_, "arch_update_every")));
  }
  if (core::option<int64_t>(options_, "warmup_epochs") < -1) {
    throw ConfigError(fmt::format(
        "strategy proxyless option 'warmup_epochs': expected -1 (a quarter of the "
        "epochs) or more, found {}",
        core::option<int64_t>(options_, "warmup_epochs")));
  }
  if (!(core::option<double>(options_, "warmup_lr") >= 0)) {
    throw ConfigError("strategy proxyless option 'warmup_lr': expected a number >= 0");
  }
  const auto mode = core::option<std::string>(options_, "binary_mode");
  if (mode != "full_v2" && mode != "full" && mode != "two") {
    throw ConfigError(fmt::format(
        "strategy proxyless option 'binary_mode': expected \"full_v2\", \"full\" or "
        "\"two\", found \"{}\"",
        mode));
  }
  two_mode_ = mode == "two";
}

void Proxyless::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer();
}

int64_t Proxyless::warmup_epochs() const {
  const auto w = core::option<int64_t>(options_, "warmup_epochs");
  return std::min(w >= 0 ? w : ctx_->epochs / 4, ctx_->epochs);
}

void Proxyless::new_epoch(int64_t epoch) {
  epoch_ = epoch;
  set_lr(scheduled_lr(steps_));
}

double Proxyless::scheduled_lr(int64_t step) const {
  // Per-step cosines (run_manager.adjust_learning_rate, warm_up).
  const int64_t warm = warmup_epochs() * ctx_->steps_per_epoch;
  if (step < warm) {
    return 0.5 * core::option<double>(options_, "warmup_lr") *
           (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(warm)));
  }
  const double lr0 = core::option<double>(options_, "w_lr");
  const double lr_min = core::option<double>(options_, "w_lr_min");
  const double total = std::max<double>(
      1.0, static_cast<double>(ctx_->epochs * ctx_->steps_per_epoch - warm));
  return lr_min + 0.5 * (lr0 - lr_min) *
                      (1 + std::cos(M_PI * static_cast<double>(step - warm) / total));
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

std::vector<Proxyless::Gates> Proxyless::sample_gates() {
  const auto p = probabilities();
  std::vector<Gates> gates(p.size(0));
  for (int64_t d = 0; d < p.size(0); ++d) {
    auto& g = gates[d];
    if (!two_mode_) {
      g.active = categorical(p[d]);
      for (int64_t k = 0; k < p.size(1); ++k) g.involved.push_back(k);
      continue;
    }
    // Two distinct ops from p without replacement, then the active one from
    // the pair's renormalised probabilities.
    const int64_t a = categorical(p[d]);
    auto rest = p[d].clone();
    rest[a] = 0;
    const int64_t b = categorical(rest / rest.sum());
    const auto pair = torch::softmax(
        alpha_.detach()[d].index_select(0, torch::tensor({a, b}, torch::kInt64)
                                               .to(alpha_.device())),
        0);
    g.active = categorical(pair) == 0 ? a : b;
    g.involved = {a, b};
  }
  return gates;
}

torch::Tensor Proxyless::alpha_step(const Batch& val, const std::vector<Gates>& gates,
                                    StepStats& stats) {
  auto& net = *ctx_->supernet;
  net.train();
  const int64_t d_count = alpha_.size(0);
  const auto& decisions = ctx_->space->decisions();
  // Gates g = one_hot(active) over the involved ops, which all run so that
  // dL/dg_j = <dL/dy, o_j(x)>.
  std::vector<torch::Tensor> g(d_count);
  search_space::PathSpec path;
  path.edges.resize(d_count);
  for (int64_t d = 0; d < d_count; ++d) {
    const auto& inv = gates[d].involved;
    auto w = torch::zeros({static_cast<int64_t>(inv.size())}, alpha_.options());
    for (size_t i = 0; i < inv.size(); ++i) {
      if (inv[i] == gates[d].active) w[static_cast<int64_t>(i)] = 1.0;
    }
    g[d] = w.requires_grad_(true);
    path.edges[d].ops = inv;
    path.edges[d].weights = g[d];
  }
  auto [loss, correct] = loss_and_correct(net.forward(val.x, path), val.y);
  stats.val_loss = loss.item<double>();
  stats.val_correct = correct;
  stats.val_count = val.size();
  auto g_grads = torch::autograd::grad({loss}, g, {}, false, false, true);
  // BinaryConnect estimate on the involved ops' renormalised probabilities
  // (Eq. 4); no update where the active op is `none`.
  auto grad = torch::zeros_like(alpha_);
  auto rows = torch::ones({d_count}, torch::kBool);  // CPU: read per decision below
  auto mask = torch::full_like(alpha_, -std::numeric_limits<double>::infinity());
  for (int64_t d = 0; d < d_count; ++d) {
    const auto& inv = gates[d].involved;
    const auto idx = torch::tensor(inv, torch::kInt64).to(alpha_.device());
    mask[d].index_fill_(0, idx, 0.0);
    if (decisions[d].candidates[gates[d].active] == "none") {
      rows[d] = false;
      continue;
    }
    const auto p = torch::softmax(alpha_.detach()[d].index_select(0, idx), 0)
                       .to(torch::kCPU, torch::kFloat64);
    const auto dg = g_grads[d].defined()
                        ? g_grads[d].detach().to(torch::kCPU, torch::kFloat64)
                        : torch::zeros({static_cast<int64_t>(inv.size())}, torch::kFloat64);
    const auto* pv = p.data_ptr<double>();
    const auto* gv = dg.data_ptr<double>();
    for (size_t i = 0; i < inv.size(); ++i) {
      double s = 0;
      for (size_t j = 0; j < inv.size(); ++j) {
        s += gv[j] * pv[j] * ((i == j ? 1.0 : 0.0) - pv[i]);
      }
      grad[d][inv[i]] = s;
    }
  }
  // The probabilities the reference's objective sees: softmax over the
  // involved ops, zeros elsewhere.
  grad = with_objective(grad, stats.val_loss, torch::softmax(alpha_ + mask, 1));
  grad = grad * rows.to(grad.device(), grad.scalar_type()).unsqueeze(1);
  const auto before = alpha_.detach().clone();
  apply_alpha_gradient(grad, rows);
  if (two_mode_) {
    // Shift the pair so the unsampled ops keep their probabilities.
    torch::NoGradGuard guard;
    for (int64_t d = 0; d < d_count; ++d) {
      if (!rows[d].item<bool>()) continue;
      const auto idx = torch::tensor(gates[d].involved, torch::kInt64).to(alpha_.device());
      const auto updated = alpha_[d].index_select(0, idx);
      const auto old = before[d].index_select(0, idx);
      const auto offset = (updated.exp().sum() / old.exp().sum()).log();
      alpha_[d].index_put_({idx}, updated - offset);
    }
  }
  return grad;
}

double Proxyless::passes_per_step(const search_space::SearchSpace& /*space*/) const {
  return 1.0 + 1.0 / static_cast<double>(core::option<int64_t>(options_, "arch_update_every"));
}

StepStats Proxyless::step(const Batch& train, const Batch& val) {
  StepStats stats;
  set_lr(scheduled_lr(steps_));
  // Weight step: one path sampled from p; only it runs.
  const auto p = probabilities();
  std::vector<int64_t> ops(p.size(0));
  for (int64_t d = 0; d < p.size(0); ++d) ops[d] = categorical(p[d]);
  weight_step(train, search_space::PathSpec::single(ops), stats);
  const int64_t in_epoch = steps_ % std::max<int64_t>(ctx_->steps_per_epoch, 1);
  ++steps_;
  // The reference skips alpha updates in the first epoch after warm-up.
  const bool arch_phase = epoch_ > warmup_epochs();
  if (arch_phase &&
      (in_epoch + 1) % core::option<int64_t>(options_, "arch_update_every") == 0) {
    alpha_step(val, sample_gates(), stats);
  }
  return stats;
}

nlohmann::json Proxyless::state() const {
  auto s = OneShotStrategy::state();
  s["lr"] = scheduled_lr(std::max<int64_t>(steps_ - 1, 0));  // the last step's
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
