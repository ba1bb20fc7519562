#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "search_space/network.h"
#include "search_space/ops.h"

namespace nas::search_space {

/// Mobile chain spaces (MobileNetV2-style chains of inverted-residual
/// blocks, the spaces of ProxylessNAS, FairNAS, FBNet, MnasNet): the macro
/// table, the MBConv block and the stand-alone network. A variant is data —
/// one ChainMacro — not code.

/// One stage: `blocks` blocks of `channels` outputs, the first of stride
/// `stride`.
struct ChainStage {
  int64_t channels = 0;
  int64_t blocks = 0;
  int64_t stride = 1;
};

/// The macro table of a chain: stem (conv 3x3 stride `stem_stride` ->
/// `stem` channels, BN, activation), an optional fixed first block
/// (`first_op` -> `first_channels`), the searchable stages, a 1x1
/// feature-mix layer (-> `feature_mix`; 0: none), global pooling, dropout,
/// classifier. Channels are the width-1.0 values; `width_mult` scales them
/// with the reference's rounding (`make_divisible(c * w, 8)`; the feature
/// mix only grows, as in torchvision and ProxylessNAS).
struct ChainMacro {
  std::string name;
  int64_t stem = 32;
  int64_t stem_stride = 2;
  std::string first_op = "mb1_k3";  ///< "" : no fixed first block
  int64_t first_channels = 16;
  std::string last_op;  ///< "" : no fixed last block
  int64_t last_channels = 0;
  std::vector<ChainStage> stages;
  int64_t feature_mix = 1280;
  std::string activation = "relu6";  ///< "relu6" | "relu"
  /// Every conv (stem, blocks, feature mix) with a bias (mobile-vision's
  /// FBNet-A/B/C definitions); the skip projection never has one.
  bool conv_bias = false;
  double width_mult = 1.0;
  double dropout = 0.0;
  double bn_momentum = 0.1;
  double bn_eps = 1e-5;
  /// The candidate ops of every searchable block (a search space's
  /// columns), and whether `zero` is added where the block has a residual
  /// (ProxylessNAS: stride 1 and unchanged width).
  std::vector<std::string> candidates;
  bool zero = false;

