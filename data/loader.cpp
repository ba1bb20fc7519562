#include "data/loader.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"

namespace nas::data {

Loader::Loader(std::shared_ptr<const Dataset> data, torch::Tensor indices,
               int64_t batch_size, bool shuffle, Augment augment,
               std::vector<double> mean, std::vector<double> std,
               uint64_t seed, torch::Device device)
    : data_(std::move(data)),
      indices_(indices.to(torch::kInt64).contiguous()),
      batch_size_(batch_size),
      shuffle_(shuffle),
      augment_(augment),
      seed_(seed),
      device_(device) {
  if (batch_size_ <= 0) {
    throw ConfigError(
        fmt::format("batch size: expected a positive number, found {}",
                    batch_size_));
  }
  if (size() == 0) throw ConfigError("a data split is empty");
  const int64_t c = data_->channels();
  if (static_cast<int64_t>(mean.size()) != c ||
      static_cast<int64_t>(std.size()) != c) {
    throw Error(fmt::format("normalisation has {} values for {} channels",
                            mean.size(), c));
  }
  mean_ = torch::tensor(mean, torch::kFloat32).view({1, c, 1, 1});
  std_ = torch::tensor(std, torch::kFloat32).view({1, c, 1, 1});
}

const torch::Tensor& Loader::order(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    if (shuffle_) {
      core::Rng rng(core::mix_seed(seed_, static_cast<uint64_t>(epoch)));
      const auto perm = rng.permutation(size());
      cached_order_ = indices_.index_select(
          0, torch::tensor(perm, torch::kInt64));
    } else {
      cached_order_ = indices_;
    }
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

Batch Loader::batch(int64_t epoch, int64_t index) const {
  TORCH_CHECK(index >= 0 && index < batches(), "batch index out of range");
  const int64_t start = index * batch_size_;
  const int64_t n = std::min(batch_size_, size() - start);
  const auto idx = order(epoch).narrow(0, start, n);
  auto x = data_->images.index_select(0, idx).to(torch::kFloat32).div_(255.0);
  const int64_t h = x.size(2), w = x.size(3);
  core::Rng rng(core::mix_seed(core::mix_seed(seed_, 1000003 + epoch), index));
  if (augment_.crop && augment_.padding > 0) {
    const int64_t p = augment_.padding;
    const auto padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0);
    auto out = torch::empty_like(x);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t dy = rng.uniform_int(2 * p + 1);
      const int64_t dx = rng.uniform_int(2 * p + 1);
      out[i].copy_(padded[i].narrow(1, dy, h).narrow(2, dx, w));
    }
    x = out;
  }
  if (augment_.flip) {
    for (int64_t i = 0; i < n; ++i) {
      if (rng.bernoulli(0.5)) x[i] = x[i].flip({2});
    }
  }
  x = (x - mean_) / std_;
  if (augment_.cutout > 0) {
    const int64_t half = augment_.cutout / 2;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t cy = rng.uniform_int(h), cx = rng.uniform_int(w);
      const int64_t y0 = std::max<int64_t>(cy - half, 0);
      const int64_t y1 = std::min<int64_t>(cy + half, h);
      const int64_t x0 = std::max<int64_t>(cx - half, 0);
      const int64_t x1 = std::min<int64_t>(cx + half, w);
      x[i].narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).zero_();
    }
  }
  Batch b;
  b.x = x.to(device_);
  b.y = data_->labels.index_select(0, idx).to(device_);
  return b;
}

}  // namespace nas::data
