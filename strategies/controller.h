#pragma once

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "core/option_table.h"
#include "core/rng.h"
#include "search_space/search_space.h"

namespace nas::strategies {

/// The sampling policy of ENAS and REINFORCE.
/// - `policy` "lstm": ENAS's controller (Pham et al., ICML 2018). An LSTM
///   (`lstm_layers` x `lstm_size`) runs one step per choice, fed a learned
///   start vector, then the embedding of the op it chose. Op logits are
///   a linear head of its output, divided by `temperature` and squashed to
///   c * tanh(.) with c = tanh_constant / op_tanh_reduce (0: no squash).
///   Where the space's nodes choose inputs (SearchSpace::node_inputs, DARTS
///   "top2") each node samples `keep` inputs by ENAS's attention over the
///   earlier states' anchors (micro_controller.py: tanh(W1 h_j + W2 h)
///   v, squashed with tanh_constant), then one op per input; the node's
///   anchor is the LSTM output after its last op, the cell inputs' anchors
///   are zero. Every parameter starts uniform in +-init_range, as the
///   reference's initializer (both codes: 0.1).
/// - `policy` "table": AutoDL's REINFORCE policy: one free logit per (decision,
///   op), softmax, starting at 1e-3 * randn (and the same input sampling by a
///   table of input logits per node).
/// Defaults are AutoDL-Projects' NAS-Bench-201 ENAS (search_model_enas_utils.py):
/// 2 x 32, temperature 5, tanh 2.5. The DARTS-space recipe carries
/// melodyguan/enas's micro search (1 x 64, no temperature, tanh 1.10, op
/// tanh reduce 2.5).
/// Deviations, both codes: a node's second input is drawn from the inputs
/// its first left (the references may draw the same twice, which a DARTS
/// genotype cannot hold); `none` is never drawn where nodes choose inputs
/// (DARTS derives without it); micro_controller.py's fixed op-logit biases
/// (tied to ENAS's own five ops) are left out.
struct ControllerOptions {
  std::string policy = "lstm";
  int64_t lstm_size = 32;
  int64_t lstm_layers = 2;
  double temperature = 5.0;
  double tanh_constant = 2.5;
  double op_tanh_reduce = 1.0;
  double init_range = 0.1;
};

template <class O>
void add_controller_options(core::OptionTable<O>& t) {
  t.add("policy", &ControllerOptions::policy,
        "lstm: ENAS's LSTM controller; table: one logit per (decision, op)",
        core::one_of({"lstm", "table"}))
      .add("lstm_size", &ControllerOptions::lstm_size, "controller LSTM width",
           core::in_closed(1, 4096))
      .add("lstm_layers", &ControllerOptions::lstm_layers, "controller LSTM layers",
           core::in_closed(1, 16))
      .add("temperature", &ControllerOptions::temperature, "op logits are divided by it",
           core::greater_than(0))
      .add("tanh_constant", &ControllerOptions::tanh_constant,
           "logits squashed to c * tanh(logits / c') (0: not squashed)", core::at_least(0))
      .add("op_tanh_reduce", &ControllerOptions::op_tanh_reduce,
           "op logits use tanh_constant / op_tanh_reduce", core::greater_than(0))
      .add("init_range", &ControllerOptions::init_range,
           "controller parameters start uniform in +-init_range", core::at_least(0));
}

/// One sampled architecture with what REINFORCE needs of it.
struct ControllerSample {
  /// Per decision: the chosen column, or -1 where the edge is not kept.
  std::vector<int64_t> ops;
  torch::Tensor log_prob;  ///< scalar, differentiable when grad mode is on
  double entropy = 0;      ///< of every choice made, summed (no gradient)
};

class ControllerImpl : public torch::nn::Module {
 public:
  /// Its parameters drawn from `rng`.
  ControllerImpl(const search_space::SearchSpace& space, const ControllerOptions& options,
                 core::Rng& rng);

  /// A sample, each choice drawn from `rng`; with `rng` null, each choice
  /// is the most likely one (the greedy rollout).
  ControllerSample sample(core::Rng* rng);
  /// The one-hot weights [D, K] of a sample: what `SearchSpace::derive` turns
  /// into its architecture.
  torch::Tensor weights(const ControllerSample& s) const;
  search_space::Architecture architecture(const ControllerSample& s) const;
  /// Op probabilities [D, K] along the greedy rollout (rows of edges it
  /// does not keep are 0): what cost objectives and logs read.
  torch::Tensor greedy_probabilities();

