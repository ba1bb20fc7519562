#pragma once
// A toy space with a known optimum, for testing strategies (STYLE.md: every
// strategy is tested on a toy space with a known optimum).
//
// Inputs are [N, K * F] vectors made of K blocks of F features. Candidate
// op k of a decision reads only block k (a trainable linear map F -> H).
// The labels depend on block `planted` alone, so on every decision the
// planted op is the only useful one; the others see noise. Candidate 0 is
// `none` (never computed).

#include <torch/torch.h>

#include "core/batch.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "search_space/search_space.h"

namespace nas::testing {

class BlockOpImpl : public search_space::CandidateOpImpl {
 public:
  BlockOpImpl(int64_t block, int64_t features, int64_t hidden)
      : block_(block), features_(features) {
    linear_ = register_module("linear", torch::nn::Linear(features, hidden));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::relu(linear_(x.flatten(1).narrow(1, block_ * features_, features_)));
  }

 private:
  int64_t block_, features_;
  torch::nn::Linear linear_{nullptr};
};

class ZeroOpImpl : public search_space::CandidateOpImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x) override { return x * 0; }
  bool is_zero() const override { return true; }
};

/// Decisions in parallel; their outputs are summed, then classified.
class ToySupernetImpl : public search_space::SupernetImpl {
 public:
  ToySupernetImpl(int64_t decisions, int64_t k, int64_t features,
                  int64_t hidden, int64_t classes) {
    num_decisions_ = decisions;
    for (int64_t d = 0; d < decisions; ++d) {
      std::vector<std::pair<std::string, search_space::CandidateOp>> ops;
      ops.emplace_back("none", std::make_shared<ZeroOpImpl>());
      for (int64_t b = 1; b < k; ++b) {
        ops.emplace_back("block" + std::to_string(b),
                         std::make_shared<BlockOpImpl>(b, features, hidden));
      }
      auto m = register_module("edge" + std::to_string(d),
                               std::make_shared<search_space::MixedOpImpl>(ops));
      edges_.push_back(m);
      add_mixed_op(d, m);
    }
    head_ = register_module("head", torch::nn::Linear(hidden, classes));
  }
  torch::Tensor forward_path(const torch::Tensor& x,
                             const search_space::PathSpec& path) override {
    torch::Tensor h;
    for (size_t d = 0; d < edges_.size(); ++d) {
      auto y = edges_[d]->forward(x, path.edges[d]);
      if (y.defined()) h = h.defined() ? h + y : y;
    }
    const auto zeros = torch::zeros({x.size(0), head_->options.in_features()});
    if (!h.defined()) h = zeros;
    if (h.dim() == 0) h = zeros + h;  // only GDAS offsets on `none`
    return head_(h);
  }

 private:
  std::vector<search_space::MixedOp> edges_;
  torch::nn::Linear head_{nullptr};
};

class ToySpace : public search_space::SearchSpace {
 public:
  static constexpr int64_t kFeatures = 4;
  static constexpr int64_t kHidden = 16;
  static constexpr int64_t kClasses = 2;

  ToySpace(int64_t decisions, int64_t k) : decisions_(decisions), k_(k) {}

  std::string name() const override { return "toy"; }
  std::vector<search_space::Decision> decisions() const override {
    std::vector<std::string> names{"none"};
    for (int64_t b = 1; b < k_; ++b) names.push_back("block" + std::to_string(b));
    std::vector<search_space::Decision> out;
    for (int64_t d = 0; d < decisions_; ++d) {
      out.push_back({"toy e" + std::to_string(d), names});
    }
    return out;
  }
  search_space::NetworkOptions search_defaults() const override { return {}; }
  search_space::NetworkOptions eval_defaults() const override { return {}; }
  search_space::Supernet build_supernet(
      const search_space::NetworkOptions&) const override {
    return std::make_shared<ToySupernetImpl>(decisions_, k_, kFeatures, kHidden,
                                             kClasses);
  }
  /// One cell; node d has the argmax op of decision d (including `none`).
  search_space::Architecture derive(const torch::Tensor& w) const override {
    std::vector<int64_t> ops;
    for (int64_t d = 0; d < decisions_; ++d) ops.push_back(w[d].argmax().item<int64_t>());
    return from_ops(ops);
  }
  search_space::Architecture sample(core::Rng& rng, bool include_none) const override {
    std::vector<int64_t> ops;
    for (int64_t d = 0; d < decisions_; ++d) {
      ops.push_back(include_none ? rng.uniform_int(k_) : 1 + rng.uniform_int(k_ - 1));
    }
    return from_ops(ops);
  }
  search_space::Architecture mutate(const search_space::Architecture& a,
                                    core::Rng& rng) const override {
    auto ops = to_ops(a);
    const int64_t d = rng.uniform_int(decisions_);
    ops[d] = (ops[d] + 1 + rng.uniform_int(k_ - 1)) % k_;
    return from_ops(ops);
  }
  search_space::PathSpec path_of(const search_space::Architecture& a) const override {
    return search_space::PathSpec::single(to_ops(a));
  }
  search_space::Network build_network(
      const search_space::Architecture&,
      const search_space::NetworkOptions&) const override {
    return nullptr;
  }
  std::string format(const search_space::Architecture& a) const override {
    std::string s;
    for (auto k : to_ops(a)) s += std::to_string(k);
    return s;
  }
  search_space::Architecture parse(std::string_view text) const override {
    std::vector<int64_t> ops;
    for (char c : text) ops.push_back(c - '0');
    return from_ops(ops);
  }
  std::string to_dot(const search_space::Architecture&) const override { return ""; }

  std::vector<int64_t> to_ops(const search_space::Architecture& a) const {
    std::vector<int64_t> ops;
    const auto names = decisions().front().candidates;
    for (const auto& node : a.cells.at(0).nodes) {
      ops.push_back(std::find(names.begin(), names.end(), node.at(0).op) - names.begin());
    }
    return ops;
  }
  search_space::Architecture from_ops(const std::vector<int64_t>& ops) const {
    const auto names = decisions().front().candidates;
    search_space::CellGenotype cell;
    cell.name = "toy";
    for (auto k : ops) cell.nodes.push_back({{names[k], 0}});
    return {{cell}};
  }

  /// A batch whose labels depend only on block `planted`.
  Batch batch(int64_t n, int64_t planted, torch::Generator& gen) const {
    Batch b;
    b.x = torch::randn({n, k_ * kFeatures}, gen);
    b.y = (b.x.narrow(1, planted * kFeatures, kFeatures).sum(1) > 0)
              .to(torch::kInt64);
    return b;
  }

  /// The same data as images [N, 1, 1, K * F] for data::Loader.
  data::DataPair make_data(int64_t n, int64_t planted, uint64_t seed) const {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto make = [&](int64_t count) {
      data::Dataset d;
      d.name = "toy";
      d.num_classes = kClasses;
      auto x = (128 + 40 * torch::randn({count, 1, 1, k_ * kFeatures}, gen))
                   .clamp(0, 255)
                   .round();
      d.labels = (x.flatten(1).narrow(1, planted * kFeatures, kFeatures).sum(1) >
                  128.0 * kFeatures)
                     .to(torch::kInt64);
      d.images = x.to(torch::kUInt8);
      return d;
    };
    data::DataPair p;
    p.train = make(n);
    p.test = make(n / 2);
    data::channel_stats(p.train.images, p.mean, p.std);
    return p;
  }

 private:
  int64_t decisions_, k_;
};

}  // namespace nas::testing
