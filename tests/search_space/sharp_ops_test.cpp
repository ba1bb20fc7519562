// sharpDARTS's op family (ahundt/sharpDARTS `cnn/operations.py`) as an
// option of the DARTS space: SharpSepConv shapes and parameter counts by
// hand, the padding-counting average pool, the primitive lists, and the
// sharpDARTS genotypes that use them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "hardware/cost.h"
#include "search_space/darts_space.h"
#include "search_space/ops.h"

namespace nas::search_space {
namespace {

// SHARP_DARTS_MAX_W of sharpDARTS's genotypes.py (its `layout='cell'`
// dropped): flood, dil_flood and choke convolutions in both cells.
constexpr const char* kSharpDartsMaxW =
    "Genotype(normal=[('sep_conv_3x3', 0), ('choke_conv_3x3', 1), ('skip_connect', 0), "
    "('dil_conv_3x3', 2), ('dil_flood_conv_3x3', 3), ('flood_conv_3x3', 0), "
    "('dil_flood_conv_3x3', 0), ('flood_conv_3x3', 3)], normal_concat=range(2, 6), "
    "reduce=[('max_pool_3x3', 0), ('skip_connect', 1), ('dil_choke_conv_3x3', 0), "
    "('dil_flood_conv_3x3', 2), ('dil_conv_3x3', 0), ('skip_connect', 3), "
    "('flood_conv_3x3', 0), ('skip_connect', 3)], reduce_concat=range(2, 6))";

/// One SharpSepConv's parameters with affine BatchNorms: depthwise k x k of
/// C, pointwise C -> M, BN(M), depthwise k x k of M, pointwise M -> C, BN(C).
int64_t sharp_sep_params(int64_t c, int64_t k, int64_t m) {
  return c * k * k + c * m + 2 * m + m * k * k + m * c + 2 * c;
}

TEST(SharpOps, ShapesAndParameterCountsByHand) {
  const int64_t c = 16;
  const struct {
    const char* name;
    int64_t params;
  } expected[] = {
      {"sep_conv_3x3", sharp_sep_params(c, 3, c)},
      {"sep_conv_5x5", sharp_sep_params(c, 5, c)},
      {"sep_conv_7x7", sharp_sep_params(c, 7, c)},
      {"dil_conv_3x3", sharp_sep_params(c, 3, c)},  // DARTS's has one unit: 432
      {"dil_conv_5x5", sharp_sep_params(c, 5, c)},
      {"flood_conv_3x3", sharp_sep_params(c, 3, 4 * c)},
      {"flood_conv_5x5", sharp_sep_params(c, 5, 4 * c)},
      {"dil_flood_conv_3x3", sharp_sep_params(c, 3, 4 * c)},
      {"choke_conv_3x3", sharp_sep_params(c, 3, 32)},
      {"dil_choke_conv_3x3", sharp_sep_params(c, 3, 32)},
      {"max_pool_3x3", 0},
      {"avg_pool_3x3", 0},
      {"none", 0},
  };
  EXPECT_EQ(sharp_sep_params(c, 3, c), 864);
  EXPECT_EQ(sharp_sep_params(c, 3, 4 * c), 2928);
  const auto x = torch::randn({2, c, 8, 8});
  for (const auto& e : expected) {
    for (int64_t stride : {1, 2}) {
      SCOPED_TRACE(std::string(e.name) + " stride " + std::to_string(stride));
      OpArgs args;
      args.c_in = args.c_out = c;
      args.stride = stride;
      auto op = sharp_ops().make(e.name, args);
      EXPECT_EQ(hardware::count_parameters(*op), e.params);
      if (op->is_zero()) continue;
      EXPECT_EQ(op->forward(x).sizes(), (std::vector<int64_t>{2, c, 8 / stride, 8 / stride}));
    }
  }
  OpArgs args;
  args.c_in = args.c_out = c;
  EXPECT_EQ(hardware::count_parameters(*darts_ops().make("dil_conv_3x3", args)), 432);
  EXPECT_FALSE(sharp_ops().contains("conv_7x1_1x7"));
}

// nn.AvgPool2d's default counts the zero padding: a corner of ones averages
// 4 of 9; DARTS's pool (count_include_pad=False) gives 1.
TEST(SharpOps, AveragePoolCountsThePadding) {
  OpArgs args;
  args.c_in = args.c_out = 1;
  const auto ones = torch::ones({1, 1, 4, 4});
  const auto sharp = sharp_ops().make("avg_pool_3x3", args)->forward(ones);
  const auto darts = darts_ops().make("avg_pool_3x3", args)->forward(ones);
  EXPECT_NEAR(sharp[0][0][0][0].item<double>(), 4.0 / 9, 1e-6);
  EXPECT_NEAR(sharp[0][0][1][1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(darts[0][0][0][0].item<double>(), 1.0, 1e-6);
}

TEST(SharpOps, PrimitiveListsAreTheSpacesColumns) {
  const auto columns = [](const nlohmann::json& o) {
    return DartsSpace(o).decisions().front().candidates;
  };
  EXPECT_EQ(columns(nlohmann::json::object()), darts_ops().order);
  EXPECT_EQ(columns({{"ops", "sharp"}}), darts_ops().order);
  EXPECT_EQ(columns({{"ops", "sharp"}, {"primitives", "sharp"}}).size(), 9u);
  const auto sharper = columns({{"ops", "sharp"}, {"primitives", "sharper"}});
  ASSERT_EQ(sharper.size(), 12u);
  EXPECT_EQ(sharper.back(), "dil_flood_conv_3x3");
  try {
    DartsSpace(nlohmann::json{{"primitives", "sharp"}});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("space.darts.primitives"), std::string::npos)
        << e.what();
  }
}

// sharpDARTS's own genotypes build and run with its ops; DARTS's ops reject
// their names.
TEST(SharpOps, SharpDartsGenotypeTrainsWithSharpOps) {
  DartsSpace sharp(nlohmann::json{{"ops", "sharp"}, {"primitives", "sharp"}});
  NetworkOptions o = sharp.eval_defaults();
  o.C = 8;
  o.layers = 3;
  o.input_size = 16;
  const auto arch = sharp.parse(kSharpDartsMaxW);
  EXPECT_EQ(sharp.format(arch), sharp.format(sharp.parse(sharp.format(arch))));
  auto net = sharp.build_network(arch, o);
  const auto y = net->forward(torch::randn({2, 3, 16, 16}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
  y.sum().backward();
  EXPECT_THROW(DartsSpace(DartsSpace::default_options()).parse(kSharpDartsMaxW), ConfigError);
  // The supernet of the 12 SHARPER_PRIMITIVES runs every op of every edge.
  DartsSpace sharper(nlohmann::json{{"ops", "sharp"}, {"primitives", "sharper"}});
  NetworkOptions s = sharper.search_defaults();
  s.C = 4;
  s.layers = 3;
  s.input_size = 8;
  auto supernet = sharper.build_supernet(s);
  const auto d = static_cast<int64_t>(sharper.decisions().size());
  const auto w = torch::full({d, 12}, 1.0 / 12);
  const auto out = supernet->forward(torch::randn({2, 3, 8, 8}), PathSpec::weighted_all(w));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 10}));
}

}  // namespace
}  // namespace nas::search_space
