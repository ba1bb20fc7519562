#include "strategies/sharp_darts.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

std::vector<double> cosine_power_annealing(int64_t epochs, double max_lr, double min_lr,
                                           double exponent, int64_t warmup_epochs) {
  const int64_t warmup = std::max<int64_t>(warmup_epochs, 0);
  const auto last = static_cast<double>(epochs - warmup);
  std::vector<double> p;
  for (int64_t e = 1; e <= epochs; ++e) {
    const double c = (1 + std::cos(M_PI * static_cast<double>(e - warmup) / last)) / 2;
    p.push_back(exponent == 1 ? c : std::pow(exponent, c + 1));
  }
  const auto [lo, hi] = std::minmax_element(p.begin(), p.end());
  const double low = *lo, span = *hi - *lo;
  for (auto& v : p) v = span > 0 ? (v - low) / span : 1.0;
  // The reference's warm-up: epochs 1 .. warmup + 1 rise as e / (warmup + 1).
  for (int64_t e = 1; warmup > 0 && e <= std::min(warmup + 1, epochs); ++e) {
    p[static_cast<size_t>(e - 1)] = static_cast<double>(e) / static_cast<double>(warmup + 1);
  }
  for (auto& v : p) v = v * (max_lr - min_lr) + min_lr;
  return p;
}

const core::OptionTable<SharpDartsOptions>& SharpDarts::options_table() {
  static const auto table = [] {
    core::OptionTable<SharpDartsOptions> t;
    add_darts_options(t);
    t.add("weighting", &SharpDartsOptions::weighting,
          "max_w: ops weighted 1 - max(w) + w (MaxW DARTS); scalar: w (DARTS)",
          core::one_of({"max_w", "scalar"}))
        .add("lr_exponent", &SharpDartsOptions::lr_exponent,
             "Cosine Power Annealing's exponent (1: cosine annealing)", core::in_closed(1, 100))
        .add("warmup_epochs", &SharpDartsOptions::warmup_epochs,
             "epochs of linear learning-rate warm-up (the first warmup + 1 rise)",
             core::at_least(0))
        .check([](const SharpDartsOptions& o, const std::string& where) {
          if (o.w_lr_min > o.w_lr) {
            throw ConfigError(fmt::format("{}: w_lr_min ({}) must not exceed w_lr ({})", where,
                                          o.w_lr_min, o.w_lr));
          }
        });
    return t;
  }();
  return table;
}

SharpDarts::SharpDarts(const SharpDartsOptions& options) : Darts(options), sharp_(options) {}

SharpDarts::SharpDarts(const nlohmann::json& options)
    : SharpDarts(options_table().parse(options, "strategy.sharp_darts")) {}

void SharpDarts::new_epoch(int64_t epoch) {
  Darts::new_epoch(epoch);
  const auto epochs = std::max<int64_t>(ctx_->epochs, 1);
  // A warm-up as long as the run leaves no annealing: the schedule is then
  // the warm-up alone.
  const auto warmup = std::min(sharp_.warmup_epochs, epochs - 1);
  const auto lr = cosine_power_annealing(epochs, one_shot_.w_lr, one_shot_.w_lr_min,
                                         sharp_.lr_exponent, warmup);
  set_lr(lr[static_cast<size_t>(std::min(epoch, epochs - 1))]);
}

torch::Tensor SharpDarts::mixture_weights(const torch::Tensor& p) const {
  if (sharp_.weighting == "scalar") return p;
  // Disallowed columns (probability exactly 0) stay 0.
  const auto w = 1 - std::get<0>(p.max(1, true)) + p;
  return torch::where(p > 0, w, torch::zeros_like(p));
}

}  // namespace nas::strategies
