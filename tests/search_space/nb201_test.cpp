// NAS-Bench-201: parameter counts against the reference (AutoDL-Projects,
// C=16, N=5, 10 classes, 3x32x32) and the string format.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "hardware/cost.h"
#include "search_space/nb201_space.h"

namespace nas::search_space {
namespace {

Nb201Space space() { return Nb201Space(nlohmann::json::object()); }

int64_t params(const std::string& arch) {
  auto s = space();
  auto net = s.build_network(s.parse(arch), s.eval_defaults());
  return hardware::count_parameters(*net);
}

std::string all(const std::string& op) {
  return "|" + op + "~0|+|" + op + "~0|" + op + "~1|+|" + op + "~0|" + op +
         "~1|" + op + "~2|";
}

TEST(Nb201, ParameterCountsMatchReference) {
  EXPECT_EQ(params(all("skip_connect")), 73306);
  EXPECT_EQ(params(all("nor_conv_3x3")), 1531546);
  EXPECT_EQ(params(all("nor_conv_1x1")), 241306);
  EXPECT_EQ(params("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                   "nor_conv_3x3~1|nor_conv_3x3~2|"),
            1288506);
  auto s = space();
  EXPECT_EQ(hardware::count_parameters(*s.build_supernet(s.search_defaults())), 1692826);
  EXPECT_EQ(s.decisions().size() * s.num_candidates(), 30u);
}

TEST(Nb201, StringRoundTripAndPartialForms) {
  auto s = space();
  const std::string text =
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|"
      "nor_conv_1x1~2|";
  EXPECT_EQ(s.format(s.parse(text)), text);
  // AutoDL's `resnet` structure lists only some edges; the rest are `none`.
  EXPECT_EQ(s.format(s.parse("|nor_conv_3x3~0|+|nor_conv_3x3~1|+|skip_connect~0|skip_connect~2|")),
            "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|");
  core::Rng rng(1);
  for (int i = 0; i < 20; ++i) {
    const auto a = s.sample(rng, true);
    EXPECT_EQ(s.parse(s.format(a)), a);
    EXPECT_NE(s.mutate(a, rng), a);
  }
}

void expect_rejected(const std::string& text, const std::string& fragment) {
  try {
    space().parse(text);
    FAIL() << "accepted: " << text;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Nb201, RejectsMalformedStrings) {
  expect_rejected("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_3x3'");
  expect_rejected("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 can take inputs 0..0");
  expect_rejected("|none~0|+|none~0|none~1|", "found 2 nodes, expected 3");
  expect_rejected("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "lists input 0 twice");
  expect_rejected("none~0|", "expected '|'");
  expect_rejected("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "expected op~input");
}

TEST(Nb201, DeriveIsArgmaxIncludingNone) {
  auto s = space();
  auto w = torch::zeros({6, 5});
  w[0][0] = 1;  // none wins on edge 1<-0
  w[1][3] = 1;
  w[2][1] = 1;
  w[3][4] = 1;
  w[4][2] = 1;
  w[5][3] = 1;
  EXPECT_EQ(s.format(s.derive(w)),
            "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|"
            "nor_conv_3x3~2|");
}

TEST(Nb201, SupernetRunsOnlyActiveOps) {
  auto s = space();
  auto o = s.search_defaults();
  o.C = 4;
  o.cells_per_stage = 1;
  auto net = s.build_supernet(o);
  net->reset_calls();
  const auto arch = s.parse(all("nor_conv_3x3"));
  auto y = net->forward(torch::randn({2, 3, 16, 16}), s.path_of(arch));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
  for (const auto& [d, m] : net->mixed_ops()) {
    EXPECT_EQ(m->calls()[3], 1);
    EXPECT_EQ(m->calls()[1] + m->calls()[2] + m->calls()[4], 0);
  }
}

}  // namespace
}  // namespace nas::search_space
