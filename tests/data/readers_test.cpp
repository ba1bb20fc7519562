#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "core/error.h"
#include "data/dataset.h"

namespace nas::data {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("naskit_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

std::vector<uint8_t> be32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

std::vector<uint8_t> idx_images(uint32_t magic, uint32_t n, uint32_t rows,
                                uint32_t cols, int64_t pixels) {
  std::vector<uint8_t> out;
  for (uint32_t v : {magic, n, rows, cols}) {
    auto b = be32(v);
    out.insert(out.end(), b.begin(), b.end());
  }
  for (int64_t i = 0; i < pixels; ++i) out.push_back(uint8_t(i % 251));
  return out;
}

std::vector<uint8_t> idx_labels(uint32_t magic, uint32_t n,
                                std::vector<uint8_t> labels) {
  std::vector<uint8_t> out;
  for (uint32_t v : {magic, n}) {
    auto b = be32(v);
    out.insert(out.end(), b.begin(), b.end());
  }
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

void write_plain(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(IdxReader, ReadsGoodGzipFiles) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 3, 2, 2, 12));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 3, {0, 9, 4}));
  const auto ds = read_idx(d.file("img.gz"), d.file("lbl.gz"), "t");
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{3, 1, 2, 2}));
  EXPECT_EQ(ds.labels[1].item<int64_t>(), 9);
  EXPECT_EQ(ds.images[2][0][1][1].item<uint8_t>(), 11);
}

TEST(IdxReader, ReadsPlainFilesToo) {
  TempDir d;
  write_plain(d.file("img"), idx_images(0x803, 2, 2, 2, 8));
  write_plain(d.file("lbl"), idx_labels(0x801, 2, {1, 2}));
  EXPECT_EQ(read_idx(d.file("img"), d.file("lbl"), "t").size(), 2);
}

TEST(IdxReader, TruncatedImagesNameFileAndCounts) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 3, 2, 2, 10));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 3, {0, 1, 2}));
  const auto msg = error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); });
  EXPECT_NE(msg.find(d.file("img.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated: expected 12 bytes of pixels for 3 images of 2x2, found 10"),
            std::string::npos)
      << msg;
}

// A header claiming 0xFFFFFFFF images is a truncation error, not an
// attempt to allocate terabytes.
TEST(IdxReader, HugeClaimedCountIsTruncationNotAllocation) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 0xFFFFFFFFu, 28, 28, 100));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 3, {0, 1, 2}));
  const auto msg = error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 100"), std::string::npos) << msg;
}

TEST(IdxReader, WrongMagic) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x801, 3, 2, 2, 12));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 3, {0, 1, 2}));
  const auto msg = error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); });
  EXPECT_NE(msg.find("wrong magic number 0x00000801 (expected 0x00000803"),
            std::string::npos)
      << msg;
}

TEST(IdxReader, LabelOutOfRange) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 3, 2, 2, 12));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 3, {0, 12, 2}));
  const auto msg = error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); });
  EXPECT_NE(msg.find("label 12 of record 1 is out of range (expected 0..9)"),
            std::string::npos)
      << msg;
}

TEST(IdxReader, CountMismatchAndTruncatedHeaderAndMissingFile) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 3, 2, 2, 12));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 2, {0, 1}));
  EXPECT_NE(error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); })
                .find("2 labels, but"),
            std::string::npos);
  write_gz(d.file("short.gz"), {0, 0, 8});
  EXPECT_NE(error_of([&] { read_idx(d.file("short.gz"), d.file("lbl.gz"), "t"); })
                .find("truncated header"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_idx(d.file("nope.gz"), d.file("lbl.gz"), "t"); })
                .find("no such file"),
            std::string::npos);
}

TEST(IdxReader, CorruptGzipStream) {
  TempDir d;
  write_gz(d.file("img.gz"), idx_images(0x803, 50, 8, 8, 50 * 64));
  write_gz(d.file("lbl.gz"), idx_labels(0x801, 50, std::vector<uint8_t>(50, 1)));
  // Cut the compressed file in half: zlib reports the damage.
  const auto full = fs::file_size(d.file("img.gz"));
  fs::resize_file(d.file("img.gz"), full / 2);
  const auto msg = error_of([&] { read_idx(d.file("img.gz"), d.file("lbl.gz"), "t"); });
  EXPECT_NE(msg.find(d.file("img.gz")), std::string::npos) << msg;
  EXPECT_TRUE(msg.find("truncated") != std::string::npos ||
              msg.find("corrupt gzip") != std::string::npos)
      << msg;
}

std::vector<uint8_t> cifar_records(int64_t n, int64_t bad_label_at = -1) {
  std::vector<uint8_t> out;
  for (int64_t r = 0; r < n; ++r) {
    out.push_back(r == bad_label_at ? 10 : uint8_t(r % 10));
    for (int i = 0; i < 3072; ++i) out.push_back(uint8_t((r + i) % 256));
  }
  return out;
}

TEST(Cifar10Reader, GoodFile) {
  TempDir d;
  write_plain(d.file("b.bin"), cifar_records(10000));
  const auto ds = read_cifar10_file(d.file("b.bin"));
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{10000, 3, 32, 32}));
  EXPECT_EQ(ds.labels[13].item<int64_t>(), 3);
  EXPECT_EQ(ds.images[1][0][0][1].item<uint8_t>(), 2);
}

TEST(Cifar10Reader, TruncatedFile) {
  TempDir d;
  write_plain(d.file("b.bin"), cifar_records(100));
  const auto msg = error_of([&] { read_cifar10_file(d.file("b.bin")); });
  EXPECT_NE(msg.find("expected 30730000 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 307300 (truncated)"), std::string::npos) << msg;
}

TEST(Cifar10Reader, LabelOutOfRange) {
  TempDir d;
  write_plain(d.file("b.bin"), cifar_records(10000, 7));
  const auto msg = error_of([&] { read_cifar10_file(d.file("b.bin")); });
  EXPECT_NE(msg.find("label 10 of record 7 is out of range"), std::string::npos)
      << msg;
}

TEST(Synthetic, AnyShapeAndDeterministic) {
  SyntheticOptions o;
  o.channels = 2;
  o.size = 5;
  o.classes = 3;
  const auto a = make_synthetic(o), b = make_synthetic(o);
  EXPECT_EQ(a.train.images.sizes(), (std::vector<int64_t>{512, 2, 5, 5}));
  EXPECT_TRUE(a.train.images.equal(b.train.images));
  EXPECT_LT(a.train.labels.max().item<int64_t>(), 3);
  EXPECT_EQ(a.mean.size(), 2u);
}

}  // namespace
}  // namespace nas::data
