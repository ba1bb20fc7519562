#include "search_space/superkernel.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "core/error.h"
#include "kernels/relu_conv_bn.h"

namespace nas::search_space {

namespace {

int64_t index_of(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) - v.begin();
}

void insert_sorted(std::vector<int64_t>& v, int64_t x) {
  if (index_of(v, x) == static_cast<int64_t>(v.size())) {
    v.insert(std::upper_bound(v.begin(), v.end(), x), x);
  }
}

/// The reference's straight-through indicator 1(x >= 0), gradient of sigmoid.
torch::Tensor indicator(const torch::Tensor& x) {
  const auto soft = torch::sigmoid(x);
  return (x >= 0).to(x.scalar_type()) + (soft - soft.detach());
}

}  // namespace

std::vector<double> SuperkernelLayout::pattern(int64_t c) const {
  const auto [ki, ei] = columns.at(static_cast<size_t>(c));
  TORCH_CHECK(ki != -2, "superkernel: column ", c, " is not allowed on this block");
  const auto nk = static_cast<int64_t>(kernels.size());
  std::vector<double> d(static_cast<size_t>(slots()), 1.0);
  if (ki == -1) {
    d.back() = 0;
    return d;
  }
  for (int64_t j = ki; j < nk - 1; ++j) d[static_cast<size_t>(j)] = 0;
  for (int64_t j = ei; j < static_cast<int64_t>(expansions.size()) - 1; ++j) {
    d[static_cast<size_t>(nk - 1 + j)] = 0;
  }
  return d;
}

SuperkernelLayout superkernel_layout(const std::vector<std::string>& columns, bool residual,
                                     const std::string& where) {
  SuperkernelLayout l;
  std::vector<BlockOp> ops;
  for (const auto& c : columns) {
    const auto b = parse_block_op(c);
    if (b.mbconv() && (b.groups != 1 || b.expansion < 2)) {
      throw ConfigError(fmt::format(
          "{}: '{}' cannot share a superkernel (Single-Path NAS needs ungrouped MBConv "
          "candidates of expansion 2 or more, which share one expanding 1x1 conv)",
          where, c));
    }
    if (b.mbconv()) {
      insert_sorted(l.kernels, b.kernel);
      insert_sorted(l.expansions, b.expansion);
    }
    ops.push_back(b);
  }
  const auto grid = l.kernels.size() * l.expansions.size();
  size_t mbconvs = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& b = ops[i];
    if (b.mbconv()) {
      ++mbconvs;
      l.columns.emplace_back(index_of(l.kernels, b.kernel), index_of(l.expansions, b.expansion));
    } else {
      // zero (or skip) on a residual block: the superkernel with every channel dropped.
      l.columns.emplace_back(residual ? -1 : -2, residual ? -1 : -2);
      l.skippable = l.skippable || residual;
    }
  }
  if (mbconvs == 0 || mbconvs != grid) {
    throw ConfigError(fmt::format(
        "{}: the candidates {} are not a full grid of kernels {} x expansions {} (each "
        "once); a superkernel nests every kernel and expansion",
        where, fmt::join(columns, ", "), fmt::join(l.kernels, "/"),
        fmt::join(l.expansions, "/")));
  }
  return l;
}

SuperkernelImpl::SuperkernelImpl(int64_t c_in, int64_t c_out, int64_t stride,
                                 SuperkernelLayout layout, const ChainMacro& macro)
    : layout_(std::move(layout)), macro_(macro), stride_(stride) {
  const int64_t k = layout_.kernels.back();
  const int64_t mid = c_in * layout_.expansions.back();
  expand_ = register_module("expand", chain_conv(c_in, mid, 1, 1));
  expand_bn_ = register_module("expand_bn", chain_bn(mid, macro));
  // The depthwise conv's own initialisation, kept as a bare weight.
  torch::nn::Conv2d dw(torch::nn::Conv2dOptions(mid, mid, k).groups(mid).bias(false));
  depthwise_ = register_parameter("depthwise", dw->weight.detach().clone());
  depthwise_bn_ = register_module("depthwise_bn", chain_bn(mid, macro));
  project_ = register_module("project", chain_conv(mid, c_out, 1, 1));
  project_bn_ = register_module("project_bn", chain_bn(c_out, macro));
  int64_t inner = 0;
  for (size_t r = 0; r < layout_.kernels.size(); ++r) {
    const int64_t kr = layout_.kernels[r];
    auto ring = torch::zeros({1, 1, k, k});
    ring.slice(2, (k - kr) / 2, (k + kr) / 2).slice(3, (k - kr) / 2, (k + kr) / 2).fill_(1);
    if (inner > 0) {
      ring.slice(2, (k - inner) / 2, (k + inner) / 2)
          .slice(3, (k - inner) / 2, (k + inner) / 2)
          .fill_(0);
    }
    inner = kr;
    rings_.push_back(register_buffer(fmt::format("ring{}", r), ring));
  }
  int64_t from = 0;
  for (size_t g = 0; g < layout_.expansions.size(); ++g) {
    const int64_t to = c_in * layout_.expansions[g];
    auto group = torch::zeros({mid, 1, 1, 1});
    group.slice(0, from, to).fill_(1);
    from = to;
    groups_.push_back(register_buffer(fmt::format("group{}", g), group));
  }
}

