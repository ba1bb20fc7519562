#include "estimators/scratch.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/checkpoint.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "data/source.h"

namespace nas::estimators {

namespace {

const core::OptionTable<TrainOptions>& train_table() {
  static const auto table = [] {
    core::OptionTable<TrainOptions> t;
    add_train_options(t);
    return t;
  }();
  return table;
}

}  // namespace

nlohmann::json TrainOptions::defaults() { return train_table().defaults(); }

TrainOptions TrainOptions::from_json(const nlohmann::json& j, const std::string& where) {
  return train_table().parse(j, where);
}

EvalResult evaluate(search_space::NetworkImpl& net, const data::Loader& loader,
                    int64_t max_batches) {
  torch::NoGradGuard guard;
  net.eval();
  EvalResult r;
  const int64_t n = max_batches > 0 ? std::min(max_batches, loader.batches())
                                    : loader.batches();
  for (int64_t i = 0; i < n; ++i) {
    const auto b = loader.batch(0, i);
    const auto logits = net.forward(b.x);
    r.loss += torch::nn::functional::cross_entropy(logits, b.y).item<double>() *
              b.size();
    r.accuracy += logits.argmax(1).eq(b.y).sum().item<double>();
    r.count += b.size();
  }
  if (r.count > 0) {
    r.loss /= r.count;
    r.accuracy /= r.count;
  }
  return r;
}

namespace {

bool file_exists(const std::string& path) {
  return !path.empty() && std::ifstream(path).good();
}

void save_train_checkpoint(const std::string& path, const nlohmann::json& fingerprint,
                           search_space::NetworkImpl& net,
                           torch::optim::SGD& optimizer, int64_t next_epoch,
                           const TrainResult& r) {
  torch::serialize::OutputArchive archive, net_archive, opt_archive;
  net.save(net_archive);
  optimizer.save(opt_archive);
  archive.write("network", net_archive);
  archive.write("optimizer", opt_archive);
  archive.write("epoch", torch::tensor(next_epoch, torch::kInt64));
  core::write_generators(archive, net.parameters().front().device());
  archive.write("metrics",
                torch::tensor({r.train.loss, r.train.accuracy, r.test.loss,
                               r.test.accuracy, static_cast<double>(r.test.count),
                               r.seconds},
                              torch::kFloat64));
  core::write_fingerprint(archive, fingerprint);
  core::save_checked(archive, path);
}

int64_t load_train_checkpoint(const std::string& path, const nlohmann::json& fingerprint,
                              search_space::NetworkImpl& net,
                              torch::optim::SGD& optimizer, TrainResult& r) {
  torch::serialize::InputArchive archive, net_archive, opt_archive;
  const auto device = net.parameters().front().device();
  core::load_checked(archive, path, device);
  if (!fingerprint.is_null()) core::check_fingerprint(archive, fingerprint, path);
  try {
  archive.read("network", net_archive);
  archive.read("optimizer", opt_archive);
  net.load(net_archive);
  optimizer.load(opt_archive);
  torch::Tensor epoch, metrics;
  archive.read("epoch", epoch);
  archive.read("metrics", metrics);
  core::read_generators(archive, device);
  metrics = metrics.cpu();
  const auto* m = metrics.data_ptr<double>();
  r.train = {m[0], m[1], 0};
  r.test = {m[2], m[3], static_cast<int64_t>(m[4])};
  r.seconds = m[5];
  return epoch.item<int64_t>();
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: the checkpoint does not fit this network ({})", path,
                            std::string(e.what_without_backtrace())));
  }
}

}  // namespace

int64_t checkpoint_epoch(const std::string& path) {
  torch::serialize::InputArchive archive;
  core::load_checked(archive, path);
  torch::Tensor epoch;
  if (!archive.try_read("epoch", epoch)) {
    throw Error(fmt::format("{}: not a training checkpoint (no epoch)", path));
  }
  return epoch.item<int64_t>();
}

