#include "data/dataset.h"

#include <sys/stat.h>
#include <zlib.h>

#include <array>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"

namespace nas::data {

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// Reads gzip or plain files through zlib (gzread passes plain data through).
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    if (!file_exists(path)) {
      throw Error(fmt::format("{}: no such file", path));
    }
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) throw Error(fmt::format("{}: cannot open", path));
  }
  ~GzFile() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  /// Reads up to n bytes; returns how many were read.
  int64_t read(void* dst, int64_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    int64_t total = 0;
    while (total < n) {
      const unsigned chunk =
          static_cast<unsigned>(std::min<int64_t>(n - total, 1 << 30));
      const int got = gzread(file_, out + total, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        throw Error(fmt::format("{}: corrupt gzip data ({})", path_, msg));
      }
      if (got == 0) break;
      total += got;
    }
    return total;
  }

  uint32_t read_u32(const char* what) {
    std::array<unsigned char, 4> b{};
    if (read(b.data(), 4) != 4) {
      throw Error(fmt::format("{}: truncated header: expected the {} (4 bytes)",
                              path_, what));
    }
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
           (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

  /// Reads `n` bytes into a uint8 tensor in chunks, so memory follows the
  /// data that is really there (a header may claim far more); returns the
  /// bytes found, fewer than `n` when the file ends early.
  torch::Tensor read_tensor(int64_t n, int64_t* got) {
    std::vector<torch::Tensor> chunks;
    *got = 0;
    while (*got < n) {
      auto chunk = torch::empty({std::min<int64_t>(n - *got, int64_t{64} << 20)}, torch::kUInt8);
      const int64_t k = read(chunk.data_ptr<uint8_t>(), chunk.numel());
      if (k == 0) break;
      chunks.push_back(chunk.narrow(0, 0, k));
      *got += k;
      if (k < chunk.numel()) break;
    }
    return chunks.empty() ? torch::empty({0}, torch::kUInt8) : torch::cat(chunks);
  }

  bool at_end() {
    unsigned char extra = 0;
    return read(&extra, 1) == 0;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

std::string existing(const std::string& dir, const std::string& stem) {
  for (const std::string& candidate :
       {fmt::format("{}/{}.gz", dir, stem), fmt::format("{}/{}", dir, stem)}) {
    if (file_exists(candidate)) return candidate;
  }
  throw Error(fmt::format("{}/{}[.gz]: no such file (expected the IDX files "
                          "of Fashion-MNIST/MNIST in '{}')",
                          dir, stem, dir));
}

void check_labels(const torch::Tensor& labels, int64_t classes,
                  const std::string& path) {
  if (labels.numel() == 0) return;
  const int64_t max = labels.max().item<int64_t>();
  const int64_t min = labels.min().item<int64_t>();
  if (min < 0 || max >= classes) {
    const int64_t bad = (labels.lt(0) | labels.ge(classes))
                            .nonzero()[0][0]
                            .item<int64_t>();
    throw Error(fmt::format(
        "{}: label {} of record {} is out of range (expected 0..{})", path,
        labels[bad].item<int64_t>(), bad, classes - 1));
  }
}

}  // namespace

void channel_stats(const torch::Tensor& images, std::vector<double>& mean,
                   std::vector<double>& std) {
  // Chunked sums in float64: converting all images at once would cost
  // 8 bytes per pixel (376 MB for Fashion-MNIST).
  const int64_t n = images.size(0), c = images.size(1);
  auto sum = torch::zeros({c}, torch::kFloat64);
  auto sum_sq = torch::zeros({c}, torch::kFloat64);
  constexpr int64_t kChunk = 4096;
  for (int64_t start = 0; start < n; start += kChunk) {
    const auto x = images.narrow(0, start, std::min(kChunk, n - start))
                       .to(torch::kFloat64)
                       .div_(255.0);
    sum += x.sum({0, 2, 3});
    sum_sq += x.pow(2).sum({0, 2, 3});
  }
  const double count = static_cast<double>(n * images.size(2) * images.size(3));
  const auto m = sum / count;
  const auto s = (sum_sq / count - m * m).clamp_min(0).sqrt();
  mean.assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
  std.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

Dataset read_idx(const std::string& images_path,
                 const std::string& labels_path, const std::string& name) {
  Dataset out;
  out.name = name;
  out.num_classes = 10;
  {
    GzFile f(images_path);
    const uint32_t magic = f.read_u32("magic number");
    if (magic != 0x00000803) {
      throw Error(fmt::format(
          "{}: wrong magic number 0x{:08x} (expected 0x00000803, an IDX file "
          "of uint8 images)",
          images_path, magic));
    }
    const int64_t n = f.read_u32("image count");
    const int64_t rows = f.read_u32("row count");
    const int64_t cols = f.read_u32("column count");
    if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096) {
      throw Error(fmt::format("{}: implausible image size {}x{}", images_path,
                              rows, cols));
    }
    const int64_t want = n * rows * cols;
    int64_t got = 0;
    const auto pixels = f.read_tensor(want, &got);
    if (got != want) {
      throw Error(fmt::format(
          "{}: truncated: expected {} bytes of pixels for {} images of {}x{}, "
          "found {}",
          images_path, want, n, rows, cols, got));
    }
    out.images = pixels.view({n, 1, rows, cols});
    if (!f.at_end()) {
      throw Error(fmt::format(
          "{}: unexpected data after {} images of {}x{} (corrupt header?)",
          images_path, n, rows, cols));
    }
  }
  {
    GzFile f(labels_path);
    const uint32_t magic = f.read_u32("magic number");
    if (magic != 0x00000801) {
      throw Error(fmt::format(
          "{}: wrong magic number 0x{:08x} (expected 0x00000801, an IDX file "
          "of uint8 labels)",
          labels_path, magic));
    }
    const int64_t n = f.read_u32("label count");
    if (n != out.images.size(0)) {
      throw Error(fmt::format("{}: {} labels, but {} has {} images",
                              labels_path, n, images_path,
                              out.images.size(0)));
    }
    int64_t got = 0;
    const auto raw = f.read_tensor(n, &got);
    if (got != n) {
      throw Error(fmt::format("{}: truncated: expected {} labels, found {}",
                              labels_path, n, got));
    }
    if (!f.at_end()) {
      throw Error(fmt::format("{}: unexpected data after {} labels",
                              labels_path, n));
    }
    out.labels = raw.to(torch::kInt64);
    check_labels(out.labels, out.num_classes, labels_path);
  }
  return out;
}

DataPair load_mnist_like(const std::string& dir, const std::string& name) {
  DataPair pair;
  pair.train = read_idx(existing(dir, "train-images-idx3-ubyte"),
                        existing(dir, "train-labels-idx1-ubyte"), name);
  pair.test = read_idx(existing(dir, "t10k-images-idx3-ubyte"),
                       existing(dir, "t10k-labels-idx1-ubyte"), name);
  channel_stats(pair.train.images, pair.mean, pair.std);
  return pair;
}

Dataset read_cifar10_file(const std::string& path, int64_t kRecords) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  if (!file_exists(path)) throw Error(fmt::format("{}: no such file", path));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(fmt::format("{}: cannot open", path));
  const int64_t size = in.tellg();
  if (size != kRecord * kRecords) {
    throw Error(fmt::format(
        "{}: expected {} bytes ({} records of 1 label byte + 3072 pixel "
        "bytes), found {}{}",
        path, kRecord * kRecords, kRecords, size,
        size < kRecord * kRecords ? " (truncated)" : ""));
  }
  in.seekg(0);
  auto raw = torch::empty({kRecords, kRecord}, torch::kUInt8);
  in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), size);
  if (!in) throw Error(fmt::format("{}: read failed", path));
  Dataset out;
  out.name = "cifar10";
  out.num_classes = 10;
  out.labels = raw.select(1, 0).to(torch::kInt64);
  check_labels(out.labels, out.num_classes, path);
  out.images = raw.narrow(1, 1, 3072).reshape({kRecords, 3, 32, 32}).clone();
  return out;
}