  /// Searchable blocks (the sum of the stages' blocks): the decisions.
  int64_t num_blocks() const;
  /// Output channels and stride of searchable block `i` (width applied).
  int64_t block_channels(int64_t i) const;
  int64_t block_stride(int64_t i) const;
  /// Channels of the stem and of the feature mix (width applied; 0: no
  /// feature mix).
  int64_t stem_channels() const;
  int64_t mix_channels() const;
  /// Channels entering searchable block 0 (width applied).
  int64_t first_out() const;
  /// Channels leaving the chain into the feature mix: the fixed last
  /// block's, else the last searchable block's (width applied).
  int64_t last_out() const;
  /// Channels entering searchable block `i` (width applied).
  int64_t block_in(int64_t i) const;
  /// Whether searchable block `i` adds its input back (stride 1, unchanged
  /// width): the blocks where `zero` may stand.
  bool residual(int64_t i) const;
  /// The table for a small input (`input_size` <= 64: CIFAR-10,
  /// Fashion-MNIST): the stem and the first stride-2 stage at stride 1, so
  /// the chain downsamples 8x instead of 32x (kuangliu/pytorch-cifar's
  /// MobileNetV2 adaptation). Strides only: residuals and weights are the
  /// table's. The table itself otherwise.
  ChainMacro for_input(int64_t input_size) const;
};

/// The table format (`nas list spaces`, a space's `table`/`file`): the
/// ChainMacro's fields by name, `stages` a list of {channels, blocks,
/// stride}. `to_json(from_json(j)) == j` for complete tables.
nlohmann::json chain_table_to_json(const ChainMacro& m);
/// `j`'s keys over `base`'s; ConfigError naming `where.key` for an unknown
/// key, a wrong type or a value out of range.
ChainMacro chain_table_from_json(const nlohmann::json& j, const ChainMacro& base,
                                 const std::string& where);

/// One line of the table: "stem 32/2, first mb1_k3 16, stages 24x4/2
/// 40x4/2 ..., mix 1280, relu6" (channels x blocks / stride).
std::string chain_table_summary(const ChainMacro& m);

/// The built-in tables by name: the search spaces' (proxyless, fairnas,
/// fbnet) and the published networks' (mobilenet_v2, mnasnet_b1,
/// proxyless_mobile, proxyless_cpu, proxyless_gpu, fbnet_a, fbnet_b,
/// fbnet_c, and Single-Path NAS's spnas), as their reference code defines them.
const std::map<std::string, ChainMacro>& builtin_chain_tables();

/// The reference's channel rounding (ProxylessNAS / torchvision
/// `_make_divisible`): the nearest multiple of `divisor`, at least
/// `divisor`, and never below 90% of `v`.
int64_t make_divisible(double v, int64_t divisor = 8);

/// A block op by name: "mb{e}_k{k}" (MBConv, expansion e, depthwise kernel
/// k), "mb{e}_k{k}_g{g}" (FBNet's group variant: both 1x1 convs in g
/// groups, a channel shuffle before the depthwise conv), "zero" (the block
/// is skipped: identity where the block has a residual) and "skip" (FBNet:
/// the identity where the block has a residual, else a 1x1 conv -> BN ->
/// activation at the block's stride and width).
struct BlockOp {
  int64_t expansion = 0;  ///< 0: zero or skip
  int64_t kernel = 0;
  int64_t groups = 1;
  bool skip = false;
  bool zero() const { return expansion == 0 && !skip; }
  bool mbconv() const { return expansion > 0; }
};
/// ConfigError naming the op and the valid forms otherwise.
BlockOp parse_block_op(const std::string& op);

/// Multiply-adds of a block op's convolutions on an h x h input (MBConv:
/// the expansion, the depthwise conv at `stride`, the projection, the 1x1
/// convs divided by their groups; skip: its projection, if any; BatchNorm
/// and activations not counted, as torchvision's and the papers' FLOPs do
/// not).
double mbconv_macs(const BlockOp& b, int64_t c_in, int64_t c_out, int64_t h, int64_t stride);

/// Multiply-adds of the whole stand-alone chain network (`m` at its width,
/// adapted to the input as the network is) for one image: stem, first
/// block, blocks, feature mix and classifier; torchvision's MobileNetV2 1.0
/// at 224x224 counts 300,774,272 this way.
double chain_macs(const ChainMacro& m, const std::vector<std::string>& ops,
                  const NetworkOptions& options);

/// The chain's layers: a conv without bias, padding kernel / 2; a
/// BatchNorm with the table's momentum and eps; the table's activation.
torch::nn::Conv2d chain_conv(int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride);
torch::nn::BatchNorm2d chain_bn(int64_t channels, const ChainMacro& m);
torch::Tensor chain_act(const torch::Tensor& x, const ChainMacro& m);

/// The inverted-residual conv of ProxylessNAS's MBInvertedConvLayer and
/// torchvision's InvertedResidual: expand 1x1 -> BN -> act (left out when
/// e = 1) -> depthwise k x k stride s -> BN -> act -> project 1x1 -> BN.
/// No residual here: the block adds it (`ChainBlock`).
class MBConvImpl : public CandidateOpImpl {
 public:
  MBConvImpl(int64_t c_in, int64_t c_out, const BlockOp& op, int64_t stride,
             const ChainMacro& macro);
  /// The block as one fused node (`kernels::relu_conv_bn`: naskit's
  /// depthwise and 1x1 kernels, three activation tensors kept instead of
  /// ten): what the supernet, the stand-alone network and the profiler run.
  /// Grouped 1x1 convs or conv biases (FBNet's) run as module calls.
  torch::Tensor forward(const torch::Tensor& x) override;
  /// `forward(x) * w` with `w` folded into the last BatchNorm.
  torch::Tensor forward_scaled(const torch::Tensor& x, const torch::Tensor& w) override;
  /// The same block as plain module calls (the reference the fused node is
  /// tested against).
  torch::Tensor forward_modules(const torch::Tensor& x);
  bool folds_weight() const override { return fused_; }
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override;

 private:
  torch::nn::Conv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};
  torch::nn::BatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr}, project_bn_{nullptr};
  int64_t kernel_, stride_, groups_;
  bool relu6_, fused_;
};

/// FBNet's `skip` where the block changes width or stride
/// (mobile-vision's `Identity`): 1x1 conv at the stride (no bias) -> BN ->
/// activation.
class SkipProjectionImpl : public CandidateOpImpl {
 public:
  SkipProjectionImpl(int64_t c_in, int64_t c_out, int64_t stride, const ChainMacro& macro);
  torch::Tensor forward(const torch::Tensor& x) override;
  GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const override;

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool relu6_;
};

/// The op of a searchable block as the block computes it: MBConv; skip's
/// projection where the block changes width or stride; null where nothing
/// runs — zero, and skip on a block that keeps its shape (the identity: the
/// block's residual adds the input back, or the block passes it on).
CandidateOp make_block_op(const BlockOp& op, int64_t c_in, int64_t c_out, int64_t stride,
                          const ChainMacro& macro);

/// The stand-alone network of a chain: `ops` names each searchable block's
/// op in order (ConfigError when the count differs, an op is unknown, a
/// `zero` stands where the block has no residual — stride 2 or a change of
/// width — or groups do not divide a 1x1 conv's channels).
Network build_chain_network(const ChainMacro& macro, const std::vector<std::string>& ops,
                            const NetworkOptions& options);

/// The chain's supernet: on every searchable block a MixedOp of `family`
/// (the table's candidates, `zero` included where the table adds it); a
/// block with a residual adds its input back.
Supernet build_chain_supernet(const ChainMacro& macro, const OpFamily& family,
                              const NetworkOptions& options);

struct SuperkernelLayout;
/// The chain's Single-Path NAS supernet: on every searchable block one
/// superkernel of `layouts[i]` (SuperkernelImpl); a block with a residual
/// adds its input back.
Supernet build_superkernel_supernet(const ChainMacro& macro,
                                    const std::vector<SuperkernelLayout>& layouts,
                                    const NetworkOptions& options);

}  // namespace nas::search_space
