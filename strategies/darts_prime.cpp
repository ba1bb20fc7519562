#include "strategies/darts_prime.h"

#include <cmath>
#include <map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

namespace {
/// Each row's share of its row sum (CRB's weights as op probabilities).
torch::Tensor row_shares(const torch::Tensor& w) { return w / w.sum(1, true).clamp_min(1e-12); }
}  // namespace

const core::OptionTable<DartsPrimeOptions>& DartsPrime::options_table() {
  static const auto table = [] {
    core::OptionTable<DartsPrimeOptions> t;
    add_weight_options(t);
    add_alpha_options(t);
    add_eval_options(t);
    t.add("order", &DartsPrimeOptions::order,
          "1: first-order alpha gradient (the reference's), 2: second order",
          core::one_of({1, 2}))
        .add("unrolled_r", &DartsPrimeOptions::unrolled_r,
             "finite-difference scale of the second-order step", core::greater_than(0))
        .add("activation", &DartsPrimeOptions::activation,
             "softmax within an edge, or crb: alpha clamped to 0..1, ops at 0 masked for good",
             core::one_of({"softmax", "crb"}))
        .add("crb_node_bn", &DartsPrimeOptions::crb_node_bn,
             "crb: an affine-free BatchNorm on every node's sum (darts supernet only)")
        .add("schedule", &DartsPrimeOptions::schedule,
             "dynamic: alpha steps when the weights' gradient energy falls below a moving "
             "threshold; fixed: every sched_freq-th step",
             core::one_of({"dynamic", "fixed"}))
        .add("sched_freq", &DartsPrimeOptions::sched_freq,
             "weight steps per alpha step", core::at_least(1))
        .add("fi_ewma", &DartsPrimeOptions::fi_ewma,
             "weight of the newest gradient energy in its moving average",
             core::in_closed(0.001, 1))
        .add("threshold_init", &DartsPrimeOptions::threshold_init,
             "the dynamic schedule's first threshold", core::greater_than(0))
        .add("threshold_multiplier", &DartsPrimeOptions::threshold_multiplier,
             "the threshold grows by this after a step without an alpha step",
             core::greater_than(1))
        .add("reg", &DartsPrimeOptions::reg,
             "the alpha loss's pull toward the discrete architecture",
             core::one_of({"prox", "admm", "none"}))
        .add("rho", &DartsPrimeOptions::rho, "weight of the regularizer", core::at_least(0))
        .add("admm_freq", &DartsPrimeOptions::admm_freq,
             "admm: Z and U update when alpha_counter + 1 reaches it", core::at_least(1))
        .add("zu_ewma", &DartsPrimeOptions::zu_ewma,
             "admm: U = zu_ewma * U + (alpha - Z)", core::in_closed(0, 1));
    return t;
  }();
  return table;
}

DartsPrime::DartsPrime(const DartsPrimeOptions& options) : Darts(options), prime_(options) {}

DartsPrime::DartsPrime(const nlohmann::json& options)
    : DartsPrime(options_table().parse(options, "strategy.darts_prime")) {}

void DartsPrime::configure_supernet(const search_space::SearchSpace& space,
                                    search_space::NetworkOptions& sizes) const {
  if (!crb() || !prime_.crb_node_bn) return;
  if (space.name() != "darts") {
    throw ConfigError(fmt::format(
        "strategy.darts_prime: activation 'crb' normalises every node with BatchNorm, which "
        "only the darts supernet has; the space is '{}' (set crb_node_bn false to search "
        "it without)",
        space.name()));
  }
  sizes.node_bn = true;
}

