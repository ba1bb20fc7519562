#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nas::data {

/// Images kept as uint8 [N, C, H, W] (compact; normalised per batch) and
/// labels as int64 [N] in [0, num_classes).
struct Dataset {
  std::string name;
  torch::Tensor images;
  torch::Tensor labels;
  int64_t num_classes = 0;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
};

/// A training set and a test set with the per-channel mean and standard
/// deviation of the training images (in [0, 1] units), used to normalise.
struct DataPair {
  Dataset train;
  Dataset test;
  std::vector<double> mean;
  std::vector<double> std;
};

/// Per-channel mean and std of uint8 images, in [0, 1] units.
void channel_stats(const torch::Tensor& images, std::vector<double>& mean,
                   std::vector<double>& std);

/// IDX files (MNIST format, gzip or plain): the image file (magic 0x803,
/// N×rows×cols) and the label file (magic 0x801, N, labels 0..9). Every
/// defect (missing file, wrong magic, truncated data, count mismatch, label
/// out of range, corrupt gzip) is an Error naming the file and the problem.
Dataset read_idx(const std::string& images_path,
                 const std::string& labels_path, const std::string& name);

/// Fashion-MNIST (or MNIST) from a directory holding
/// {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
DataPair load_mnist_like(const std::string& dir, const std::string& name);

/// One CIFAR-10 binary file: `records` records (10,000 in every file of the
/// binary version) of 1 label byte + 3072 pixel bytes.
Dataset read_cifar10_file(const std::string& path, int64_t records = 10000);

/// CIFAR-10 binary version: data_batch_1..5.bin and test_batch.bin in `dir`.
DataPair load_cifar10(const std::string& dir);

/// Learnable synthetic data of any shape: each class has a fixed random
/// template; an image is its class template plus noise. Deterministic in
/// `seed`.
struct SyntheticOptions {
  int64_t train_size = 512;
  int64_t test_size = 256;
  int64_t channels = 3;
  int64_t size = 16;
  int64_t classes = 10;
  double noise = 0.5;
  uint64_t seed = 0;
};
DataPair make_synthetic(const SyntheticOptions& options);

}  // namespace nas::data
