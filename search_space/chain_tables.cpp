// The built-in chain tables and the table format (JSON) users write.
#include <fmt/format.h>

#include "core/error.h"
#include "core/option_table.h"
#include "search_space/chain.h"

namespace nas::search_space {

namespace {

/// ProxylessNAS's six MBConv candidates, in its order
/// (`search/imagenet_arch_search.py`: 3x3_MBConv3 ... 7x7_MBConv6).
const std::vector<std::string>& mbconv_candidates() {
  static const std::vector<std::string> c = {"mb3_k3", "mb6_k3", "mb3_k5",
                                             "mb6_k5", "mb3_k7", "mb6_k7"};
  return c;
}

/// The ProxylessNAS skeleton (mit-han-lab/proxylessnas `super_proxyless.py`
/// with the ImageNet search defaults): stem 32, fixed MBConv-1 3x3 -> 16,
/// stages of 4, 4, 4, 4, 4, 1 blocks at strides 2, 2, 2, 1, 2, 1, feature
/// mix 1280, BN eps 1e-3; its published nets (osmr/imgclsmob
/// `pytorchcv/models/proxylessnas.py`) change the widths.
ChainMacro proxyless_table(std::string name, int64_t stem, int64_t first, int64_t mix,
                           const std::vector<int64_t>& widths) {
  ChainMacro m;
  m.name = std::move(name);
  m.stem = stem;
  m.first_channels = first;
  m.feature_mix = mix;
  m.bn_eps = 1e-3;
  const std::vector<int64_t> blocks = {4, 4, 4, 4, 4, 1}, strides = {2, 2, 2, 1, 2, 1};
  for (size_t i = 0; i < widths.size(); ++i) m.stages.push_back({widths[i], blocks[i], strides[i]});
  m.candidates = mbconv_candidates();
  m.zero = true;
  return m;
}

/// FairNAS (xiaomi-automl/FairNAS `models/FairNAS_{A,B,C}.py`): stem 32,
/// separable conv -> 16 (= an MBConv of expansion 1), 19 MBConv blocks
/// (32 x2 s2 | 40 x4 s2 | 80 x4 s2 | 96 x4 | 192 x4 s2 | 320), 1x1 -> 1280,
/// dropout 0.2; kernel {3,5,7} x expansion {3,6}, no skip. The paper's
/// "(6!)^18" suggests the last block was fixed; the released nets have 19
/// blocks, so all 19 are searchable here.
ChainMacro fairnas_table() {
  ChainMacro m;
  m.name = "fairnas";
  m.stages = {{32, 2, 2}, {40, 4, 2}, {80, 4, 2}, {96, 4, 1}, {192, 4, 2}, {320, 1, 1}};
  m.dropout = 0.2;
  m.candidates = mbconv_candidates();
  return m;
}

/// torchvision's MobileNetV2: (t, c, n, s) = (1,16,1,1) as the fixed first
/// block, then (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2)
/// (6,320,1,1); dropout 0.2.
ChainMacro mobilenet_v2_table() {
  ChainMacro m;
  m.name = "mobilenet_v2";
  m.stages = {{24, 2, 2}, {32, 3, 2}, {64, 4, 2}, {96, 3, 1}, {160, 3, 2}, {320, 1, 1}};
  m.dropout = 0.2;
  m.candidates = mbconv_candidates();
  return m;
}

/// torchvision's MNASNet-B1 at depth 1.0 (its stacks' widths after
/// `_round_to_multiple_of`, which is `make_divisible`): ReLU, BN momentum
/// 1 - 0.9997, dropout 0.2.
ChainMacro mnasnet_b1_table() {
  ChainMacro m;
  m.name = "mnasnet_b1";
  m.activation = "relu";
  m.bn_momentum = 1 - 0.9997;
  m.dropout = 0.2;
  m.stages = {{24, 3, 2}, {40, 3, 2}, {80, 3, 2}, {96, 2, 1}, {192, 4, 2}, {320, 1, 1}};
  m.candidates = mbconv_candidates();
  return m;
}

/// FBNet's macro (Wu et al., CVPR 2019, Table 1; facebookresearch/
/// mobile-vision `fbnet_modeldef_cls_fbnet.py`): stem 3x3 stride 2 -> 16,
/// no fixed block, 22 searchable blocks (16 x1 | 24 x4 s2 | 32 x4 s2 | 64 x4
/// s2 | 112 x4 | 184 x4 s2 | 352 x1), 1x1 -> 1984, ReLU, no dropout; the
/// paper's 9 candidates (Table 2): kernel {3,5} x expansion {1,3,6}, the
/// expansion-1 ones also with 2 groups, and skip. The published nets
/// (`mix` 1504 for FBNet-A) have a bias on every conv, as mobile-vision's.
ChainMacro fbnet_table(std::string name, int64_t mix, bool conv_bias) {
  ChainMacro m;
  m.name = std::move(name);
  m.stem = 16;
  m.first_op = "";
  m.stages = {{16, 1, 1},  {24, 4, 2},  {32, 4, 2}, {64, 4, 2},
              {112, 4, 1}, {184, 4, 2}, {352, 1, 1}};
  m.feature_mix = mix;
  m.activation = "relu";
  m.conv_bias = conv_bias;
  m.candidates = {"mb1_k3", "mb1_k3_g2", "mb3_k3", "mb6_k3", "mb1_k5",
                  "mb1_k5_g2", "mb3_k5", "mb6_k5", "skip"};
  return m;
}

/// Single-Path NAS's space (dstamoulis/single-path-nas `nas-search/
/// supernet_macro.py` single_path_search): stem 32, fixed MBConv-1 3x3 ->
/// 16, 20 searchable blocks (24 | 40 | 80 x4 s2, 96 x4, 192 x4 s2), fixed
/// MBConv-6 3x3 -> 320, 1x1 -> 1280, ReLU, TF BatchNorm momentum 0.99
/// (PyTorch 0.01) and eps 1e-3, dropout 0.2; kernel {3,5} x expansion
/// {3,6}, and skipping where the block has a residual (the superkernel's
/// all-dropped channels; `zero` here).
ChainMacro spnas_table() {
  ChainMacro m;
  m.name = "spnas";
  m.stages = {{24, 4, 2}, {40, 4, 2}, {80, 4, 2}, {96, 4, 1}, {192, 4, 2}};
  m.last_op = "mb6_k3";
  m.last_channels = 320;
  m.activation = "relu";
  m.bn_momentum = 0.01;
  m.bn_eps = 1e-3;
  m.dropout = 0.2;
  m.candidates = {"mb3_k3", "mb6_k3", "mb3_k5", "mb6_k5"};
  m.zero = true;
  return m;
}

std::map<std::string, ChainMacro> build_tables() {
  std::map<std::string, ChainMacro> t;
  for (auto m : {proxyless_table("proxyless", 32, 16, 1280, {24, 40, 80, 96, 192, 320}),
                 proxyless_table("proxyless_mobile", 32, 16, 1280, {32, 40, 80, 96, 192, 320}),
                 proxyless_table("proxyless_cpu", 40, 24, 1432, {32, 48, 88, 104, 216, 360}),
                 proxyless_table("proxyless_gpu", 40, 24, 1728, {32, 56, 112, 128, 256, 432}),
                 fairnas_table(), mobilenet_v2_table(), mnasnet_b1_table(),
                 fbnet_table("fbnet", 1984, false), fbnet_table("fbnet_a", 1504, true),
                 fbnet_table("fbnet_b", 1984, true), fbnet_table("fbnet_c", 1984, true),
                 spnas_table()}) {
    t.emplace(m.name, m);
  }
  return t;
}

const core::OptionTable<ChainStage>& stage_table() {
  static const auto table = [] {
    core::OptionTable<ChainStage> t;
    t.add("channels", &ChainStage::channels, "output channels at width 1.0",
          core::in_closed(1, 4096));
    t.add("blocks", &ChainStage::blocks, "blocks in the stage", core::in_closed(1, 64));
    t.add("stride", &ChainStage::stride, "stride of the stage's first block",
          core::one_of({1, 2}));
    return t;
  }();
  return table;
}

const core::OptionTable<ChainMacro>& macro_table() {
  static const auto table = [] {
    core::OptionTable<ChainMacro> t;
    t.add("name", &ChainMacro::name, "the table's name (the prefix of its architecture text)");
    t.add("stem", &ChainMacro::stem, "stem conv 3x3 output channels", core::in_closed(1, 4096));
    t.add("stem_stride", &ChainMacro::stem_stride, "stem stride", core::one_of({1, 2}));
    t.add("first_op", &ChainMacro::first_op, "fixed first block (\"\": none)");
    t.add("first_channels", &ChainMacro::first_channels, "first block output channels",
          core::in_closed(1, 4096));
    t.add("last_op", &ChainMacro::last_op, "fixed last block (\"\": none)");
    t.add("last_channels", &ChainMacro::last_channels,
          "last block output channels (with last_op)", core::in_closed(0, 4096));
    t.add("feature_mix", &ChainMacro::feature_mix, "1x1 feature-mix channels (0: none)",
          core::in_closed(0, 16384));
    t.add("activation", &ChainMacro::activation, "activation",
          core::one_of({"relu6", "relu"}));
    t.add("conv_bias", &ChainMacro::conv_bias, "a bias on every conv (the skip projection's "
          "excepted)");
    t.add("width_mult", &ChainMacro::width_mult, "width multiplier", core::in_closed(0.05, 4));
    t.add("dropout", &ChainMacro::dropout, "dropout before the classifier",
          core::in_half_open(0, 1));
    t.add("bn_momentum", &ChainMacro::bn_momentum, "BatchNorm momentum", core::in_closed(0, 1));
    t.add("bn_eps", &ChainMacro::bn_eps, "BatchNorm eps", core::greater_than(0));
    t.add("candidates", &ChainMacro::candidates, "candidate ops of every block");
    t.add("zero", &ChainMacro::zero, "add `zero` to the candidates of residual blocks");
    return t;
  }();
  return table;
}

void check_macro(const ChainMacro& m, const std::string& where) {
  if (m.name.empty() || m.name.find_first_of(":, \t\n") != std::string::npos) {
    throw ConfigError(fmt::format(
        "{}.name: expected a non-empty name without ':', ',' or spaces, found '{}'", where,
        m.name));
  }
  if (m.stages.empty()) throw ConfigError(fmt::format("{}.stages: expected 1 or more stages", where));
  if (m.num_blocks() > 256) {
    throw ConfigError(fmt::format("{}.stages: expected at most 256 blocks, found {}", where,
                                  m.num_blocks()));
  }
  auto check_op = [&](const std::string& op, const std::string& key) {
    try {
      const auto b = parse_block_op(op);
      if (b.zero()) {
        throw ConfigError("'zero' is not listed: \"zero\": true adds it where a block has a residual");
      }
      if (key != "candidates" && !b.mbconv()) throw ConfigError("expected an MBConv op, found skip");
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}.{}: {}", where, key, e.what()));
    }
  };
  if (!m.first_op.empty()) check_op(m.first_op, "first_op");
  if (!m.last_op.empty()) {
    check_op(m.last_op, "last_op");
    if (m.last_channels < 1) {
      throw ConfigError(fmt::format("{}.last_channels: expected 1 to 4096 with last_op '{}', "
                                    "found {}",
                                    where, m.last_op, m.last_channels));
    }
  }
  for (const auto& c : m.candidates) check_op(c, "candidates");
  for (size_t i = 0; i < m.candidates.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (m.candidates[i] == m.candidates[j]) {
        throw ConfigError(fmt::format("{}.candidates: '{}' is listed twice", where,
                                      m.candidates[i]));
      }
    }
  }
}

}  // namespace

