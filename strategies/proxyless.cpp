#include "strategies/proxyless.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

const core::OptionTable<ProxylessOptions>& Proxyless::options_table() {
  static const auto table = [] {
    core::OptionTable<ProxylessOptions> t;
    add_weight_options(t);
    add_alpha_options(t);
    add_alpha_eps(t);
    add_eval_options(t);
    t.add("binary_mode", &ProxylessOptions::binary_mode,
          "gates of an alpha step: \"full_v2\"/\"full\" all candidates, \"two\" a sampled pair",
          core::one_of({"full_v2", "full", "two"}))
        .add("warmup_epochs", &ProxylessOptions::warmup_epochs,
             "weights-only epochs on random paths first (-1: a quarter of the epochs)",
             core::at_least(-1))
        .add("warmup_lr", &ProxylessOptions::warmup_lr, "peak learning rate of the warm-up",
             core::at_least(0))
        .add("arch_update_every", &ProxylessOptions::arch_update_every,
             "weight steps per alpha step", core::at_least(1));
    return t;
  }();
  return table;
}

Proxyless::Proxyless(const ProxylessOptions& options)
    : OneShotStrategy(options), opts_(options), two_mode_(options.binary_mode == "two") {}

Proxyless::Proxyless(const nlohmann::json& options)
    : Proxyless(options_table().parse(options, "strategy.proxyless")) {}

void Proxyless::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  make_alpha_optimizer(opts_);
}

int64_t Proxyless::warmup_epochs() const {
  const auto w = opts_.warmup_epochs;
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
    return 0.5 * opts_.warmup_lr *
           (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(warm)));
  }
  const double lr0 = opts_.w_lr;
  const double lr_min = opts_.w_lr_min;
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
  const auto decisions = ctx_->space->decisions();
  std::vector<Gates> gates(p.size(0));
  for (int64_t d = 0; d < p.size(0); ++d) {
    auto& g = gates[d];
    if (!two_mode_) {
      g.active = categorical(p[d]);
      g.involved = decisions[d].choices();  // every allowed candidate
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
  return 1.0 + 1.0 / static_cast<double>(opts_.arch_update_every);
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
      (in_epoch + 1) % opts_.arch_update_every == 0) {
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
