#include "search_space/graph_writer.h"

#include <map>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "search_space/darts_space.h"
#include "search_space/ops.h"

namespace nas::search_space {
namespace {

/// Counts the ops a network writes (names are the op's kind and a number).
class CountingWriter : public GraphWriter {
 public:
  std::map<std::string, int> counts;
  Value conv(const Value& x, const torch::nn::Conv2dImpl&) override { return add("conv"); }
  Value batch_norm(const Value& x, const torch::nn::BatchNorm2dImpl&) override {
    return add("bn");
  }
  Value linear(const Value& x, const torch::nn::LinearImpl&) override { return add("linear"); }
  Value relu(const Value& x) override { return add("relu"); }
  Value relu6(const Value& x) override { return add("relu6"); }
  Value pool(const Value& x, bool max, int64_t, int64_t, int64_t, bool) override {
    return add(max ? "max_pool" : "avg_pool");
  }
  Value global_avg_pool(const Value& x) override { return add("global_avg_pool"); }
  Value sum(const std::vector<Value>& xs) override { return add("sum"); }
  Value concat(const std::vector<Value>& xs) override { return add("concat"); }
  Value shift(const Value& x) override { return add("shift"); }
  Value zeros(const Value& x, int64_t) override { return add("zeros"); }
  Value channel_shuffle(const Value& x, int64_t, int64_t) override { return add("shuffle"); }

 private:
  Value add(const std::string& kind) { return kind + std::to_string(counts[kind]++); }
};

class NoMappingOp : public CandidateOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x; }
};

TEST(GraphWriter, AnOpWithoutAMappingIsNamed) {
  CountingWriter g;
  const NoMappingOp op;
  try {
    export_op(g, op, "x", "my_conv_9x9");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("op 'my_conv_9x9' has no export mapping"),
              std::string::npos)
        << e.what();
  }
}

TEST(GraphWriter, DartsV1WritesItsCellsOpByOp) {
  // DARTS_V1 in 3 cells: normal, reduce, reduce. Cell 0: two ReLU-conv-BN
  // preprocessings, 5 sep_convs (2 units of depthwise + pointwise conv: 4
  // convs each), 3 identity skips. The reduce cells: 4 max pools, 1 avg
  // pool, skips only on node 2 (stride 1: identity); cell 2's first input
  // follows a reduction, so it is a FactorizedReduce (shift, 2 convs,
  // concat) instead of a ReLU-conv-BN.
  const DartsSpace space(DartsSpace::default_options());
  const auto arch = space.parse(
      "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
      "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
      "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
      "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
      "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, "
      "5])");
  auto o = space.eval_defaults();
  o.C = 4;
  o.layers = 3;
  o.auxiliary = true;  // left out of the graph
  const auto net = space.build_network(arch, o);
  CountingWriter g;
  net->export_graph(g, "input");
  EXPECT_EQ(g.counts["max_pool"], 2 * 4);
  EXPECT_EQ(g.counts["avg_pool"], 2 * 1);
  EXPECT_EQ(g.counts["concat"], 3 + 1);  // 3 cells + cell 2's FactorizedReduce
  EXPECT_EQ(g.counts["linear"], 1);
  EXPECT_EQ(g.counts["global_avg_pool"], 1);
  EXPECT_EQ(g.counts["shift"], 1);  // one FactorizedReduce (cell 2's preprocess0)
  EXPECT_EQ(g.counts["conv"], 1 + (2 + 5 * 4) + 2 + 3);  // stem, cell 0, cell 1, cell 2
  EXPECT_EQ(g.counts["zeros"], 0);
}

}  // namespace
}  // namespace nas::search_space