void DartsPrime::attach(SearchContext& ctx) {
  Darts::attach(ctx);
  const auto decisions = ctx.space->decisions();
  const auto d = static_cast<int64_t>(decisions.size());
  const int64_t k = ctx.space->num_candidates();
  std::map<std::string, std::vector<int64_t>> rows;
  auto alive = torch::zeros({d, k}, torch::kBool);
  for (int64_t i = 0; i < d; ++i) {
    const auto& dec = decisions[static_cast<size_t>(i)];
    rows[dec.name.substr(0, dec.name.find(' '))].push_back(i);
    for (const int64_t c : dec.choices()) {
      alive[i][c] = !crb() || dec.candidates[static_cast<size_t>(c)] != "none";
    }
  }
  for (const auto& [name, r] : rows) {
    groups_.push_back(torch::tensor(r, torch::kInt64).to(ctx.device));
  }
  alive_ = alive.to(ctx.device);
  torch::NoGradGuard guard;
  if (crb()) {
    const auto live = alive_.to(alpha_.scalar_type());
    alpha_.add_(live / live.sum(1, true).clamp_min(1)).mul_(live);
  }
  if (prime_.reg == "admm") {
    z_ = alpha_.detach().clone();
    u_ = torch::zeros_like(z_);
  }
  threshold_ = prime_.threshold_init;
}

void DartsPrime::new_epoch(int64_t epoch) {
  Darts::new_epoch(epoch);
  // NOTE: a resume inside an epoch keeps its step count.
  if (epoch != epoch_) {
    epoch_ = epoch;
    epoch_step_ = 0;
  }
}

double DartsPrime::clock() const {
  return static_cast<double>(epoch_) +
         static_cast<double>(epoch_step_) / static_cast<double>(ctx_->steps_per_epoch);
}

torch::Tensor DartsPrime::activate(const torch::Tensor& raw) const {
  if (crb()) return raw.clamp(0, 1) * alive_.to(raw.scalar_type());
  return torch::softmax(space_mask().defined() ? raw + space_mask() : raw, 1);
}

torch::Tensor DartsPrime::activation() const { return activate(alpha_); }

torch::Tensor DartsPrime::probabilities() const {
  return crb() ? activation().detach() : Darts::probabilities();
}

torch::Tensor DartsPrime::op_probabilities() const {
  return crb() ? row_shares(probabilities()) : probabilities();
}

torch::Tensor DartsPrime::discretize(const torch::Tensor& w) const {
  const auto path = ctx_->space->path_of(ctx_->space->derive(w.detach()));
  auto hot = torch::zeros(w.sizes(), torch::kFloat64);
  for (size_t i = 0; i < path.edges.size(); ++i) {
    if (!path.edges[i].ops.empty()) hot[static_cast<int64_t>(i)][path.edges[i].ops[0]] = 1.0;
  }
  return hot.to(w.device(), w.scalar_type());
}

torch::Tensor DartsPrime::group_norms(const torch::Tensor& t) const {
  auto total = torch::zeros({}, t.options());
  for (const auto& rows : groups_) total = total + t.index_select(0, rows).norm();
  return total;
}

torch::Tensor DartsPrime::regularizer(const torch::Tensor& a) const {
  const double half_rho = prime_.rho / 2;
  if (prime_.reg == "prox") {
    const double progress = clock() / static_cast<double>(ctx_->epochs);
    return progress * half_rho * group_norms(a - discretize(a));
  }
  if (prime_.reg == "admm") {
    return half_rho * group_norms((a - z_ + u_) * alive_.to(a.scalar_type()));
  }
  return torch::zeros({}, a.options());
}

bool DartsPrime::alpha_step_due() {
  if (prime_.schedule == "fixed") return epoch_step_ % prime_.sched_freq == 0;
  const bool due = fi_ewma_ > 0 && fi_ewma_ < threshold_;
  const double m = prime_.threshold_multiplier;
  threshold_ *= due ? std::pow(m, -static_cast<double>(prime_.sched_freq)) : m;
  return due;
}

void DartsPrime::alpha_step(const Batch& train, const Batch& val, StepStats& stats) {
  auto grad = alpha_gradient(train, val, stats);
  const auto a = activation();
  const auto probs = crb() ? row_shares(a) : a;
  grad = with_objective(grad, stats.val_loss, probs);
  if (prime_.reg != "none") {
    const auto reg = regularizer(activation());
    grad = grad + torch::autograd::grad({reg}, {alpha_}, {}, false, false, true)[0];
  }
  apply_alpha_gradient(grad);
  ++alpha_counter_;
  ++alpha_steps_;
}

