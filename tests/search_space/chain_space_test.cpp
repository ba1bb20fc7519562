#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "hardware/cost.h"
#include "search_space/chain_space.h"

namespace nas::search_space {
namespace {

std::unique_ptr<SearchSpace> space(const std::string& name, nlohmann::json options = {}) {
  SpaceRegistry r("space");
  register_builtin_spaces(r);
  return r.create(name, options);
}

std::string published(const std::string& net) {
  const char* root = std::getenv("NAS_SOURCE_DIR");
  std::ifstream in(std::string(root != nullptr ? root : ".") + "/configs/nets/" + net + ".txt");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

NetworkOptions imagenet() {
  NetworkOptions o;
  o.num_classes = 1000;
  o.input_size = 224;
  return o;
}

// The published nets of configs/nets/ as `nas show` builds them. The counts:
// torchvision's documented num_params (MobileNetV2, MNASNet-B1 1.0), the
// assertions of osmr/imgclsmob `pytorchcv/models/proxylessnas.py` _test()
// (ProxylessNAS Mobile/CPU/GPU) and the FairNAS README / a count of
// xiaomi-automl/FairNAS `models/FairNAS_{A,B,C}.py` at 1000 classes, and
// facebookresearch/mobile-vision's `fbnet_v2.fbnet("fbnet_a"|"fbnet_b"|
// "fbnet_c")` (model_zoo, PyTorch 1.13), sum(p.numel()) of the built
// model — every conv with a bias, as its arch defs say. The FBNet paper
// states 4.3 M / 4.5 M / 5.5 M: B's 4,818,216 is mobile-vision's (its B
// and C share the 1984-wide last conv; A's is 1504), not the paper's.
// Single-Path NAS's found net (the paper's Fig. 3; its code parses it from
// a search's output and hard-codes none): osmr/imgclsmob
// `pytorchcv/models/spnasnet.py` asserts 4,421,616.
TEST(ChainSpace, PublishedNetsParseRoundTripAndHaveTheReferenceCounts) {
  const auto s = space("chain_proxyless");
  for (const auto& [net, count] : std::vector<std::pair<std::string, int64_t>>{
           {"mobilenet_v2", 3504872},
           {"mnasnet_b1", 4383312},
           {"proxyless_mobile", 4080512},
           {"proxyless_cpu", 4361648},
           {"proxyless_gpu", 7119848},
           {"fairnas_a", 4651352},
           {"fairnas_b", 4506272},
           {"fairnas_c", 4397864},
           {"fbnet_a", 4321232},
           {"fbnet_b", 4818216},
           {"fbnet_c", 5592784},
           {"single_path_nas", 4421616}}) {
    SCOPED_TRACE(net);
    const auto text = published(net);
    ASSERT_FALSE(text.empty());
    const auto arch = s->parse(text);
    EXPECT_EQ(s->format(arch) + "\n", text);
    EXPECT_EQ(hardware::count_parameters(*s->build_network(arch, imagenet())), count);
  }
  // torchvision's mnasnet0_5: the same stacks at depth 0.5.
  auto half = imagenet();
  half.width_mult = 0.5;
  EXPECT_EQ(hardware::count_parameters(*s->build_network(s->parse(published("mnasnet_b1")), half)),
            2218512);
  half.width_mult = 5;
  EXPECT_THROW(s->build_network(s->parse(published("mnasnet_b1")), half), ConfigError);
}

// Multiply-adds of FBNet-A/B/C: a forward hook on every nn.Conv2d
// (out.numel() * in/groups * k * k) of mobile-vision's model_zoo nets at
// 1x3x224x224 (PyTorch 1.13); the paper states 249 M / 295 M / 375 M.
TEST(ChainSpace, FbnetMultiplyAddsMatchMobileVision) {
  for (const auto& [net, macs] : std::vector<std::pair<std::string, double>>{
           {"fbnet_a", 244452664.0}, {"fbnet_b", 291004424.0}, {"fbnet_c", 378136224.0}}) {
    SCOPED_TRACE(net);
    const auto text = published(net);
    const auto colon = text.find(':');
    std::vector<std::string> ops;
    std::stringstream in(text.substr(colon + 1, text.size() - colon - 2));
    for (std::string op; std::getline(in, op, ',');) ops.push_back(op);
    EXPECT_EQ(chain_macs(builtin_chain_tables().at(net), ops, imagenet()), macs);
  }
}

TEST(ChainSpace, ProxylessDecisionsAllowZeroOnlyOnResidualBlocks) {
  const auto s = space("chain_proxyless");
  const auto d = s->decisions();
  ASSERT_EQ(d.size(), 21u);
  EXPECT_EQ(d[0].candidates, (std::vector<std::string>{"mb3_k3", "mb6_k3", "mb3_k5", "mb6_k5",
                                                       "mb3_k7", "mb6_k7", "zero"}));
  for (size_t i = 0; i < d.size(); ++i) {
    const bool first_of_stage = i % 4 == 0;  // stages of 4, 4, 4, 4, 4, 1
    EXPECT_EQ(d[i].allows(6), !first_of_stage) << d[i].name;
    EXPECT_EQ(d[i].choices().size(), first_of_stage ? 6u : 7u);
  }
  const auto mask = logit_mask(d);
  ASSERT_TRUE(mask.defined());
  EXPECT_EQ(mask[0][6].item<double>(), kMaskedLogit);
  EXPECT_EQ(mask[1][6].item<double>(), 0.0);
  const auto f = space("chain_fairnas")->decisions();
  EXPECT_EQ(f.size(), 19u);
  EXPECT_EQ(f[0].candidates.size(), 6u);
  EXPECT_FALSE(logit_mask(f).defined());
}

TEST(ChainSpace, SampleMutateDeriveStayInTheAllowedCandidates) {
  const auto s = space("chain_proxyless");
  core::Rng rng(3);
  for (int t = 0; t < 50; ++t) {
    const auto a = s->sample(rng, true);
    EXPECT_EQ(s->parse(s->format(a)), a);
    const auto path = s->path_of(a);  // throws where a block runs a disallowed op
    const auto m = s->mutate(a, rng);
    const auto mp = s->path_of(m);
    int changed = 0;
    for (size_t i = 0; i < path.edges.size(); ++i) changed += path.edges[i].ops != mp.edges[i].ops;
    EXPECT_EQ(changed, 1);
  }
  // Weights that prefer zero everywhere: derive keeps it off blocks without a residual.
  auto w = torch::zeros({21, 7});
  w.select(1, 6).fill_(1.0);
  const auto path = s->path_of(s->derive(w));
  for (size_t i = 0; i < 21; ++i) EXPECT_EQ(path.edges[i].ops.front() == 6, i % 4 != 0) << i;
}

TEST(ChainSpace, SupernetRunsMixturesAndSinglePathsAndZeroIsTheIdentity) {
  const auto s = space("chain_proxyless");
  NetworkOptions o = s->search_defaults();
  o.width_mult = 0.35;
  o.in_channels = 1;
  o.input_size = 16;
  const auto net = s->build_supernet(o);
  const auto x = torch::randn({2, 1, 16, 16});
  auto probs = torch::softmax(torch::randn({21, 7}) + logit_mask(s->decisions()).to(torch::kFloat), 1);
  EXPECT_EQ(net->forward(x, PathSpec::weighted_all(probs)).sizes(),
            (std::vector<int64_t>{2, 10}));
  // All-zero where allowed: those blocks never run an op.
  std::vector<int64_t> ops(21, 6);
  for (size_t i = 0; i < 21; i += 4) ops[i] = 0;
  net->reset_calls();
  net->eval();
  const auto y = net->forward(x, PathSpec::single(ops));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 10}));
  for (const auto& [d, m] : net->mixed_ops()) {
    int64_t calls = 0;
    for (int64_t k = 0; k < 6; ++k) calls += m->calls()[k];
    EXPECT_EQ(calls, d % 4 == 0 ? 1 : 0) << d;
  }
  // The stand-alone network of the same architecture has the supernet's shapes.
  std::vector<std::string> names;
  for (const auto k : ops) names.push_back(s->decisions()[0].candidates[k]);
  const auto arch = s->parse("proxyless:" + fmt::format("{}", fmt::join(names, ",")));
  EXPECT_EQ(s->build_network(arch, o)->forward(x).sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(ChainSpace, BadTextNamesTheProblem) {
  const auto s = space("chain_proxyless");
  auto message = [&](const std::string& text) {
    try {
      s->parse(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("mb3_k3,mb3_k3").find("expected <table>:<op>"), std::string::npos);
  EXPECT_NE(message("nosuch:mb3_k3").find("unknown chain table 'nosuch'"), std::string::npos);
  EXPECT_NE(message("proxyless:mb3_k3").find("has 21 blocks, found 1"), std::string::npos);
  auto ops = std::vector<std::string>(21, "mb3_k3");
  ops[4] = "zero";
  EXPECT_NE(message("proxyless:" + fmt::format("{}", fmt::join(ops, ","))).find("block 4: 'zero'"),
            std::string::npos);
  ops[4] = "mb4_k9";
  EXPECT_NE(message("proxyless:" + fmt::format("{}", fmt::join(ops, ","))).find("block 4: unknown block op 'mb4_k9'"),
            std::string::npos);
  // A net of another length parses, builds, but is no path of this supernet.
  EXPECT_THROW(s->path_of(s->parse(published("fairnas_a"))), ConfigError);
}

TEST(ChainSpace, TablesAreJsonUsersCanChange) {
  for (const auto& [name, m] : builtin_chain_tables()) {
    SCOPED_TRACE(name);
    const auto j = chain_table_to_json(m);
    EXPECT_EQ(chain_table_to_json(chain_table_from_json(j, ChainMacro{}, "t")), j);
  }
  const auto s = space("chain_proxyless",
                       {{"table", {{"name", "tiny"}, {"stages", {{{"channels", 16}, {"blocks", 2}, {"stride", 2}}}}}}});
  EXPECT_EQ(s->decisions().size(), 2u);
  EXPECT_EQ(s->format(s->sample(*std::make_unique<core::Rng>(1), false)).rfind("tiny:", 0), 0u);
  auto error = [&](nlohmann::json table) {
    try {
      space("chain_proxyless", {{"table", table}});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error({{"stemm", 3}}).find("unknown option 'space.chain_proxyless.table.stemm'"),
            std::string::npos);
  EXPECT_NE(error({{"stages", {{{"channels", 16}, {"blocks", 2}, {"stride", 3}}}}})
                .find("table.stages[0].stride: expected 1 or 2, found 3"),
            std::string::npos);
  EXPECT_NE(error({{"candidates", {"mb3_k3", "zero"}}}).find("table.candidates"), std::string::npos);
}

TEST(ChainSpace, SmallInputsDownsampleEightTimes) {
  const auto m = builtin_chain_tables().at("proxyless");
  const auto small = m.for_input(32);
  EXPECT_EQ(small.stem_stride, 1);
  EXPECT_EQ(small.stages[0].stride, 1);
  EXPECT_EQ(small.stages[1].stride, 2);
  EXPECT_EQ(m.for_input(224).stem_stride, 2);
  const auto s = space("chain_fairnas");
  NetworkOptions o = s->eval_defaults();
  o.width_mult = 0.25;
  o.input_size = 32;
  const auto net = s->build_network(s->parse(published("fairnas_a")), o);
  EXPECT_EQ(net->forward(torch::randn({1, 3, 32, 32})).sizes(), (std::vector<int64_t>{1, 10}));
}

}  // namespace
}  // namespace nas::search_space
