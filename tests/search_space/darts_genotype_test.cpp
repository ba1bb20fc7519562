#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/darts_space.h"
#include "tests/search_space/genotypes.h"

namespace nas::search_space {
namespace {

DartsSpace space() { return DartsSpace(DartsSpace::default_options()); }

TEST(DartsGenotype, EveryPublishedGenotypeParsesAndRoundTrips) {
  auto s = space();
  for (const char* text :
       {testing::kDartsV1, testing::kDartsV2, testing::kNasNet,
        testing::kAmoebaNet, testing::kPdarts, testing::kGdasV1,
        testing::kPtDarts, testing::kSnasMildEdgeAll, testing::kAsha200}) {
    SCOPED_TRACE(text);
    const auto arch = s.parse(text);
    EXPECT_EQ(s.parse(s.format(arch)), arch);
  }
}

TEST(DartsGenotype, ReadsStructure) {
  auto s = space();
  const auto v2 = s.parse(testing::kDartsV2);
  ASSERT_EQ(v2.cells.size(), 2u);
  EXPECT_EQ(v2.cells[0].nodes.size(), 4u);
  EXPECT_EQ(v2.cells[0].nodes[3][1], (GenotypeEdge{"dil_conv_3x3", 2}));
  EXPECT_EQ(v2.cells[1].concat, (std::vector<int64_t>{2, 3, 4, 5}));
  // The reference's own text comes back verbatim.
  EXPECT_EQ(s.format(v2), testing::kDartsV2);

  const auto nasnet = s.parse(testing::kNasNet);
  EXPECT_EQ(nasnet.cells[0].nodes.size(), 5u);
  EXPECT_EQ(nasnet.cells[1].concat, (std::vector<int64_t>{4, 5, 6}));

  const auto snas = s.parse(testing::kSnasMildEdgeAll);
  ASSERT_EQ(snas.cells[0].nodes.size(), 4u);
  EXPECT_EQ(snas.cells[0].nodes[3].size(), 5u);  // edge-all: node 3 lists 5
  EXPECT_EQ(snas.cells[0].nodes[1][2], (GenotypeEdge{"none", 2}));

  const auto pdarts = s.parse(testing::kPdarts);
  EXPECT_EQ(pdarts.cells[0].concat, (std::vector<int64_t>{2, 3, 4, 5}));
}

void expect_rejected(const std::string& text, const std::string& fragment) {
  try {
    space().parse(text);
    FAIL() << "accepted: " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message: " << e.what();
  }
}

TEST(DartsGenotype, RejectsMalformedTextWithAPointer) {
  const std::string ok_reduce =
      ", reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])";
  expect_rejected("Genotype(normal=[('sep_conv_9x9', 0), ('skip_connect', 1)], "
                  "normal_concat=[2]" + ok_reduce,
                  "unknown op 'sep_conv_9x9'");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 4)], "
                  "normal_concat=[2]" + ok_reduce,
                  "takes input 4");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)]" +
                      ok_reduce,
                  "missing field 'normal_concat'");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], "
                  "normal_concat=[2], reduce=[('max_pool_3x3', 0)",
                  "column");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0) ('skip_connect', 1)], "
                  "normal_concat=[2]" + ok_reduce,
                  "expected ',' or ']'");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), "
                  "('skip_connect', 1)], normal_concat=[2]" + ok_reduce,
                  "has 3 pairs");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], "
                  "normal_concat=[2, 7]" + ok_reduce,
                  "normal_concat: 7");
  expect_rejected("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], "
                  "normal_concat=[2], color='red'" + ok_reduce,
                  "unknown field 'color'");
  expect_rejected("Genotyp(normal=[])", "expected 'Genotype('");
  expect_rejected("", "expected a name");
}

TEST(DartsGenotype, DeriveKeepsTopTwoEdgesByStrongestNonNoneOp) {
  auto s = space();
  auto w = torch::full({28, 8}, 1.0 / 8, torch::kFloat64);
  // Node 0 of the normal cell: edge 1 strongest via dil_conv_5x5, edge 0
  // next; a huge `none` on edge 0 must not count.
  w[0][0] = 0.9;  // none
  w[0][4] = 0.3;  // sep_conv_3x3
  w[1][7] = 0.5;  // dil_conv_5x5
  // Node 3: input 4 (node 2) is the strongest, then input 0.
  w[9 + 4][3] = 0.6;
  w[9 + 0][2] = 0.4;
  const auto arch = s.derive(w);
  EXPECT_EQ(arch.cells[0].nodes[0],
            (std::vector<GenotypeEdge>{{"dil_conv_5x5", 1}, {"sep_conv_3x3", 0}}));
  EXPECT_EQ(arch.cells[0].nodes[3],
            (std::vector<GenotypeEdge>{{"skip_connect", 4}, {"avg_pool_3x3", 0}}));
}

TEST(DartsGenotype, SampleAndMutateStayValid) {
  auto s = space();
  core::Rng rng(3);
  for (int t = 0; t < 50; ++t) {
    const auto a = s.sample(rng, false);
    const auto b = s.mutate(a, rng);
    EXPECT_NE(a, b);
    EXPECT_EQ(s.parse(s.format(b)), b);
    EXPECT_NO_THROW(s.path_of(b));
  }
}

}  // namespace
}  // namespace nas::search_space
