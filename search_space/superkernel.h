#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include "search_space/chain.h"

namespace nas::search_space {

/// Single-Path NAS's superkernel (Stamoulis et al., "Single-Path NAS:
/// Designing Hardware-Efficient ConvNets in less than 4 Hours", 2019;
/// dstamoulis/single-path-nas `nas-search/superkernel.py`): one MBConv
/// block at the largest kernel and expansion whose weights hold every
/// candidate of the block — the inner k x k of the depthwise kernel is the
/// k x k candidate, the first e * C expanded channels the expansion-e one.
///
/// Which candidate the block is comes from indicators: for each larger
/// kernel, ring r (the k_r x k_r square minus the k_{r-1} one) is kept when
/// ||w_ring|| > t; for each larger expansion, channel group g (channels e_{g-1}
/// C .. e_g C) is kept when ||w_group|| (of the kernel-masked weight) > t;
/// where the block may be skipped (a residual block whose candidates include
/// `zero`), the whole block when ||w of the first group|| > t. An indicator
/// is 1(x > 0) in value with the gradient of sigmoid(x) (the reference's
/// straight-through `Indicator`).
///
/// The layout of a block's indicator (and threshold) vector, S slots:
/// kernel steps (kernels - 1), expansion steps (expansions - 1), then the
/// block's own (1 where the block cannot be skipped).
struct SuperkernelLayout {
  std::vector<int64_t> kernels;     ///< ascending
  std::vector<int64_t> expansions;  ///< ascending
  /// Per column of the space: {kernel index, expansion index}; {-1, -1}
  /// for the column that skips the block; {-2, -2} for one not allowed here.
  std::vector<std::pair<int64_t, int64_t>> columns;
  bool skippable = false;

  int64_t slots() const {
    return static_cast<int64_t>(kernels.size() + expansions.size()) - 1;
  }
  /// The hard indicators of column `c` (all 1 up to its kernel and
  /// expansion, 0 beyond; the block's own 0 for the skipping column).
  std::vector<double> pattern(int64_t c) const;
};

/// The layout of a block whose candidates are `columns` (the space's
/// columns; `zero` allowed where `residual`). ConfigError naming `where`
/// unless the MBConv candidates form a full grid of kernel x expansion,
/// ungrouped, expansion above 1 (the superkernel shares the expanding 1x1
/// conv), and the only other candidate is `zero`.
SuperkernelLayout superkernel_layout(const std::vector<std::string>& columns, bool residual,
                                     const std::string& where);

/// One searchable block as a superkernel: expand 1x1 -> BN -> act ->
/// depthwise (the masked superkernel) at `stride` -> BN -> act -> project
/// 1x1 -> BN, at the largest expansion and kernel. As in the reference, a
/// dropped part is a zeroed weight: every channel still runs, and the
/// BatchNorm of a zeroed channel passes its shift on.
class SuperkernelImpl : public torch::nn::Module {
 public:
  SuperkernelImpl(int64_t c_in, int64_t c_out, int64_t stride, SuperkernelLayout layout,
                  const ChainMacro& macro);

  /// Indicators [S] from thresholds [S] and the current weights. With `keep`
  /// below 1, each indicator goes through dropout (zeroed with probability
  /// 1 - keep, else scaled by 1 / keep) before the next is computed, as
  /// the reference's warm-up does.
  torch::Tensor indicators(const torch::Tensor& thresholds, double keep) const;
  /// The hard indicators of column `c` (no gradient).
  torch::Tensor pattern(int64_t c) const;
  /// The weight of every column [K] that indicators `d` give: the product
  /// of the indicators a candidate keeps and of (1 - d) of the first one it
  /// drops — one-hot in value for 0/1 indicators, with their gradients.
  torch::Tensor selection(const torch::Tensor& d) const;
  /// The block's output (no residual; the chain adds it) with indicators
  /// `d`: one fused node (`kernels::relu_conv_bn`) whose depthwise weight
  /// is the masked superkernel.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& d);
  /// The same as plain ATen calls (what the fused node is tested against).
  torch::Tensor forward_modules(const torch::Tensor& x, const torch::Tensor& d);

  const SuperkernelLayout& layout() const { return layout_; }

 private:
  /// The depthwise weight with the kernel rings `d` drops zeroed.
  torch::Tensor kernel_weight(const torch::Tensor& d) const;
  /// `wk` with the channel groups and the block `d` drops zeroed.
  torch::Tensor channel_weight(const torch::Tensor& wk, const torch::Tensor& d) const;

  SuperkernelLayout layout_;
  ChainMacro macro_;
  int64_t stride_;
  torch::nn::Conv2d expand_{nullptr}, project_{nullptr};
  torch::nn::BatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr}, project_bn_{nullptr};
  torch::Tensor depthwise_;            ///< [mid, 1, k, k]
  std::vector<torch::Tensor> rings_;   ///< [1, 1, k, k] each
  std::vector<torch::Tensor> groups_;  ///< [mid, 1, 1, 1] each
};
using Superkernel = std::shared_ptr<SuperkernelImpl>;

}  // namespace nas::search_space
