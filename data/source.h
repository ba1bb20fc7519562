#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "data/dataset.h"
#include "data/loader.h"

namespace nas::data {

/// The `data` section of an experiment config, every key with its default.
/// `dataset`: fashion-mnist | mnist | cifar10 | synthetic; `dir`: "" means
/// the dataset's usual place (/usr/share/datasets/fashion-mnist from
/// Debian's dataset-fashion-mnist package; ./data/cifar-10-batches-bin).
nlohmann::json default_data_options();

/// Valid dataset names.
const std::vector<std::string>& dataset_names();

/// Loads the dataset named in resolved `options`.
DataPair load_data(const nlohmann::json& options);

/// Loaders for a search: the DARTS split of the training set (the first
/// `train_portion` trains the weights, the rest the architecture), cut to
/// `train_subset` / `val_subset` examples when those are > 0. With
/// `whole_train` (single-level strategies that train on every training
/// image, as SNAS): `train` is the whole training set and `val` the test
/// set without augmentation (monitoring only), cut the same way.
struct SearchSplit {
  std::unique_ptr<Loader> train;
  std::unique_ptr<Loader> val;
  int64_t num_classes = 0;
  int64_t channels = 0;
  int64_t input_size = 0;
};
SearchSplit make_search_split(const DataPair& data,
                              const nlohmann::json& options, uint64_t seed,
                              torch::Device device, bool whole_train = false);

/// Loaders for training from scratch: all (or `train_subset`) training
/// images, augmented; the test set, in order, without augmentation.
struct FinalSplit {
  std::unique_ptr<Loader> train;
  std::unique_ptr<Loader> test;
  int64_t num_classes = 0;
  int64_t channels = 0;
  int64_t input_size = 0;
};
FinalSplit make_final_split(const DataPair& data,
                            const nlohmann::json& options, uint64_t seed,
                            torch::Device device);

}  // namespace nas::data
