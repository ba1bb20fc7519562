// Parameter counts against the reference implementation (quark0/darts):
// the DARTS search network and evaluation networks of published genotypes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "hardware/cost.h"
#include "search_space/darts_space.h"
#include "tests/search_space/genotypes.h"

namespace nas::search_space {
namespace {

DartsSpace space() { return DartsSpace(DartsSpace::default_options()); }

int64_t supernet_params(int64_t C, int64_t layers, int64_t in_channels) {
  auto s = space();
  NetworkOptions o = s.search_defaults();
  o.C = C;
  o.layers = layers;
  o.in_channels = in_channels;
  return hardware::count_parameters(*s.build_supernet(o));
}

// sharpDARTS's ops (`ops: sharp`, DARTS's primitives): only dil_conv
// changes, a SharpSepConv of two units where DARTS has one, so each edge
// gains a depthwise k x k and a pointwise C x C per dil_conv (search BN has
// no parameters): 14 edges x (34 C + 2 C^2) per cell, C = 16, 16, 32 x 3,
// 64 x 3 over the 8 cells.
TEST(DartsParams, SharpSearchNetworkAddsTheSecondDilConvUnit) {
  DartsSpace s(nlohmann::json{{"ops", "sharp"}});
  NetworkOptions o = s.search_defaults();
  o.in_channels = 3;
  int64_t extra = 0;
  for (int64_t c : {16, 16, 32, 32, 32, 64, 64, 64}) extra += 14 * (34 * c + 2 * c * c);
  EXPECT_EQ(hardware::count_parameters(*s.build_supernet(o)), 1930618 + extra);
  EXPECT_EQ(extra, 596736);
}

TEST(DartsParams, SearchNetworkMatchesReference) {
  EXPECT_EQ(supernet_params(16, 8, 3), 1930618);
  EXPECT_EQ(supernet_params(16, 8, 1), 1929754);
  EXPECT_EQ(supernet_params(8, 5, 1), 393778);
  EXPECT_EQ(space().decisions().size() * space().num_candidates(), 224u);
}

std::pair<int64_t, int64_t> eval_params(const char* genotype, bool imagenet = false) {
  auto s = space();
  NetworkOptions o = s.eval_defaults();
  if (imagenet) {
    o.C = 48;
    o.layers = 14;
    o.num_classes = 1000;
    o.input_size = 224;
    o.imagenet = true;
  }
  auto net = s.build_network(s.parse(genotype), o);
  return {hardware::count_parameters(*net, net->auxiliary_prefix()),
          hardware::count_parameters(*net)};
}

TEST(DartsParams, EvaluationNetworksMatchReference) {
  const auto v2 = eval_params(testing::kDartsV2);
  EXPECT_EQ(v2.first, 3349342);
  EXPECT_EQ(v2.second, 3825768);
  EXPECT_EQ(eval_params(testing::kDartsV1).first, 3169414);
  EXPECT_EQ(eval_params(testing::kNasNet).first, 3830950);
  EXPECT_EQ(eval_params(testing::kAmoebaNet).first, 3145078);
}

TEST(DartsParams, ImageNetVariantMatchesReference) {
  EXPECT_EQ(eval_params(testing::kDartsV2, /*imagenet=*/true).first, 4718752);
}

TEST(DartsParams, EvaluationNetworkRunsOnAnyInputSize) {
  auto s = space();
  NetworkOptions o = s.eval_defaults();
  o.C = 8;
  o.layers = 5;
  o.in_channels = 1;
  o.input_size = 28;
  auto net = s.build_network(s.parse(testing::kDartsV2), o);
  net->train();
  net->set_drop_path_prob(0.2);
  auto [logits, aux] = net->forward_aux(torch::randn({2, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 10}));
  ASSERT_TRUE(aux.defined());
  EXPECT_EQ(aux.sizes(), (std::vector<int64_t>{2, 10}));
}

}  // namespace
}  // namespace nas::search_space
