#include "estimators/one_shot_eval.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"

namespace nas::estimators {

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

/// Re-estimates the BatchNorm statistics through `path` on `n` training
/// batches; the destructor puts the supernet's own statistics back.
class Recalibration {
 public:
  Recalibration(const OneShotModel& model, int64_t n) {
    if (n <= 0) return;
    if (model.train_loader == nullptr) throw Error("BN recalibration needs training data");
    for (auto* bn : batch_norms(*model.supernet)) {
      saved_.push_back({bn, bn->running_mean.clone(), bn->running_var.clone(),
                        bn->num_batches_tracked.clone(), bn->options.momentum()});
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // cumulative average
    }
  }
  /// The re-estimation itself; may throw (interrupt): the destructor still
  /// restores the statistics.
  void run(const OneShotModel& model, const search_space::PathSpec& path, int64_t n) {
    if (n <= 0) return;
    auto& net = *model.supernet;
    net.train();
    const int64_t batches = std::min(n, model.train_loader->batches());
    for (int64_t i = 0; i < batches; ++i) {
      core::throw_if_interrupted("BatchNorm recalibration");
      net.forward(model.train_loader->batch(0, i).x, path);
    }
  }
  ~Recalibration() {
    for (auto& s : saved_) {
      s.bn->running_mean.copy_(s.mean);
      s.bn->running_var.copy_(s.var);
      s.bn->num_batches_tracked.copy_(s.tracked);
      s.bn->options.momentum(s.momentum);
    }
  }

 private:
  struct Saved {
    torch::nn::BatchNorm2dImpl* bn;
    torch::Tensor mean, var, tracked;
    c10::optional<double> momentum;
  };
  std::vector<Saved> saved_;
};

}  // namespace

EvalResult evaluate_path(const OneShotModel& model, const search_space::PathSpec& path,
                         int64_t batches) {
  if (model.val_loader == nullptr) {
    throw Error("evaluating the supernet needs the validation data");
  }
  auto& net = *model.supernet;
  torch::NoGradGuard guard;
  net.eval();
  const int64_t n = batches > 0 ? std::min(batches, model.val_loader->batches())
                                : model.val_loader->batches();
  double loss = 0, correct = 0;
  EvalResult r;
  for (int64_t i = 0; i < n; ++i) {
    if (core::interrupted()) {
      net.train();
      throw core::Interrupted("the evaluation of the supernet");
    }
    const auto b = model.val_loader->batch(0, i);
    const auto logits = net.forward(b.x, path);
    loss += torch::nn::functional::cross_entropy(logits, b.y).item<double>() * b.size();
    correct += logits.argmax(1).eq(b.y).sum().item<double>();
    r.count += b.size();
  }
  net.train();
  if (r.count > 0) {
    r.loss = loss / r.count;
    r.accuracy = correct / r.count;
  }
  return r;
}

EvalResult score_architecture(const OneShotModel& model, const search_space::Architecture& arch,
                              const ScoreOptions& o) {
  const auto path = model.space->path_of(arch);
  torch::NoGradGuard guard;
  Recalibration recalibration(model, o.recalibrate);
  recalibration.run(model, path, o.recalibrate);
  return evaluate_path(model, path, o.batches);
}

}  // namespace nas::estimators

namespace nas::estimators {

const core::OptionTable<SupernetEstimatorOptions>& SupernetEstimator::options_table() {
  static const auto table = [] {
    core::OptionTable<SupernetEstimatorOptions> t;
    t.add("run", &SupernetEstimatorOptions::run, "the directory of a finished one-shot run (required)")
        .add("recalibrate", &SupernetEstimatorOptions::recalibrate,
             "training batches that re-estimate BatchNorm per score (0: the supernet's own)",
             core::at_least(0))
        .add("batches", &SupernetEstimatorOptions::batches,
             "validation batches per score (0: all)", core::at_least(0));
    return t;
  }();
  return table;
}

SupernetEstimator::SupernetEstimator(const nlohmann::json& options) {
  const auto o = options_table().parse(options, "estimator.supernet");
  run_ = o.run;
  score_.recalibrate = o.recalibrate;
  score_.batches = o.batches;
}

void SupernetEstimator::attach(const EstimatorContext& ctx) {
  const auto& run = run_;
  if (run.empty()) {
    throw ConfigError(
        "estimator.supernet.run: expected the directory of a one-shot run (--set "
        "estimator.options.run=DIR), found none");
  }
  const auto config_file = run + "/config.json";
  const auto checkpoint = run + "/checkpoint.pt";
  if (!std::filesystem::is_regular_file(config_file) ||
      !std::filesystem::is_regular_file(checkpoint)) {
    throw ConfigError(fmt::format(
        "estimator.supernet.run: expected a one-shot run directory with config.json and "
        "checkpoint.pt, found neither in {}",
        run));
  }
  const auto config = core::read_json_file(config_file);
  const auto space = config.value("/space/name"_json_pointer, std::string());
  if (space != ctx.space->name()) {
    throw ConfigError(fmt::format("estimator.supernet.run: the run in {} searched the '{}' "
                                  "space, this one is '{}'",
                                  run, space, ctx.space->name()));
  }
  if (!std::filesystem::exists(run + "/result.json")) {
    core::info("note: the run in {} has not finished; its last checkpoint is used", run);
  }
  data_ = data::load_data(config.at("data"));
  split_ = data::make_search_split(data_, config.at("data"), config.at("seed").get<uint64_t>(),
                                   ctx.device);
  model_.space = ctx.space;
  model_.supernet = ctx.space->build_supernet(search_space::supernet_sizes(
      *ctx.space, config.at("network"), split_.num_classes, split_.channels, split_.input_size));
  torch::serialize::InputArchive archive, net_archive;
  core::load_checked(archive, checkpoint, ctx.device);
  // NOTE: Module::load replaces each tensor whatever its shape: compare the
  // shapes the config builds with those the checkpoint holds.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model_.supernet->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : model_.supernet->named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  try {
    archive.read("supernet", net_archive);
    model_.supernet->load(net_archive);
  } catch (const c10::Error& e) {
    throw ConfigError(fmt::format("{}: no supernet of this space and size ({})", checkpoint,
                                  std::string(e.what_without_backtrace())));
  }
  auto check = [&](const std::string& name, const torch::Tensor& t) {
    if (shapes.at(name) != t.sizes().vec()) {
      throw ConfigError(fmt::format(
          "{}: no supernet of this space and size: '{}' is [{}] in the checkpoint, [{}] in "
          "the network {} describes",
          checkpoint, name, fmt::join(t.sizes(), ", "), fmt::join(shapes.at(name), ", "),
          config_file));
    }
  };
  for (const auto& p : model_.supernet->named_parameters()) check(p.key(), p.value());
  for (const auto& b : model_.supernet->named_buffers()) check(b.key(), b.value());
  model_.supernet->to(ctx.device);
  model_.train_loader = split_.train.get();
  model_.val_loader = split_.val.get();
}

Estimate SupernetEstimator::evaluate(const search_space::Architecture& arch, const Fidelity&) {
  return guarded_estimate(
      "val_acc", {{"recalibrate", score_.recalibrate}, {"batches", score_.batches}},
      [&](Estimate& e) {
        const auto r = score_architecture(model_, arch, score_);
        e.value = e.score = r.accuracy;
        e.fields = {{"val_loss", r.loss}};
      });
}

}  // namespace nas::estimators
