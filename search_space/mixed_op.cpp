#include "search_space/mixed_op.h"

#include <torch/torch.h>

namespace nas::search_space {

PathSpec PathSpec::weighted_all(const torch::Tensor& weights) {
  TORCH_CHECK(weights.dim() == 2, "weighted_all expects [D, K] weights");
  PathSpec p;
  const int64_t d = weights.size(0), k = weights.size(1);
  std::vector<int64_t> all(k);
  for (int64_t i = 0; i < k; ++i) all[i] = i;
  p.edges.resize(d);
  for (int64_t i = 0; i < d; ++i) {
    p.edges[i].ops = all;
    p.edges[i].weights = weights[i];
  }
  return p;
}

PathSpec PathSpec::weighted_where(const torch::Tensor& weights, const torch::Tensor& keep) {
  TORCH_CHECK(weights.dim() == 2 && keep.sizes() == weights.sizes(),
              "weighted_where expects [D, K] weights and a [D, K] mask");
  PathSpec p;
  p.edges.resize(static_cast<size_t>(weights.size(0)));
  const auto live = keep.to(torch::kCPU, torch::kBool);
  for (int64_t i = 0; i < weights.size(0); ++i) {
    const auto ops = live[i].nonzero().view({-1});
    auto& e = p.edges[static_cast<size_t>(i)];
    e.ops.assign(ops.data_ptr<int64_t>(), ops.data_ptr<int64_t>() + ops.numel());
    e.weights = weights[i].index_select(0, ops.to(weights.device()));
  }
  return p;
}

PathSpec PathSpec::superkernel(const torch::Tensor& indicators) {
  PathSpec p;
  p.edges.resize(static_cast<size_t>(indicators.size(0)));
  for (size_t i = 0; i < p.edges.size(); ++i) {
    p.edges[i].indicators = indicators[static_cast<int64_t>(i)];
  }
  return p;
}

PathSpec PathSpec::single(const std::vector<int64_t>& ops) {
  PathSpec p;
  p.edges.resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i] >= 0) p.edges[i].ops = {ops[i]};
  }
  return p;
}

MixedOp make_mixed_op(const OpFamily& family, const OpArgs& args) {
  std::vector<std::pair<std::string, CandidateOp>> ops;
  for (const auto& name : family.order) ops.emplace_back(name, family.make(name, args));
  return std::make_shared<MixedOpImpl>(std::move(ops));
}

MixedOpImpl::MixedOpImpl(
    std::vector<std::pair<std::string, CandidateOp>> ops) {
  for (auto& [name, op] : ops) {
    ops_.push_back(register_module(name, op));
  }
  calls_.assign(ops_.size(), 0);
}

EdgeTerms MixedOpImpl::terms(const torch::Tensor& x, const EdgeChoice& choice,
                             SharedResults* shared) {
  last_input_shape_ = x.sizes().vec();
  const bool weighted = choice.weights.defined();
  TORCH_CHECK(!weighted || choice.weights.numel() ==
                               static_cast<int64_t>(choice.ops.size()),
              "EdgeChoice: ", choice.ops.size(), " ops but ",
              choice.weights.numel(), " weights");
  // Several ops on one edge (a mixture): shared pools pay off. The
  // ReLU-conv-BN ops run as fused nodes on a single path too (naskit's
  // depthwise and 1x1 kernels: oneDNN's depthwise backward takes 10-80x
  // theirs at the search sizes).
  int64_t active = 0;
  for (const int64_t k : choice.ops) {
    if (k >= 0 && k < size() && !ops_[k]->is_zero()) ++active;
  }
  const bool mixture = active > 1;
  EdgeTerms out;
  out.offset = choice.offset;
  for (size_t i = 0; i < choice.ops.size(); ++i) {
    const int64_t k = choice.ops[i];
    TORCH_CHECK(k >= 0 && k < size(), "EdgeChoice op index ", k,
                " out of range for ", size(), " candidates");
    auto& op = *ops_[k];
    // NOTE: `none` is never materialised: w * zeros adds nothing to the
    // value, and its gradient w.r.t. w is <dL/dy, 0> = 0.
    if (op.is_zero()) continue;
    ++calls_[k];
    const auto w = weighted ? choice.weights[static_cast<int64_t>(i)] : torch::Tensor();
    if (mixture && shared) {
      const auto y = op.forward_shared(x, *shared);
      if (y.defined()) {
        out.terms.push_back({y, w});
        continue;
      }
    }
    if (op.folds_weight()) {
      out.terms.push_back({op.forward_scaled(x, w), torch::Tensor()});
    } else {
      out.terms.push_back({op.forward(x), w});
    }
  }
  return out;
}

torch::Tensor MixedOpImpl::forward(const torch::Tensor& x, const EdgeChoice& choice,
                                   SharedResults* shared) {
  return sum_edges({terms(x, choice, shared)});
}

torch::Tensor sum_edges(const std::vector<EdgeTerms>& edges) {
  std::vector<kernels::SumTerm> terms;
  torch::Tensor offset;
  for (const auto& e : edges) {
    terms.insert(terms.end(), e.terms.begin(), e.terms.end());
    if (e.offset.defined()) offset = offset.defined() ? offset + e.offset : e.offset;
  }
  const auto sum = kernels::weighted_sum(terms);
  // Nothing ran (only `none`): the 0-dim offset alone, which the caller
  // broadcasts, so the offset's gradient still flows.
  if (!offset.defined()) return sum;
  return sum.defined() ? sum + offset : offset;
}

}  // namespace nas::search_space
