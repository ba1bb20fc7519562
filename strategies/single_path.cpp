#include "strategies/single_path.h"

#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/chain_space.h"

namespace nas::strategies {

const core::OptionTable<SinglePathOptions>& SinglePath::options_table() {
  static const auto table = [] {
    core::OptionTable<SinglePathOptions> t;
    add_weight_options(t, false);
    add_alpha_options(t);
    add_alpha_rmsprop(t);
    add_eval_options(t);
    t.add("warmup_epochs", &SinglePathOptions::warmup_epochs,
          "epochs without the latency term, with indicator dropout (-1: 5/8 of the epochs)",
          core::at_least(-1))
        .add("indicator_keep", &SinglePathOptions::indicator_keep,
             "keep probability of the indicators' dropout during the warm-up",
             core::in_closed(0.01, 1));
    return t;
  }();
  return table;
}

SinglePath::SinglePath(const SinglePathOptions& options)
    : OneShotStrategy(options), opts_(options) {}

SinglePath::SinglePath(const nlohmann::json& options)
    : SinglePath(options_table().parse(options, "strategy.single_path")) {}

void SinglePath::configure_supernet(const search_space::SearchSpace& space,
                                    search_space::NetworkOptions& sizes) const {
  const auto* chain = dynamic_cast<const search_space::ChainSpace*>(&space);
  if (chain == nullptr) {
    throw ConfigError(fmt::format(
        "strategy single_path: Single-Path NAS searches a chain of MBConv superkernels; space "
        "'{}' has none (use chain_proxyless or chain_fairnas)",
        space.name()));
  }
  chain->superkernel_layouts();  // ConfigError where the candidates do not nest
  sizes.superkernel = true;
}

void SinglePath::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  slots_ = ctx.supernet->superkernel_slots();
  if (slots_ == 0 || slots_ > alpha_.size(1)) {
    throw Error("strategy single_path: the supernet has no superkernels (build it with the "
                "sizes configure_supernet sets)");
  }
  make_alpha_optimizer(opts_);
}

int64_t SinglePath::warmup_epochs() const {
  const auto w = opts_.warmup_epochs;
  return w >= 0 ? w : std::llround(static_cast<double>(ctx_->epochs) * 5.0 / 8.0);
}

void SinglePath::new_epoch(int64_t epoch) {
  OneShotStrategy::new_epoch(epoch);
  epoch_ = epoch;
}

StepStats SinglePath::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  auto& net = *ctx_->supernet;
  net.train();
  clear_weight_grads();
  alpha_.mutable_grad() = torch::Tensor();
  const bool warm = epoch_ < warmup_epochs();
  const auto d = net.superkernel_indicators(thresholds(), warm ? opts_.indicator_keep : 1.0);
  auto [loss, correct] =
      loss_and_correct(net.forward(train.x, search_space::PathSpec::superkernel(d)), train.y);
  const auto total = warm ? loss : ctx_->objective.apply(loss, net.superkernel_selection(d));
  total.backward();
  reduce_weight_grads();
  torch::nn::utils::clip_grad_norm_(weights_, one_shot_.grad_clip);
  w_optimizer_->step();
  apply_alpha_gradient(alpha_.grad());
  alpha_.mutable_grad() = torch::Tensor();
  stats.train_loss = loss.item<double>();
  stats.train_correct = correct;
  stats.train_count = train.size();
  return stats;
}

torch::Tensor SinglePath::hard_indicators() const {
  torch::NoGradGuard guard;
  return ctx_->supernet->superkernel_indicators(thresholds().detach(), 1.0);
}

torch::Tensor SinglePath::op_probabilities() const {
  torch::NoGradGuard guard;
  return ctx_->supernet->superkernel_selection(hard_indicators());
}

search_space::Architecture SinglePath::best() const {
  return ctx_->space->derive(op_probabilities());
}

search_space::PathSpec SinglePath::eval_path() const {
  return search_space::PathSpec::superkernel(hard_indicators());
}

nlohmann::json SinglePath::state() const {
  auto s = OneShotStrategy::state();
  const auto rows = [](const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    std::vector<std::vector<double>> out(static_cast<size_t>(c.size(0)));
    for (int64_t i = 0; i < c.size(0); ++i) {
      out[static_cast<size_t>(i)].assign(c[i].data_ptr<double>(),
                                         c[i].data_ptr<double>() + c.size(1));
    }
    return out;
  };
  s["arch_weights"] = rows(op_probabilities());
  s["thresholds"] = rows(thresholds());
  s["indicators"] = rows(hard_indicators());
  return s;
}

}  // namespace nas::strategies