namespace {

/// The cosine learning rate of `epoch`.
// NOTE: cosine at t = epoch (the first epoch at the full rate); the DARTS
// reference steps its PyTorch-0.3 scheduler first (t = epoch + 1), which
// for 600 epochs changes nothing and for a 1-epoch run trains at lr 0.
double cosine_lr(const TrainOptions& o, int64_t epoch) {
  const double t = static_cast<double>(epoch);
  return o.lr_min + (o.lr - o.lr_min) * (1 + std::cos(M_PI * t / o.epochs)) / 2;
}

/// One epoch of SGD steps; false when it stopped early (interrupted, or a
/// non-finite loss), with `result` saying which. Fills `result.train`.
bool train_epoch(search_space::NetworkImpl& net, const data::Loader& train,
                 const TrainOptions& o, torch::optim::SGD& optimizer, int64_t epoch, double lr,
                 const TrainControl& control, core::Progress& progress, TrainResult& result) {
  auto params = net.parameters();
  net.train();
  EvalResult running;
  for (int64_t i = 0; i < train.batches(); ++i) {
    if (control.should_stop && control.should_stop()) {
      result.interrupted = true;
      result.message = fmt::format("interrupted in epoch {}", epoch + 1);
      return false;
    }
    const auto b = train.batch(epoch, i);
    optimizer.zero_grad();
    auto [logits, aux] = net.forward_aux(b.x);
    auto loss = torch::nn::functional::cross_entropy(logits, b.y);
    if (aux.defined()) {
      loss = loss + o.auxiliary_weight * torch::nn::functional::cross_entropy(aux, b.y);
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      result.ok = false;
      result.message = fmt::format(
          "training loss is {} at epoch {}, step {} (learning rate {:.4g}); "
          "try a lower learning rate",
          value, epoch + 1, i + 1, lr);
      return false;
    }
    loss.backward();
    if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
    optimizer.step();
    running.loss += value * b.size();
    running.accuracy += logits.argmax(1).eq(b.y).sum().item<double>();
    running.count += b.size();
    progress.update(i + 1, fmt::format("loss {:.3f} acc {:.1f}%", running.loss / running.count,
                                       100 * running.accuracy / running.count));
  }
  running.loss /= running.count;
  running.accuracy /= running.count;
  result.train = running;
  return true;
}

}  // namespace

TrainResult train_network(
    search_space::NetworkImpl& net, const data::Loader& train,
    const data::Loader& test, const TrainOptions& o,
    const std::function<void(const nlohmann::json&)>& on_epoch,
    const TrainControl& control) {
  const auto start = std::chrono::steady_clock::now();
  auto params = net.parameters();
  torch::optim::SGD optimizer(params, torch::optim::SGDOptions(o.lr)
                                          .momentum(o.momentum)
                                          .weight_decay(o.weight_decay)
                                          .nesterov(o.nesterov));
  TrainResult result;
  int64_t first_epoch = 0;
  double seconds_before = 0;
  if (file_exists(control.checkpoint)) {
    first_epoch = load_train_checkpoint(control.checkpoint, control.fingerprint, net,
                                        optimizer, result);
    seconds_before = result.seconds;
    core::info("resuming training at epoch {}/{}", first_epoch + 1, o.epochs);
  } else if (!control.checkpoint.empty()) {
    // The state before the first epoch, so a stop inside it loses nothing.
    save_train_checkpoint(control.checkpoint, control.fingerprint, net, optimizer, 0, result);
  }
  auto elapsed = [&] { return seconds_before + core::seconds_since(start); };
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const double lr = cosine_lr(o, epoch);
    for (auto& g : optimizer.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
    }
    net.set_drop_path_prob(o.drop_path_prob * epoch / o.epochs);
    core::Progress progress(fmt::format("epoch {}/{}", epoch + 1, o.epochs), train.batches());
    if (!train_epoch(net, train, o, optimizer, epoch, lr, control, progress, result)) {
      return result;
    }
    if (!control.evaluate_last_only || epoch + 1 == o.epochs) result.test = evaluate(net, test);
    const double seconds = core::seconds_since(epoch_start);
    progress.finish(fmt::format("train loss {:.3f} acc {:.2f}% | test loss {:.3f} acc {:.2f}%",
                                result.train.loss, 100 * result.train.accuracy, result.test.loss,
                                100 * result.test.accuracy));
    if (on_epoch) {
      on_epoch({{"epoch", epoch},
                {"lr", lr},
                {"train_loss", result.train.loss},
                {"train_acc", result.train.accuracy},
                {"test_loss", result.test.loss},
                {"test_acc", result.test.accuracy},
                {"seconds", seconds}});
    }
    result.seconds = elapsed();
    if (!control.checkpoint.empty()) {
      save_train_checkpoint(control.checkpoint, control.fingerprint, net, optimizer,
                            epoch + 1, result);
    }
  }
  result.seconds = elapsed();
  return result;
}