StepStats DartsPrime::step(const Batch& train, const Batch& val) {
  ++epoch_step_;
  StepStats stats;
  if (alpha_step_due()) alpha_step(train, val, stats);
  weight_step(train, mixture_path(probabilities()), stats);
  track_fi();
  if (crb()) mask_alphas();
  if (prime_.reg == "admm" && (alpha_counter_ + 1) % prime_.admm_freq == 0) {
    update_admm();
    alpha_counter_ = 0;
  }
  return stats;
}

void DartsPrime::track_fi() {
  const double fi = last_grad_norm() * last_grad_norm();
  fi_ewma_ = fi_ewma_ < 0 ? fi : prime_.fi_ewma * fi + (1 - prime_.fi_ewma) * fi_ewma_;
}

void DartsPrime::mask_alphas() {
  torch::NoGradGuard guard;
  alive_.logical_and_(alpha_ > 0);
  alpha_.mul_(alive_.to(alpha_.scalar_type()));
}

void DartsPrime::update_admm() {
  torch::NoGradGuard guard;
  z_ = discretize(activate(alpha_.detach() + u_));
  u_ = (prime_.zu_ewma * u_ + (alpha_.detach() - z_)) * alive_.to(u_.scalar_type());
}

search_space::PathSpec DartsPrime::mixture_path(const torch::Tensor& p) const {
  if (!crb()) return Darts::mixture_path(p);
  return search_space::PathSpec::weighted_where(p, p.detach() > 0);
}

double DartsPrime::passes_per_step(const search_space::SearchSpace&) const {
  const double f = static_cast<double>(prime_.sched_freq);
  const double rate = prime_.schedule == "fixed" ? 1 / f : 1 / (1 + f);
  return 1 + rate * (prime_.order == 1 ? 1 : 4);
}

nlohmann::json DartsPrime::state() const {
  auto s = Darts::state();
  s["alpha_steps"] = alpha_steps_;
  if (prime_.schedule == "dynamic") {
    s["threshold"] = threshold_;
    s["fi_ewma"] = fi_ewma_;
  }
  if (prime_.reg != "none") {
    torch::NoGradGuard guard;
    s["reg"] = regularizer(activation()).item<double>();
  }
  if (crb()) s["alive_ops"] = alive_.sum().item<int64_t>();
  return s;
}

void DartsPrime::save_extra(torch::serialize::OutputArchive& archive) const {
  archive.write("prime_alive", alive_);
  archive.write("prime_scalars",
                torch::tensor({threshold_, fi_ewma_, static_cast<double>(alpha_counter_),
                               static_cast<double>(alpha_steps_), static_cast<double>(epoch_),
                               static_cast<double>(epoch_step_)},
                              torch::kFloat64));
  if (z_.defined()) {
    archive.write("prime_z", z_);
    archive.write("prime_u", u_);
  }
}

void DartsPrime::load_extra(torch::serialize::InputArchive& archive) {
  torch::Tensor alive, scalars;
  archive.read("prime_alive", alive);
  archive.read("prime_scalars", scalars);
  alive_.copy_(alive);
  const auto v = scalars.to(torch::kCPU);
  auto at = [&](int64_t i) { return v[i].item<double>(); };
  threshold_ = at(0);
  fi_ewma_ = at(1);
  alpha_counter_ = static_cast<int64_t>(at(2));
  alpha_steps_ = static_cast<int64_t>(at(3));
  epoch_ = static_cast<int64_t>(at(4));
  epoch_step_ = static_cast<int64_t>(at(5));
  if (z_.defined()) {
    archive.read("prime_z", z_);
    archive.read("prime_u", u_);
    z_ = z_.to(alpha_.device());
    u_ = u_.to(alpha_.device());
  }
}

}  // namespace nas::strategies
