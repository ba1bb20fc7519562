#include "strategies/enas.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "strategies/scoring.h"

namespace nas::strategies {

const core::OptionTable<EnasOptions>& Enas::options_table() {
  static const auto table = [] {
    core::OptionTable<EnasOptions> t;
    add_weight_options(t, /*alpha=*/false);
    add_controller_options(t);
    add_reinforce_options(t);
    t.add("controller_steps", &EnasOptions::controller_steps,
          "controller updates after each epoch (each of `aggregate` samples)",
          core::at_least(0))
        .add("select_archs", &EnasOptions::select_archs,
             "controller samples scored for the final answer", core::at_least(1))
        .add("select_batches", &EnasOptions::select_batches,
             "validation batches per final score", core::at_least(1));
    return t;
  }();
  return table;
}

Enas::Enas(const EnasOptions& options) : OneShotStrategy(options), opts_(options) {}

Enas::Enas(const nlohmann::json& options)
    : Enas(options_table().parse(options, "strategy.enas")) {}

void Enas::attach(SearchContext& ctx) {
  OneShotStrategy::attach(ctx);
  // NOTE: a stream of its own, so the controller's start is the seed's alone.
  core::Rng init(core::mix_seed(ctx.seed, 0xe4a5));
  controller_ = Controller(*ctx.space, opts_, init);
  learner_ = std::make_unique<Reinforce>(controller_, opts_);
}

StepStats Enas::step(const Batch& train, const Batch& /*val*/) {
  StepStats stats;
  ControllerSample s;
  {
    torch::NoGradGuard guard;
    s = controller_->sample(ctx_->rng);
  }
  weight_step(train, ctx_->space->path_of(controller_->architecture(s)), stats);
  if (++steps_ % ctx_->steps_per_epoch == 0) train_controller(stats);
  return stats;
}

double Enas::reward_accuracy(const search_space::Architecture& arch, const Batch& batch,
                             StepStats& stats) const {
  // Train mode (BatchNorm on batch statistics) without gradients, as both
  // references reward: melodyguan's valid_rl runs is_training=True, AutoDL's
  // NB201 supernet keeps no running statistics.
  torch::NoGradGuard guard;
  const auto logits = ctx_->supernet->forward(batch.x, ctx_->space->path_of(arch));
  const double n = static_cast<double>(batch.size());
  const double correct = logits.argmax(1).eq(batch.y).sum().item<double>();
  stats.val_loss += torch::nn::functional::cross_entropy(logits, batch.y).item<double>() * n;
  stats.val_correct += correct;
  stats.val_count += batch.size();
  return correct / n;
}

void Enas::train_controller(StepStats& stats) {
  if (ctx_->val_loader == nullptr) throw Error("enas: the controller trains on validation data");
  const int64_t samples = opts_.controller_steps * opts_.aggregate;
  StepStats phase;
  for (int64_t i = 0; i < samples; ++i) {
    const auto batch = ctx_->val_loader->cycling(val_batches_++);
    const auto s = controller_->sample(ctx_->rng);
    const auto arch = controller_->architecture(s);
    const double acc = reward_accuracy(arch, batch, phase);
    learner_->learn(s, acc - ctx_->objective.penalty_of(arch));
  }
  if (phase.val_count > 0) {
    stats.val_loss = phase.val_loss / static_cast<double>(phase.val_count);
    stats.val_correct = phase.val_correct;
    stats.val_count = phase.val_count;
  }
}

void Enas::finish() {
  Selection sel;
  sel.rounds = 1;
  sel.samples = opts_.select_archs;
  sel.top_k = 0;
  sel.options.batches = opts_.select_batches;
  auto sample = [this](core::Rng& rng) {
    torch::NoGradGuard guard;
    return controller_->architecture(controller_->sample(&rng));
  };
  final_ = select_by_sampling(*ctx_, sample, sel, *ctx_->rng);
  has_final_ = true;
}

search_space::Architecture Enas::best() const {
  if (has_final_) return final_;
  torch::NoGradGuard guard;
  const auto c = controller_.ptr();
  return c->architecture(c->sample(nullptr));
}

torch::Tensor Enas::op_probabilities() const {
  return controller_.ptr()->greedy_probabilities();
}

nlohmann::json Enas::state() const {
  return {{"lr", lr()},
          {"baseline", learner_->baseline()},
          {"controller_samples", learner_->samples()}};
}

void Enas::save_extra(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive c;
  for (const auto& [name, t] : learner_->state()) c.write(name, t);
  archive.write("controller", c);
  archive.write("enas_counters", torch::tensor({steps_, val_batches_}, torch::kInt64));
}

void Enas::load_extra(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive c;
  archive.read("controller", c);
  auto state = learner_->state();  // the names and shapes to read
  for (auto& [name, t] : state) c.read(name, t);
  learner_->set_state(state);
  torch::Tensor counters;
  archive.read("enas_counters", counters);
  steps_ = counters[0].item<int64_t>();
  val_batches_ = counters[1].item<int64_t>();
}

}  // namespace nas::strategies
