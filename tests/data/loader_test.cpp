#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "data/source.h"

namespace nas::data {
namespace {

nlohmann::json synthetic_options() {
  auto o = default_data_options();
  o["dataset"] = "synthetic";
  o["batch"] = 16;
  o["cutout"] = 4;
  return o;
}

TEST(Loader, SameSeedSameBatchesOtherSeedOther) {
  const auto data = load_data(synthetic_options());
  auto a = make_search_split(data, synthetic_options(), 1, torch::kCPU);
  auto b = make_search_split(data, synthetic_options(), 1, torch::kCPU);
  auto c = make_search_split(data, synthetic_options(), 2, torch::kCPU);
  for (int64_t i = 0; i < 3; ++i) {
    const auto x = a.train->batch(1, i), y = b.train->batch(1, i);
    EXPECT_TRUE(x.x.equal(y.x));
    EXPECT_TRUE(x.y.equal(y.y));
    EXPECT_FALSE(x.x.equal(c.train->batch(1, i).x));
  }
  // Order of calls does not matter: batches are a function of (seed, epoch, i).
  const auto late = a.train->batch(0, 2);
  EXPECT_TRUE(late.x.equal(b.train->batch(0, 2).x));
  // Epochs reshuffle.
  EXPECT_FALSE(a.train->batch(0, 0).y.equal(a.train->batch(1, 0).y));
}

TEST(Loader, DartsSplitAndSubsets) {
  auto o = synthetic_options();
  o["train_subset"] = 100;
  o["val_subset"] = 40;
  const auto data = load_data(o);
  auto split = make_search_split(data, o, 0, torch::kCPU);
  EXPECT_EQ(split.train->size(), 100);
  EXPECT_EQ(split.val->size(), 40);
  EXPECT_EQ(split.train->batches(), 7);
  EXPECT_EQ(split.train->batch(0, 6).size(), 4);
  o["train_portion"] = 1.5;
  EXPECT_THROW(make_search_split(data, o, 0, torch::kCPU), ConfigError);
}

TEST(Loader, NormalisesWithTrainingStatistics) {
  auto o = synthetic_options();
  o["augment"] = false;
  o["cutout"] = 0;
  const auto data = load_data(o);
  auto split = make_final_split(data, o, 0, torch::kCPU);
  std::vector<torch::Tensor> xs;
  for (int64_t i = 0; i < split.train->batches(); ++i) {
    xs.push_back(split.train->batch(0, i).x);
  }
  const auto all = torch::cat(xs);
  EXPECT_NEAR(all.mean().item<double>(), 0.0, 1e-3);
  EXPECT_NEAR(all.std(/*unbiased=*/false).item<double>(), 1.0, 1e-2);
}

TEST(Loader, UnknownDatasetListsValidNames) {
  auto o = synthetic_options();
  o["dataset"] = "imagenet";
  try {
    load_data(o);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown dataset 'imagenet'; valid names: cifar10, "
                 "fashion-mnist, mnist, synthetic");
  }
}

}  // namespace
}  // namespace nas::data
