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

nlohmann::json TrainOptions::defaults() {
  const TrainOptions d;
  return {{"epochs", d.epochs},
          {"lr", d.lr},
          {"lr_min", d.lr_min},
          {"momentum", d.momentum},
          {"weight_decay", d.weight_decay},
          {"nesterov", d.nesterov},
          {"grad_clip", d.grad_clip},
          {"auxiliary_weight", d.auxiliary_weight},
          {"drop_path_prob", d.drop_path_prob}};
}

TrainOptions TrainOptions::from_json(const nlohmann::json& j) {
  TrainOptions o;
  o.epochs = core::option<int64_t>(j, "epochs");
  o.lr = core::option<double>(j, "lr");
  o.lr_min = core::option<double>(j, "lr_min");
  o.momentum = core::option<double>(j, "momentum");
  o.weight_decay = core::option<double>(j, "weight_decay");
  o.nesterov = core::option<bool>(j, "nesterov");
  o.grad_clip = core::option<double>(j, "grad_clip");
  o.auxiliary_weight = core::option<double>(j, "auxiliary_weight");
  o.drop_path_prob = core::option<double>(j, "drop_path_prob");
  auto check = [](const char* key, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi)) {
      throw ConfigError(fmt::format("train option '{}': expected a number in [{}, {}], found {}",
                                    key, lo, hi, v));
    }
  };
  check("epochs", static_cast<double>(o.epochs), 1, 1e6);
  check("lr", o.lr, 0, 10);
  check("lr_min", o.lr_min, 0, o.lr);
  check("momentum", o.momentum, 0, 1);
  check("weight_decay", o.weight_decay, 0, 1);
  check("grad_clip", o.grad_clip, 0, 1e9);
  check("auxiliary_weight", o.auxiliary_weight, 0, 1e3);
  check("drop_path_prob", o.drop_path_prob, 0, 0.99);
  return o;
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
  auto elapsed = [&] {
    return seconds_before + std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count();
  };
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    // NOTE: cosine at t = epoch (the first epoch at the full rate); the DARTS
    // reference steps its PyTorch-0.3 scheduler first (t = epoch + 1), which
    // for 600 epochs changes nothing and for a 1-epoch run trains at lr 0.
    const double t = static_cast<double>(epoch);
    const double lr = o.lr_min + (o.lr - o.lr_min) *
                                     (1 + std::cos(M_PI * t / o.epochs)) / 2;
    for (auto& g : optimizer.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
    }
    net.set_drop_path_prob(o.drop_path_prob * epoch / o.epochs);
    net.train();
    EvalResult running;
    core::Progress progress(fmt::format("epoch {}/{}", epoch + 1, o.epochs),
                            train.batches());
    for (int64_t i = 0; i < train.batches(); ++i) {
      if (control.should_stop && control.should_stop()) {
        result.interrupted = true;
        result.message = fmt::format("interrupted in epoch {}", epoch + 1);
        return result;
      }
      const auto b = train.batch(epoch, i);
      optimizer.zero_grad();
      auto [logits, aux] = net.forward_aux(b.x);
      auto loss = torch::nn::functional::cross_entropy(logits, b.y);
      if (aux.defined()) {
        loss = loss + o.auxiliary_weight *
                          torch::nn::functional::cross_entropy(aux, b.y);
      }
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        result.ok = false;
        result.message = fmt::format(
            "training loss is {} at epoch {}, step {} (learning rate {:.4g}); "
            "try a lower learning rate",
            value, epoch + 1, i + 1, lr);
        return result;
      }
      loss.backward();
      if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
      optimizer.step();
      running.loss += value * b.size();
      running.accuracy += logits.argmax(1).eq(b.y).sum().item<double>();
      running.count += b.size();
      progress.update(i + 1, fmt::format("loss {:.3f} acc {:.1f}%",
                                         running.loss / running.count,
                                         100 * running.accuracy / running.count));
    }
    running.loss /= running.count;
    running.accuracy /= running.count;
    result.train = running;
    if (!control.evaluate_last_only || epoch + 1 == o.epochs) result.test = evaluate(net, test);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                      epoch_start)
            .count();
    progress.finish(fmt::format("train loss {:.3f} acc {:.2f}% | test loss "
                                "{:.3f} acc {:.2f}%",
                                running.loss, 100 * running.accuracy,
                                result.test.loss, 100 * result.test.accuracy));
    if (on_epoch) {
      on_epoch({{"epoch", epoch},
                {"lr", lr},
                {"train_loss", running.loss},
                {"train_acc", running.accuracy},
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

nlohmann::json ScratchEstimator::default_options() {
  auto o = TrainOptions::defaults();
  o["epochs"] = 10;
  o["C"] = 0;  // 0: the run's `network` section
  o["layers"] = 0;
  o["cells_per_stage"] = 0;
  o["auxiliary"] = false;
  o["drop_path_prob"] = 0.0;
  o["split"] = "search";  // or "final": whole training set, test accuracy
  return o;
}

ScratchEstimator::ScratchEstimator(nlohmann::json options)
    : options_(std::move(options)), train_(TrainOptions::from_json(options_)) {
  for (const char* key : {"C", "layers", "cells_per_stage"}) {
    const auto v = core::option<int64_t>(options_, key);
    if (v < 0 || v > 4096) {
      throw ConfigError(fmt::format(
          "estimator.scratch.{}: expected 0 (the run's network size) to 4096, found {}", key, v));
    }
  }
  const auto split = core::option<std::string>(options_, "split");
  if (split != "search" && split != "final") {
    throw ConfigError(fmt::format(
        "estimator.scratch.split: expected \"search\" or \"final\", found \"{}\"", split));
  }
  final_ = split == "final";
}

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
    auto size = [&](const char* key, int64_t fallback) {
      const auto v = core::option<int64_t>(options_, key);
      return v > 0 ? v : fallback;
    };
    sizes.C = size("C", sizes.C);
    sizes.layers = size("layers", sizes.layers);
    sizes.cells_per_stage = size("cells_per_stage", sizes.cells_per_stage);
    sizes.auxiliary = core::option<bool>(options_, "auxiliary");
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
