#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
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

/// The ConfigError message of parsing `text`, or "" when it parses.
std::string parse_error(const SearchSpace& s, const std::string& text) {
  try {
    s.parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Hostile text is a clear error, not a crash (issue: fuzzed genotypes).
TEST(DartsGenotype, BoundsNestingRangesAndConcat) {
  const DartsSpace s(DartsSpace::default_options());
  const auto deep = parse_error(s, "Genotype(normal=" + std::string(40000, '[') + "))");
  EXPECT_NE(deep.find("nested deeper than"), std::string::npos) << deep;
  // range( recursed without a bound once: 30,000 of them overflowed the stack.
  std::string ranges;
  for (int i = 0; i < 30000; ++i) ranges += "range(";
  const auto nested_ranges = parse_error(s, "Genotype(normal=" + ranges + "0, 1))");
  EXPECT_NE(nested_ranges.find("nested deeper than"), std::string::npos) << nested_ranges.substr(0, 200);
  std::string mixed;
  for (int i = 0; i < 20000; ++i) mixed += i % 3 == 0 ? "range(" : (i % 3 == 1 ? "[" : "(");
  const auto nested_mixed = parse_error(s, "Genotype(normal=" + mixed);
  EXPECT_NE(nested_mixed.find("nested deeper than"), std::string::npos) << nested_mixed.substr(0, 200);
  // The deepest published form still parses: a string 4 values deep.
  EXPECT_EQ(parse_error(s, "Genotype(normal=[(('sep_conv_3x3', 0), ('sep_conv_3x3', 1)), "
                           "(('skip_connect', 0), ('dil_conv_3x3', 2))], normal_concat=range(2, 4), "
                           "reduce=[(('max_pool_3x3', 0), ('max_pool_3x3', 1)), "
                           "(('max_pool_3x3', 0), ('skip_connect', 2))], reduce_concat=range(2, 4))"),
            "");
  const std::string cell = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]";
  const auto huge = parse_error(s, "Genotype(normal=" + cell + ", normal_concat=range(2, 1e12), reduce=" +
                                       cell + ", reduce_concat=[2])");
  EXPECT_NE(huge.find("too long"), std::string::npos) << huge;
  const auto inputs = parse_error(s, "Genotype(normal=" + cell + ", normal_concat=[2], reduce=" + cell +
                                         ", reduce_concat=[0, 1])");
  EXPECT_NE(inputs.find("intermediate state"), std::string::npos) << inputs;
  // Invisible characters are escaped and long text is cut in messages.
  const auto odd = parse_error(s, "Genotype(normal=\x01" + std::string(100000, 'x') + ")");
  EXPECT_NE(odd.find("\\x01"), std::string::npos) << odd.substr(0, 200);
  EXPECT_LT(odd.size(), 400u);
}

TEST(Nb201String, RejectsWhatTheReferenceNeverWrites) {
  const Nb201Space s(nlohmann::json::object());
  EXPECT_NE(parse_error(s, "|+|+|").find("lists no input"), std::string::npos);
  EXPECT_NE(parse_error(s, "|nor_conv_3x3~0x2|+|skip_connect~0|skip_connect~1|+|none~0|none~1|none~2|")
                .find("one-digit input index"),
            std::string::npos);
  EXPECT_NE(parse_error(s, "|nor_conv_3x3~2.0|+|skip_connect~0|+|none~0|").find("one-digit"),
            std::string::npos);
  EXPECT_NE(parse_error(s, "|nor_conv_3x3~0~1|+|skip_connect~0|+|none~0|").find("one-digit"),
            std::string::npos);
  EXPECT_NE(parse_error(s, "|nor_conv_3x3~99999999999999999999|+|skip_connect~0|+|none~0|")
                .find("one-digit"),
            std::string::npos);
  // The reference's partial form (resnet) still parses.
  EXPECT_EQ(parse_error(s, "|nor_conv_3x3~0|+|nor_conv_3x3~1|+|skip_connect~0|skip_connect~2|"), "");
}

// Sizes far beyond any published setting are refused before allocating.
TEST(NetworkSizes, AreBounded) {
  const DartsSpace d(DartsSpace::default_options());
  NetworkOptions o;
  o.layers = 100000;
  EXPECT_THROW(d.build_supernet(o), ConfigError);
  o.layers = 8;
  o.C = 1000;  // within the channel bound, far beyond memory
  try {
    d.build_supernet(o);
    ADD_FAILURE() << "a supernet of C 1000 was built";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("GiB"), std::string::npos) << e.what();
  }
  const Nb201Space n(nlohmann::json::object());
  NetworkOptions p;
  p.cells_per_stage = 100000;
  EXPECT_THROW(n.build_supernet(p), ConfigError);
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
