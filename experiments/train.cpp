#include "experiments/train.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/options.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/source.h"
#include "estimators/scratch.h"
#include "experiments/run_dir.h"
#include "hardware/cost.h"

namespace nas::experiments {

namespace {

/// `out`, or runs/train-<space>-seed<seed>.
std::string train_out(const nlohmann::json& config) {
  auto out = core::option<std::string>(config, "out");
  if (!out.empty()) return out;
  return fmt::format("runs/train-{}-seed{}", config["space"]["name"].get<std::string>(),
                     config["seed"].get<int64_t>());
}

/// The network's sizes: the config's `network` section on the data's shape.
search_space::NetworkOptions train_sizes(const nlohmann::json& network,
                                         const search_space::SearchSpace& space,
                                         const data::FinalSplit& split) {
  auto o = space.eval_defaults();
  o.C = core::option<int64_t>(network, "C");
  o.layers = core::option<int64_t>(network, "layers");
  o.cells_per_stage = core::option<int64_t>(network, "cells_per_stage");
  o.width_mult = network.value("width_mult", 0.0);
  o.auxiliary = core::option<bool>(network, "auxiliary");
  o.num_classes = split.num_classes;
  o.in_channels = split.channels;
  o.input_size = split.input_size;
  return o;
}

/// Trains with a checkpoint after every epoch and log.jsonl lines.
estimators::TrainResult train_in(const RunDir& dir, const nlohmann::json& config,
                                 search_space::NetworkImpl& net, const data::FinalSplit& split,
                                 const estimators::TrainOptions& options) {
  estimators::TrainControl control;
  control.checkpoint = dir.file("checkpoint.pt");
  control.fingerprint = config;
  control.should_stop = [] { return interrupted(); };
  return estimators::train_network(
      net, *split.train, *split.test, options,
      [&](const nlohmann::json& line) {
        auto l = line;
        l["peak_rss_mib"] = core::peak_rss_mib();
        dir.append_log(l);
      },
      control);
}

}  // namespace

nlohmann::json run_train(const nlohmann::json& config_in,
                         const Registries& registries, bool resume) {
  nlohmann::json config = config_in;
  RunDir dir(train_out(config));
  dir.check(resume);  // before any work
  dir.set_tensorboard(core::option<bool>(config["log"], "tensorboard"));
  int threads = 0;
  const auto device = setup_runtime(config, &threads);
  const auto seed = core::option<uint64_t>(config, "seed");
  const auto arch_text = core::option<std::string>(config, "arch");
  if (arch_text.empty()) {
    throw ConfigError(
        "nas train: no architecture; give --arch TEXT, --arch-file FILE or "
        "--from-run DIR");
  }
  core::seed_everything(seed);
  const auto space = registries.spaces.create(config["space"]["name"],
                                              config["space"]["options"]);
  const auto arch = space->parse(arch_text);
  auto& data_options = config["data"];
  if (data_options["cutout"].get<int64_t>() < 0) {
    data_options["cutout"] = data_options["dataset"] == "cifar10" ? 16 : 0;
  }
  const auto train_options = estimators::TrainOptions::from_json(config["train"]);
  core::info("loading {} data", data_options["dataset"].get<std::string>());
  const auto data = data::load_data(data_options);
  const auto split = data::make_final_split(data, data_options, seed, device);
  const auto sizes = train_sizes(config["network"], *space, split);
  auto net = space->build_network(arch, sizes);
  net->to(device);
  const int64_t params = hardware::count_parameters(*net, net->auxiliary_prefix());
  const int64_t params_total = hardware::count_parameters(*net);

  dir.create(resume);
  const bool resuming = resume;
  if (resuming) {
    dir.truncate_log(estimators::checkpoint_epoch(dir.file("checkpoint.pt")));
  }
  dir.start(config, resuming, device, threads, seed);
  core::info("train: {} | {} weights ({} with auxiliary head) | {} train / {} "
             "test images | {} threads on {}",
             space->format(arch), params, params_total, split.train->size(),
             split.test->size(), threads, device.str());

  const auto r = train_in(dir, config, *net, split, train_options);
  if (r.interrupted) {
    core::info("interrupted: checkpoint saved; continue with `nas train --resume {}` (the "
               "unfinished epoch restarts)",
               dir.path());
    return {{"interrupted", true}, {"run_dir", dir.path()}};
  }
  if (!r.ok) {
    throw Error(fmt::format("nas train: {}; the checkpoint of the last "
                            "finished epoch is in {}",
                            r.message, dir.path()));
  }
  torch::serialize::OutputArchive weights;
  net->save(weights);
  weights.save_to(dir.file("weights.pt"));
  nlohmann::json result = {
      {"arch", space->format(arch)},
      {"space", space->name()},
      {"test_acc", r.test.accuracy},
      {"test_loss", r.test.loss},
      {"train_acc", r.train.accuracy},
      {"train_loss", r.train.loss},
      {"params", params},
      {"params_total", params_total},
      {"epochs", train_options.epochs},
      {"train_seconds", r.seconds},
      {"seed", seed},
      {"threads", threads},
      {"device", device.str()},
      {"peak_rss_mib", core::peak_rss_mib()},
      // What rebuilds the network around weights.pt (`nas export`): its
      // sizes and the normalisation its inputs had.
      {"sizes", sizes.to_json()},
      {"input_normalization", {{"mean", data.mean}, {"std", data.std}}},
  };
  core::write_json_file(dir.file("result.json"), result);
  core::info("test accuracy {:.2f}% ({} images) -> {}", 100 * r.test.accuracy,
             r.test.count, dir.file("result.json"));
  result["run_dir"] = dir.path();
  return result;
}

}  // namespace nas::experiments
