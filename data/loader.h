#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "core/batch.h"
#include "data/dataset.h"

namespace nas::data {

/// Training-time augmentation, as the DARTS reference code does it:
/// random crop after zero padding, horizontal flip, and Cutout (DeVries &
/// Taylor 2017: one square hole of side `cutout`, centre uniform over the
/// image, clipped at the border; 0 disables it).
struct Augment {
  bool crop = false;
  int64_t padding = 4;
  bool flip = false;
  int64_t cutout = 0;
};

/// Batches of a subset of a dataset. Stateless: batch `index` of `epoch` is
/// a pure function of (seed, epoch, index) — the order is a seeded
/// permutation per epoch and every augmentation draw comes from a stream
/// seeded by (seed, epoch, index). So the same seed gives the same batches
/// whatever ran before, and a resumed run sees the batches it would have.
class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> data, torch::Tensor indices,
         int64_t batch_size, bool shuffle, Augment augment,
         std::vector<double> mean, std::vector<double> std, uint64_t seed,
         torch::Device device);

  int64_t size() const { return indices_.size(0); }
  int64_t batch_size() const { return batch_size_; }
  /// Batches per epoch (the last one may be smaller).
  int64_t batches() const { return (size() + batch_size_ - 1) / batch_size_; }
  Batch batch(int64_t epoch, int64_t index) const;
  /// The `step`-th batch of an endless sequence of epochs.
  Batch cycling(int64_t step) const {
    return batch(step / batches(), step % batches());
  }
  const Dataset& dataset() const { return *data_; }

 private:
  const torch::Tensor& order(int64_t epoch) const;

  std::shared_ptr<const Dataset> data_;
  torch::Tensor indices_;
  int64_t batch_size_;
  bool shuffle_;
  Augment augment_;
  torch::Tensor mean_, std_;  // [1, C, 1, 1] float
  uint64_t seed_;
  torch::Device device_;
  mutable int64_t cached_epoch_ = -1;
  mutable torch::Tensor cached_order_;
};

}  // namespace nas::data
