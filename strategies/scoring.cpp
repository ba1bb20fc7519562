#include "strategies/scoring.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/log.h"

namespace nas::strategies {

namespace {

std::vector<torch::nn::BatchNorm2dImpl*> batch_norms(torch::nn::Module& net) {
  std::vector<torch::nn::BatchNorm2dImpl*> out;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      if (bn->options.track_running_stats()) out.push_back(bn);
    }
  }
  return out;
}

}  // namespace

double score_architecture(const SearchContext& ctx,
                          const search_space::Architecture& arch,
                          const ScoreOptions& o) {
  if (ctx.val_loader == nullptr) {
    throw Error("scoring architectures needs the validation data");
  }
  auto& net = *ctx.supernet;
  const auto path = ctx.space->path_of(arch);
  torch::NoGradGuard guard;
  std::vector<torch::nn::BatchNorm2dImpl*> bns;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
  std::vector<c10::optional<double>> momenta;
  if (o.recalibrate > 0) {
    if (ctx.train_loader == nullptr) throw Error("BN recalibration needs training data");
    bns = batch_norms(net);
    for (auto* bn : bns) {
      saved.emplace_back(bn->running_mean.clone(), bn->running_var.clone());
      momenta.push_back(bn->options.momentum());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average
    }
    net.train();
    const int64_t n = std::min(o.recalibrate, ctx.train_loader->batches());
    for (int64_t i = 0; i < n; ++i) {
      net.forward(ctx.train_loader->batch(0, i).x, path);
    }
  }
  net.eval();
  const int64_t n = o.batches > 0 ? std::min(o.batches, ctx.val_loader->batches())
                                  : ctx.val_loader->batches();
  double correct = 0, count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto b = ctx.val_loader->batch(0, i);
    correct += net.forward(b.x, path).argmax(1).eq(b.y).sum().item<double>();
    count += b.size();
  }
  for (size_t i = 0; i < bns.size(); ++i) {
    bns[i]->running_mean.copy_(saved[i].first);
    bns[i]->running_var.copy_(saved[i].second);
    bns[i]->options.momentum(momenta[i]);
  }
  net.train();
  return count > 0 ? correct / count : 0.0;
}

search_space::Architecture select_by_sampling(const SearchContext& ctx,
                                              int64_t samples, int64_t top_k,
                                              const ScoreOptions& o) {
  if (samples < 1 || top_k < 1) {
    throw ConfigError(fmt::format(
        "selection: expected at least 1 sample and top_k >= 1, found {} and {}",
        samples, top_k));
  }
  std::vector<std::pair<double, search_space::Architecture>> scored;
  core::Progress progress("scoring sampled architectures", samples);
  for (int64_t i = 0; i < samples; ++i) {
    auto arch = ctx.space->sample(*ctx.rng);
    scored.emplace_back(score_architecture(ctx, arch, o), std::move(arch));
    progress.update(i + 1, "");
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  scored.resize(std::min<int64_t>(top_k, static_cast<int64_t>(scored.size())));
  ScoreOptions full = o;
  full.batches = 0;
  double best = -1;
  search_space::Architecture answer;
  for (auto& [score, arch] : scored) {
    const double s = score_architecture(ctx, arch, full);
    if (s > best) {
      best = s;
      answer = arch;
    }
  }
  progress.finish(fmt::format("best of the top {}: {:.2f}% on the whole "
                              "validation split",
                              scored.size(), 100 * best));
  return answer;
}

}  // namespace nas::strategies