torch::Tensor SuperkernelImpl::kernel_weight(const torch::Tensor& d) const {
  torch::Tensor inner;
  for (auto r = static_cast<int64_t>(rings_.size()) - 1; r >= 1; --r) {
    auto part = depthwise_ * rings_[static_cast<size_t>(r)];
    inner = d[r - 1] * (inner.defined() ? part + inner : part);
  }
  const auto core = depthwise_ * rings_.front();
  return inner.defined() ? core + inner : core;
}

torch::Tensor SuperkernelImpl::channel_weight(const torch::Tensor& wk,
                                              const torch::Tensor& d) const {
  const auto nk = static_cast<int64_t>(rings_.size());
  torch::Tensor inner;
  for (auto g = static_cast<int64_t>(groups_.size()) - 1; g >= 1; --g) {
    auto part = wk * groups_[static_cast<size_t>(g)];
    inner = d[nk - 2 + g] * (inner.defined() ? part + inner : part);
  }
  const auto first = wk * groups_.front();
  return d[layout_.slots() - 1] * (inner.defined() ? first + inner : first);
}

torch::Tensor SuperkernelImpl::indicators(const torch::Tensor& t, double keep) const {
  TORCH_CHECK(t.dim() == 1 && t.size(0) == layout_.slots(), "superkernel: thresholds must be [",
              layout_.slots(), "], got ", t.sizes());
  const auto nk = static_cast<int64_t>(rings_.size());
  auto slot = [&](const torch::Tensor& part, int64_t s) {
    auto d = indicator(torch::norm(part) - t[s]);
    return keep < 1 ? torch::dropout(d, 1 - keep, true) : d;
  };
  std::vector<torch::Tensor> d(static_cast<size_t>(layout_.slots()));
  for (int64_t r = 1; r < nk; ++r) {
    d[static_cast<size_t>(r - 1)] = slot(depthwise_ * rings_[static_cast<size_t>(r)], r - 1);
  }
  // The channel decisions read the kernel as the kernel decisions left it.
  std::vector<torch::Tensor> kept(d.begin(), d.begin() + (nk - 1));
  kept.resize(d.size(), torch::ones({}, t.options()));
  const auto wk = kernel_weight(torch::stack(kept));
  for (size_t g = 1; g < groups_.size(); ++g) {
    const auto s = nk - 2 + static_cast<int64_t>(g);
    d[static_cast<size_t>(s)] = slot(wk * groups_[g], s);
  }
  d.back() = layout_.skippable ? slot(wk * groups_.front(), layout_.slots() - 1)
                               : torch::ones({}, t.options());
  return torch::stack(d);
}

torch::Tensor SuperkernelImpl::pattern(int64_t c) const {
  const auto p = layout_.pattern(c);
  return torch::tensor(p, torch::kFloat64).to(depthwise_.options());
}

torch::Tensor SuperkernelImpl::selection(const torch::Tensor& d) const {
  const auto nk = static_cast<int64_t>(layout_.kernels.size());
  const auto ne = static_cast<int64_t>(layout_.expansions.size());
  const auto own = d[layout_.slots() - 1];
  std::vector<torch::Tensor> w;
  for (const auto& [ki, ei] : layout_.columns) {
    if (ki == -2) {
      w.push_back(torch::zeros({}, d.options()));
      continue;
    }
    if (ki == -1) {
      w.push_back(1 - own);
      continue;
    }
    auto f = own;
    for (int64_t j = 0; j < ki; ++j) f = f * d[j];
    if (ki < nk - 1) f = f * (1 - d[ki]);
    for (int64_t j = 0; j < ei; ++j) f = f * d[nk - 1 + j];
    if (ei < ne - 1) f = f * (1 - d[nk - 1 + ei]);
    w.push_back(f);
  }
  return torch::stack(w);
}

torch::Tensor SuperkernelImpl::forward(const torch::Tensor& x, const torch::Tensor& d) {
  using kernels::Activation;
  const auto a = macro_.activation == "relu6" ? Activation::relu6 : Activation::relu;
  const auto k = layout_.kernels.back();
  // The MBConv block's one fused node, its depthwise weight the masked
  // superkernel (a differentiable input of the node).
  std::vector<kernels::ConvBnUnit> units;
  units.push_back(kernels::conv_bn_unit(expand_, 1, 0, expand_bn_));
  units.back().act = Activation::none;
  units.push_back(kernels::conv_bn_unit(torch::nn::Conv2d{nullptr}, 1, 0, depthwise_bn_));
  units.back().dw_weight = channel_weight(kernel_weight(d), d);
  units.back().dw = {k, stride_, k / 2, 1};
  units.back().act = a;
  units.push_back(kernels::conv_bn_unit(project_, 1, 0, project_bn_));
  units.back().act = a;
  return kernels::relu_conv_bn(x, units, is_training());
}

torch::Tensor SuperkernelImpl::forward_modules(const torch::Tensor& x, const torch::Tensor& d) {
  const auto w = channel_weight(kernel_weight(d), d);
  auto h = chain_act(expand_bn_->forward(expand_->forward(x)), macro_);
  const auto k = layout_.kernels.back();
  h = torch::conv2d(h, w, {}, stride_, k / 2, 1, w.size(0));
  h = chain_act(depthwise_bn_->forward(h), macro_);
  return project_bn_->forward(project_->forward(h));
}

}  // namespace nas::search_space