DataPair load_cifar10(const std::string& dir) {
  std::vector<torch::Tensor> images, labels;
  for (int i = 1; i <= 5; ++i) {
    Dataset part =
        read_cifar10_file(fmt::format("{}/data_batch_{}.bin", dir, i));
    images.push_back(part.images);
    labels.push_back(part.labels);
  }
  DataPair pair;
  pair.train.name = "cifar10";
  pair.train.num_classes = 10;
  pair.train.images = torch::cat(images);
  pair.train.labels = torch::cat(labels);
  pair.test = read_cifar10_file(fmt::format("{}/test_batch.bin", dir));
  channel_stats(pair.train.images, pair.mean, pair.std);
  return pair;
}

DataPair make_synthetic(const SyntheticOptions& o) {
  if (o.train_size <= 0 || o.test_size < 0 || o.channels <= 0 || o.size <= 0 ||
      o.classes < 2) {
    throw ConfigError(fmt::format(
        "synthetic data: expected positive sizes and at least 2 classes, "
        "found train {} test {} channels {} size {} classes {}",
        o.train_size, o.test_size, o.channels, o.size, o.classes));
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(core::mix_seed(o.seed, 17));
  const auto templates =
      torch::rand({o.classes, o.channels, o.size, o.size}, gen);
  auto make = [&](int64_t n) {
    Dataset d;
    d.name = "synthetic";
    d.num_classes = o.classes;
    d.labels = torch::randint(o.classes, {n}, gen, torch::kInt64);
    auto x = templates.index_select(0, d.labels) +
             o.noise * torch::randn({n, o.channels, o.size, o.size}, gen);
    d.images = x.clamp(0, 1).mul(255).round().to(torch::kUInt8);
    return d;
  };
  DataPair pair;
  pair.train = make(o.train_size);
  pair.test = make(o.test_size);
  channel_stats(pair.train.images, pair.mean, pair.std);
  return pair;
}

}  // namespace nas::data