 private:
  struct Draw {
    int64_t index;
    torch::Tensor log_prob;
    double entropy;
  };
  /// Draws from `logits` [n] (rng null: the argmax).
  static Draw draw(const torch::Tensor& logits, core::Rng* rng);
  void reset_state();
  torch::Tensor lstm_step(const torch::Tensor& input);
  torch::Tensor squash(torch::Tensor logits, bool op) const;
  torch::Tensor op_logits(int64_t decision, const torch::Tensor& h);
  ControllerSample sample_ops(core::Rng* rng, torch::Tensor* probs);
  ControllerSample sample_nodes(core::Rng* rng, torch::Tensor* probs);

  const search_space::SearchSpace* space_;
  ControllerOptions opts_;
  int64_t decisions_, candidates_;
  std::vector<search_space::NodeInputs> nodes_;
  torch::Tensor op_mask_;  ///< [D, K]: 0 allowed, kMaskedLogit not
  // lstm
  std::vector<torch::nn::LSTMCell> cells_;
  std::vector<std::tuple<torch::Tensor, torch::Tensor>> state_;
  torch::Tensor start_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Linear head_{nullptr}, attn_1_{nullptr}, attn_2_{nullptr}, attn_v_{nullptr};
  // table
  torch::Tensor table_, input_table_;
};
TORCH_MODULE(Controller);

/// REINFORCE on a controller: reward = score (accuracy minus the objective's
/// penalty) + entropy_weight * entropy; baseline b = the debiased moving
/// average of the rewards with decay `baseline_decay` (AutoDL's REINFORCE
/// ExponentialMovingAverage: num / den, so it starts at the first reward,
/// as AutoDL's ENAS does; melodyguan/enas starts it at 0), updated before
/// the loss; loss = -log p * (reward - b) / aggregate; every `aggregate`
/// samples the gradient is clipped to `controller_grad_clip` (0: not) and
/// Adam steps (torch.optim.Adam: lr, betas (beta1, 0.999), eps). Defaults:
/// AutoDL's NB201 ENAS (Adam 1e-3, betas (0, 0.999), eps 1e-3, decay 0.99,
/// entropy 1e-4, 20 samples per update, clip 5).
struct ReinforceOptions {
  double controller_lr = 1e-3;
  double controller_beta1 = 0.0;
  double controller_eps = 1e-3;
  double baseline_decay = 0.99;
  double entropy_weight = 1e-4;
  int64_t aggregate = 20;
  double controller_grad_clip = 5.0;
};

template <class O>
void add_reinforce_options(core::OptionTable<O>& t) {
  t.add("controller_lr", &ReinforceOptions::controller_lr, "controller Adam learning rate",
        core::at_least(0))
      .add("controller_beta1", &ReinforceOptions::controller_beta1, "controller Adam beta1",
           core::in_half_open(0, 1))
      .add("controller_eps", &ReinforceOptions::controller_eps, "controller Adam epsilon",
           core::greater_than(0))
      .add("baseline_decay", &ReinforceOptions::baseline_decay,
           "decay of the reward's moving-average baseline", core::in_half_open(0, 1))
      .add("entropy_weight", &ReinforceOptions::entropy_weight,
           "weight of the sample's entropy in the reward", core::at_least(0))
      .add("aggregate", &ReinforceOptions::aggregate, "samples per controller update",
           core::in_closed(1, 1000000))
      .add("controller_grad_clip", &ReinforceOptions::controller_grad_clip,
           "max norm of the controller's gradient (0: no clipping)", core::at_least(0));
}

class Reinforce {
 public:
  Reinforce(Controller controller, const ReinforceOptions& options);

  /// Learns from one sample of `score` (accuracy minus penalty); steps after
  /// every `aggregate` samples. Returns the reward.
  double learn(const ControllerSample& s, double score);
  double baseline() const { return baseline_; }
  int64_t samples() const { return samples_; }

  /// Every piece of state, the controller's parameters and pending gradients
  /// included, as named tensors (for checkpoints) or as JSON (trial runs).
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void set_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);
  nlohmann::json state_json() const;
  void set_state_json(const nlohmann::json& j);

 private:
  void adam_step();

  Controller controller_;
  ReinforceOptions opts_;
  std::vector<torch::Tensor> params_, m_, v_;
  int64_t steps_ = 0, samples_ = 0;
  double baseline_ = 0, num_ = 0, den_ = 0;
};

}  // namespace nas::strategies