const core::OptionTable<ScratchOptions>& ScratchEstimator::options_table() {
  static const auto table = [] {
    core::OptionTable<ScratchOptions> t;
    add_train_options(t);
    const auto size = core::in_closed(0, 4096);
    t.add("C", &ScratchOptions::C, "initial channels (0: the run's network size)", size)
        .add("layers", &ScratchOptions::layers, "cells, DARTS (0: the run's)", size)
        .add("cells_per_stage", &ScratchOptions::cells_per_stage, "cells per stage, NB201 (0: the run's)",
             size)
        .add("auxiliary", &ScratchOptions::auxiliary, "train with the auxiliary head")
        .add("split", &ScratchOptions::split,
             "\"search\": train half, validation accuracy; \"final\": whole training set, test "
             "accuracy",
             core::one_of({"search", "final"}));
    return t;
  }();
  return table;
}

ScratchEstimator::ScratchEstimator(const nlohmann::json& options)
    : opts_(options_table().parse(options, "estimator.scratch")),
      train_(opts_),
      final_(opts_.split == "final") {}

void ScratchEstimator::attach(const EstimatorContext& ctx) {
  if (ctx.data == nullptr) throw Error("the scratch estimator needs the run's data");
  ctx_ = ctx;
  if (final_) {
    auto split = data::make_final_split(*ctx.data, ctx.data_options, ctx.seed, ctx.device);
    train_loader_ = std::move(split.train);
    eval_loader_ = std::move(split.test);
  } else {
    auto split = data::make_search_split(*ctx.data, ctx.data_options, ctx.seed, ctx.device);
    train_loader_ = std::move(split.train);
    eval_loader_ = std::move(split.val);
  }
}

int64_t ScratchEstimator::passes_per_estimate() const {
  return train_loader_ ? train_.epochs * train_loader_->batches() : 0;
}

Estimate ScratchEstimator::evaluate(const search_space::Architecture& arch,
                                    const Fidelity& fidelity) {
  auto o = TrainOptions(train_);
  if (fidelity.epochs > 0) o.epochs = fidelity.epochs;
  return guarded_estimate(final_ ? "test_acc" : "val_acc", {{"epochs", o.epochs}}, [&](Estimate& e) {
    auto sizes = ctx_.network;
    auto size = [](int64_t v, int64_t fallback) { return v > 0 ? v : fallback; };
    sizes.C = size(opts_.C, sizes.C);
    sizes.layers = size(opts_.layers, sizes.layers);
    sizes.cells_per_stage = size(opts_.cells_per_stage, sizes.cells_per_stage);
    sizes.auxiliary = opts_.auxiliary;
    auto net = ctx_.space->build_network(arch, sizes);
    net->to(ctx_.device);
    TrainControl control;
    control.should_stop = [] { return core::interrupted(); };
    control.evaluate_last_only = true;
    const auto r = train_network(*net, *train_loader_, *eval_loader_, o, {}, control);
    e.ok = r.ok && !r.interrupted;
    e.interrupted = r.interrupted;
    e.message = r.message;
    e.value = e.score = r.test.accuracy;
    e.epochs = o.epochs;
    e.passes = o.epochs * train_loader_->batches();
    e.fields = {{final_ ? "test_loss" : "val_loss", r.test.loss}, {"train_acc", r.train.accuracy},
                {"train_loss", r.train.loss}};
  });
}

}  // namespace nas::estimators