const std::map<std::string, ChainMacro>& builtin_chain_tables() {
  static const auto tables = build_tables();
  return tables;
}

nlohmann::json chain_table_to_json(const ChainMacro& m) {
  auto j = macro_table().to_json(m);
  j["stages"] = nlohmann::json::array();
  for (const auto& s : m.stages) j["stages"].push_back(stage_table().to_json(s));
  return j;
}

ChainMacro chain_table_from_json(const nlohmann::json& j, const ChainMacro& base,
                                 const std::string& where) {
  if (!j.is_object()) {
    throw ConfigError(fmt::format("{}: expected a table (a JSON object), found {}", where,
                                  core::json_type_name(j)));
  }
  auto scalars = macro_table().to_json(base);
  nlohmann::json given = j;
  given.erase("stages");
  for (auto it = given.begin(); it != given.end(); ++it) scalars[it.key()] = *it;
  // The given keys over the base's values: keys, types and ranges checked by the table.
  ChainMacro m = macro_table().parse(scalars, where);
  m.stages = base.stages;
  if (j.contains("stages")) {
    const auto& stages = j["stages"];
    if (!stages.is_array()) {
      throw ConfigError(fmt::format("{}.stages: expected a list of {{channels, blocks, stride}}, "
                                    "found {}",
                                    where, core::json_type_name(stages)));
    }
    m.stages.clear();
    for (size_t i = 0; i < stages.size(); ++i) {
      const auto at = fmt::format("{}.stages[{}]", where, i);
      if (!stages[i].is_object() || stages[i].size() != 3) {
        throw ConfigError(fmt::format("{}: expected {{\"channels\": C, \"blocks\": N, "
                                      "\"stride\": S}}, found {}",
                                      at, core::printable(stages[i].dump(), 80)));
      }
      m.stages.push_back(stage_table().parse(stages[i], at));
    }
  }
  check_macro(m, where);
  return m;
}

}  // namespace nas::search_space
