#include "strategies/alpha_optimizer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

AlphaOptimizer::AlphaOptimizer(const AlphaOptions& o, const torch::Tensor& alpha)
    : adam_(o.alpha_optimizer == "adam"),
      rmsprop_(o.alpha_optimizer == "rmsprop"),
      rms_decay_(o.alpha_rms_decay),
      momentum_(o.alpha_momentum),
      lr_(o.alpha_lr),
      beta1_(o.alpha_beta1),
      beta2_(o.alpha_beta2),
      eps_(o.alpha_eps),
      weight_decay_(o.alpha_weight_decay) {
  const auto opts = alpha.options().requires_grad(false);
  exp_avg_ = torch::zeros(alpha.sizes(), opts);
  // RMSProp's mean square starts at 1, as TensorFlow's.
  exp_avg_sq_ = rmsprop_ ? torch::ones(alpha.sizes(), opts) : torch::zeros(alpha.sizes(), opts);
  steps_ = torch::zeros({alpha.size(0)}, opts.dtype(torch::kFloat64));
}

AlphaOptimizer::AlphaOptimizer(const nlohmann::json& options, const torch::Tensor& alpha)
    : AlphaOptimizer(
          [] {
            core::OptionTable<AlphaOptions> t;
            add_alpha_options(t);
            add_alpha_rmsprop(t);
            return t;
          }()
              .parse(options, "alpha"),
          alpha) {}

void AlphaOptimizer::step(torch::Tensor& alpha, const torch::Tensor& grad_in,
                          const torch::Tensor& rows) {
  torch::NoGradGuard guard;
  auto grad = grad_in.detach();
  if (weight_decay_ != 0) grad = grad + weight_decay_ * alpha.detach();
  const auto mask = rows.defined() ? rows.to(alpha.device(), torch::kBool)
                                   : torch::ones({alpha.size(0)}, alpha.options().dtype(torch::kBool));
  const auto m = mask.unsqueeze(1);
  if (rmsprop_) {
    // TensorFlow's RMSPropOptimizer: exp_avg_sq_ = ms, exp_avg_ = mom.
    exp_avg_sq_ = torch::where(m, exp_avg_sq_ * rms_decay_ + (1 - rms_decay_) * grad * grad,
                               exp_avg_sq_);
    exp_avg_ = torch::where(m, exp_avg_ * momentum_ + lr_ * grad / (exp_avg_sq_ + eps_).sqrt(),
                            exp_avg_);
    alpha.sub_(torch::where(m, exp_avg_, torch::zeros_like(grad)));
    steps_.add_(mask.to(torch::kFloat64));
    return;
  }
  if (!adam_) {
    alpha.sub_(torch::where(m, lr_ * grad, torch::zeros_like(grad)));
    steps_.add_(mask.to(torch::kFloat64));
    return;
  }
  // torch.optim.Adam (non-amsgrad), per row.
  exp_avg_ = torch::where(m, exp_avg_ * beta1_ + (1 - beta1_) * grad, exp_avg_);
  exp_avg_sq_ = torch::where(m, exp_avg_sq_ * beta2_ + (1 - beta2_) * grad * grad, exp_avg_sq_);
  steps_.add_(mask.to(torch::kFloat64));
  const auto t = steps_.clamp_min(1.0);
  const auto bc1 = (1 - torch::pow(beta1_, t)).to(alpha.scalar_type()).unsqueeze(1);
  const auto bc2 = (1 - torch::pow(beta2_, t)).to(alpha.scalar_type()).unsqueeze(1);
  const auto denom = exp_avg_sq_.sqrt() / bc2.sqrt() + eps_;
  const auto update = lr_ / bc1 * exp_avg_ / denom;
  alpha.sub_(torch::where(m, update, torch::zeros_like(update)));
}

void AlphaOptimizer::save(torch::serialize::OutputArchive& archive) const {
  archive.write("exp_avg", exp_avg_);
  archive.write("exp_avg_sq", exp_avg_sq_);
  archive.write("steps", steps_);
}

void AlphaOptimizer::load(torch::serialize::InputArchive& archive) {
  torch::Tensor a, b, s;
  archive.read("exp_avg", a);
  archive.read("exp_avg_sq", b);
  archive.read("steps", s);
  if (!a.sizes().equals(exp_avg_.sizes()) || !s.sizes().equals(steps_.sizes())) {
    throw Error(fmt::format("checkpoint: the alpha optimizer state has shape {}, the "
                            "search expects {}",
                            fmt::join(a.sizes(), "x"), fmt::join(exp_avg_.sizes(), "x")));
  }
  exp_avg_.copy_(a);
  exp_avg_sq_.copy_(b);
  steps_.copy_(s);
}

}  // namespace nas::strategies
