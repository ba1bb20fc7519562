#include "data/source.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/options.h"
#include "core/rng.h"

namespace nas::data {

nlohmann::json default_data_options() {
  return {
      {"dataset", "fashion-mnist"},
      {"dir", ""},
      {"train_portion", 0.5},
      {"train_subset", 0},
      {"val_subset", 0},
      {"test_subset", 0},
      {"batch", 64},
      {"eval_batch", 256},
      {"augment", true},
      {"cutout", 0},
      {"synthetic",
       {{"train_size", 512},
        {"test_size", 256},
        {"channels", 3},
        {"size", 16},
        {"classes", 10},
        {"noise", 0.5}}},
  };
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"cifar10", "fashion-mnist",
                                                 "mnist", "synthetic"};
  return names;
}

DataPair load_data(const nlohmann::json& o) {
  const auto name = core::option<std::string>(o, "dataset");
  auto dir = core::option<std::string>(o, "dir");
  if (name == "fashion-mnist" || name == "mnist") {
    if (dir.empty()) {
      if (name == "mnist") {
        throw ConfigError(
            "dataset mnist: give --data-dir (a directory with the four MNIST "
            "IDX files); Debian ships only Fashion-MNIST");
      }
      dir = "/usr/share/datasets/fashion-mnist";
    }
    return load_mnist_like(dir, name);
  }
  if (name == "cifar10") {
    if (dir.empty()) dir = "data/cifar-10-batches-bin";
    return load_cifar10(dir);
  }
  if (name == "synthetic") {
    const auto& s = o.at("synthetic");
    SyntheticOptions so;
    so.train_size = core::option<int64_t>(s, "train_size");
    so.test_size = core::option<int64_t>(s, "test_size");
    so.channels = core::option<int64_t>(s, "channels");
    so.size = core::option<int64_t>(s, "size");
    so.classes = core::option<int64_t>(s, "classes");
    so.noise = core::option<double>(s, "noise");
    so.seed = 0;  // the data are fixed; the run's seed shuffles them
    return make_synthetic(so);
  }
  throw ConfigError(fmt::format("unknown dataset '{}'; valid names: {}", name,
                                fmt::join(dataset_names(), ", ")));
}

namespace {

Augment train_augment(const DataPair& data, const nlohmann::json& o) {
  Augment a;
  if (core::option<bool>(o, "augment")) {
    a.crop = true;
    a.flip = true;
    // DARTS pads CIFAR's 32x32 by 4; keep the same share for other sizes.
    a.padding = std::max<int64_t>(1, data.train.height() / 8);
  }
  a.cutout = core::option<int64_t>(o, "cutout");
  return a;
}

int64_t checked_subset(const nlohmann::json& o, const char* key) {
  const auto n = core::option<int64_t>(o, key);
  if (n < 0) {
    throw ConfigError(fmt::format("{}: expected 0 (all) or more, found {}",
                                  key, n));
  }
  return n;
}

}  // namespace

SearchSplit make_search_split(const DataPair& data, const nlohmann::json& o,
                              uint64_t seed, torch::Device device, bool whole_train) {
  const double portion = core::option<double>(o, "train_portion");
  if (!(portion > 0.0 && portion < 1.0)) {
    throw ConfigError(fmt::format(
        "train_portion: expected a number in (0, 1), found {}", portion));
  }
  auto train_set = std::make_shared<const Dataset>(data.train);
  const auto batch_size = core::option<int64_t>(o, "batch");
  if (whole_train) {
    auto test_set = std::make_shared<const Dataset>(data.test);
    int64_t n_train = train_set->size(), n_val = test_set->size();
    if (auto s = checked_subset(o, "train_subset"); s > 0) n_train = std::min(n_train, s);
    if (auto s = checked_subset(o, "val_subset"); s > 0) n_val = std::min(n_val, s);
    SearchSplit out;
    out.train = std::make_unique<Loader>(
        train_set, torch::arange(0, n_train, torch::kInt64), batch_size, true,
        train_augment(data, o), data.mean, data.std, core::mix_seed(seed, 1), device);
    out.val = std::make_unique<Loader>(
        test_set, torch::arange(0, n_val, torch::kInt64), batch_size, true, Augment{},
        data.mean, data.std, core::mix_seed(seed, 2), device);
    out.num_classes = train_set->num_classes;
    out.channels = train_set->channels();
    out.input_size = train_set->height();
    return out;
  }
  const int64_t n = train_set->size();
  const int64_t split = static_cast<int64_t>(portion * n);
  int64_t n_train = split, n_val = n - split;
  if (auto s = checked_subset(o, "train_subset"); s > 0) {
    n_train = std::min(n_train, s);
  }
  if (auto s = checked_subset(o, "val_subset"); s > 0) n_val = std::min(n_val, s);
  const auto batch = core::option<int64_t>(o, "batch");
  const Augment augment = train_augment(data, o);
  SearchSplit out;
  // NOTE: as in the DARTS reference code, both halves use the training
  // transforms; the split is by index, without shuffling first.
  out.train = std::make_unique<Loader>(
      train_set, torch::arange(0, n_train, torch::kInt64), batch, true,
      augment, data.mean, data.std, core::mix_seed(seed, 1), device);
  out.val = std::make_unique<Loader>(
      train_set, torch::arange(split, split + n_val, torch::kInt64), batch,
      true, augment, data.mean, data.std, core::mix_seed(seed, 2), device);
  out.num_classes = train_set->num_classes;
  out.channels = train_set->channels();
  out.input_size = train_set->height();
  return out;
}

FinalSplit make_final_split(const DataPair& data, const nlohmann::json& o,
                            uint64_t seed, torch::Device device) {
  auto train_set = std::make_shared<const Dataset>(data.train);
  auto test_set = std::make_shared<const Dataset>(data.test);
  int64_t n_train = train_set->size(), n_test = test_set->size();
  if (auto s = checked_subset(o, "train_subset"); s > 0) {
    n_train = std::min(n_train, s);
  }
  if (auto s = checked_subset(o, "test_subset"); s > 0) {
    n_test = std::min(n_test, s);
  }
  FinalSplit out;
  out.train = std::make_unique<Loader>(
      train_set, torch::arange(0, n_train, torch::kInt64),
      core::option<int64_t>(o, "batch"), true, train_augment(data, o),
      data.mean, data.std, core::mix_seed(seed, 3), device);
  out.test = std::make_unique<Loader>(
      test_set, torch::arange(0, n_test, torch::kInt64),
      core::option<int64_t>(o, "eval_batch"), false, Augment{}, data.mean,
      data.std, 0, device);
  out.num_classes = train_set->num_classes;
  out.channels = train_set->channels();
  out.input_size = train_set->height();
  return out;
}

}  // namespace nas::data
