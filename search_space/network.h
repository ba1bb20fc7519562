#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/types.h>

#include "search_space/graph_writer.h"
#include "search_space/mixed_op.h"
#include "search_space/path.h"

namespace nas::search_space {

/// Bounds every space checks its sizes against (far above any published
/// setting): a typo such as --layers 100000 is an error, not an
/// out-of-memory crash.
constexpr int64_t kMaxChannels = 1024;
constexpr int64_t kMaxLayers = 200;
constexpr int64_t kMaxInputSize = 1024;
constexpr int64_t kMaxInputChannels = 64;
constexpr int64_t kMaxClasses = 100000;

/// ConfigError when a network of about `weights` parameters would not fit
/// in this machine's available memory (weights, gradients and optimizer
/// state: 16 bytes per weight); `what` names the network and its sizes.
void check_weights_fit(double weights, const std::string& what);

/// Sizes of a network built from a space. Each space reads the fields it
/// uses (DARTS: C, layers; NB201: C, cells_per_stage; the chains:
/// width_mult) and says which in its `size_defaults`.
struct NetworkOptions {
  int64_t C = 16;
  int64_t layers = 8;
  int64_t cells_per_stage = 5;
  double width_mult = 0.0;     ///< chains: every layer's width multiplier (0: the table's)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t input_size = 32;
  bool auxiliary = false;      ///< auxiliary head (stand-alone networks)
  double drop_path_prob = 0.0; ///< set per epoch by the training loop
  bool imagenet = false;       ///< DARTS ImageNet stems (224x224 input)
  bool affine = false;         ///< search-time BN affine (supernets)
  bool track_running_stats = true;
  /// Chains: one superkernel per searchable block instead of a MixedOp
  /// (Single-Path NAS; set by the strategy, not a config key).
  bool superkernel = false;
  /// DARTS supernet: an affine-free BatchNorm on every node's sum (DARTS-
  /// PRIME's CRB activation; set by the strategy, not a config key).
  bool node_bn = false;

  nlohmann::json to_json() const;
  /// Reads the known keys of `j` (others are the caller's business).
  static NetworkOptions from_json(const nlohmann::json& j);
};

/// A stand-alone network for one architecture.
class NetworkImpl : public torch::nn::Module {
 public:
  /// Logits [N, classes] and, in training mode with an auxiliary head, the
  /// auxiliary logits (undefined otherwise).
  virtual std::pair<torch::Tensor, torch::Tensor> forward_aux(
      const torch::Tensor& x) = 0;
  torch::Tensor forward(const torch::Tensor& x) { return forward_aux(x).first; }
  /// Drop-path probability for the coming epoch (linear ramp, DARTS).
  virtual void set_drop_path_prob(double p) { drop_path_prob_ = p; }
  /// Prefix of the auxiliary head's parameter names ("" if none).
  virtual std::string auxiliary_prefix() const { return ""; }
  /// Writes the eval-mode forward pass (logits; no auxiliary head, no
  /// drop-path) from input `x` to `g`. Error naming what has no mapping.
  virtual GraphWriter::Value export_graph(GraphWriter& g, const GraphWriter::Value& x) const;

 protected:
  double drop_path_prob_ = 0.0;
};
using Network = std::shared_ptr<NetworkImpl>;

/// The one supernet backend: a network whose decisions are MixedOps. It
/// knows nothing of strategies; each forward pass runs the paths in the
/// PathSpec it is given (one EdgeChoice per decision of its space).
class SupernetImpl : public torch::nn::Module {
 public:
  /// Runs the paths of `path`. A call in training mode with gradients
  /// enabled counts as one forward+backward pass (`passes`): the compute
  /// measure of `nas study`'s equal-passes budget.
  torch::Tensor forward(const torch::Tensor& x, const PathSpec& path) {
    if (is_training() && at::GradMode::is_enabled()) ++passes_;
    return forward_path(x, path);
  }
  /// Forward+backward passes so far (restored from a checkpoint by the
  /// loop with `set_passes`).
  int64_t passes() const { return passes_; }
  void set_passes(int64_t n) { passes_ = n; }
  /// Every MixedOp with the decision it implements (a decision shared by
  /// several cells has several MixedOps).
  const std::vector<std::pair<int64_t, MixedOp>>& mixed_ops() const {
    return mixed_ops_;
  }
  int64_t num_decisions() const { return num_decisions_; }
  void reset_calls() {
    for (auto& [d, m] : mixed_ops_) m->reset_calls();
  }
  /// Superkernel supernets (Single-Path NAS, `NetworkOptions::superkernel`;
  /// the others throw): the slots S of each decision's indicators; the
  /// indicators [D, S] that thresholds [D, S] give on the current weights
  /// (`SuperkernelImpl::indicators`, dropout with `keep` < 1); and the
  /// weight [D, K] of every candidate that indicators select (one-hot in
  /// value, differentiable: what cost objectives read as probabilities).
  virtual int64_t superkernel_slots() const { return 0; }
  virtual torch::Tensor superkernel_indicators(const torch::Tensor& thresholds,
                                               double keep) const;
  virtual torch::Tensor superkernel_selection(const torch::Tensor& indicators) const;

 protected:
  void add_mixed_op(int64_t decision, MixedOp op) {
    mixed_ops_.emplace_back(decision, std::move(op));
  }
  virtual torch::Tensor forward_path(const torch::Tensor& x, const PathSpec& path) = 0;
  int64_t num_decisions_ = 0;

 private:
  std::vector<std::pair<int64_t, MixedOp>> mixed_ops_;
  int64_t passes_ = 0;
};
using Supernet = std::shared_ptr<SupernetImpl>;

/// Drop-path (DARTS): zeroes whole samples with probability p and rescales
/// the rest by 1/(1-p). Identity when p == 0.
torch::Tensor drop_path(const torch::Tensor& x, double p);

}  // namespace nas::search_space
