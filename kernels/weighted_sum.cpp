#include "kernels/weighted_sum.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

namespace nas::kernels {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Elements per block: the unit of work of the forward pass (the running
/// sum stays in L1 while the terms stream by) and of a weight gradient's
/// partial sums.
constexpr int64_t kBlock = 2048;

bool own_kernel(const std::vector<SumTerm>& terms) {
  const auto& first = terms.front().value;
  if (!first.device().is_cpu() ||
      (first.scalar_type() != torch::kFloat && first.scalar_type() != torch::kDouble)) {
    return false;
  }
  for (const auto& t : terms) {
    if (!t.value.device().is_cpu() || t.value.layout() != torch::kStrided ||
        t.value.scalar_type() != first.scalar_type() || t.value.sizes() != first.sizes()) {
      return false;
    }
    if (t.weight.defined() && (!t.weight.device().is_cpu() || t.weight.numel() != 1)) return false;
  }
  return true;
}

/// out = sum_k c_k * y_k (c_k = 1: y_k as is), block by block.
template <typename T>
void sum_kernel(const std::vector<const T*>& y, const std::vector<T>& c,
                const std::vector<bool>& scaled, int64_t n, T* out) {
  at::parallel_for(0, (n + kBlock - 1) / kBlock, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t lo = b * kBlock, len = std::min(kBlock, n - lo);
      T* o = out + lo;
      for (size_t k = 0; k < y.size(); ++k) {
        const T* v = y[k] + lo;
        const T a = c[k];
        if (k == 0) {
          if (scaled[k]) {
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) o[i] = v[i] * a;
          } else {
            std::copy(v, v + len, o);
          }
        } else if (scaled[k]) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = o[i] + v[i] * a;
        } else {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = o[i] + v[i];
        }
      }
    }
  });
}

/// gy = g * c (when `gy`) and <g, y> (when `dot`), one pass.
template <typename T>
double scale_and_dot(const T* g, const T* y, T c, int64_t n, T* gy, bool dot) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t lo = b * kBlock, len = std::min(kBlock, n - lo);
      if (gy != nullptr) {
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) gy[lo + i] = g[lo + i] * c;
      }
      if (dot) {
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < len; ++i) s += static_cast<double>(g[lo + i]) * y[lo + i];
        partial[b] = s;
      }
    }
  });
  double sum = 0;
  for (const double p : partial) sum += p;
  return sum;
}

template <typename T>
T weight_value(const torch::Tensor& w) {
  return w.defined() ? w.item().to<T>() : T(1);
}

/// Inputs: the terms' values, then the weights of the weighted terms;
/// `weight_of[k]`: the position of term k's weight in the inputs, or -1.
class WeightedSumFunction : public torch::autograd::Function<WeightedSumFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::TensorList inputs,
                               const std::vector<int64_t>& weight_of) {
    const size_t terms = weight_of.size();
    std::vector<torch::Tensor> values(inputs.begin(), inputs.begin() + terms);
    for (auto& v : values) v = v.contiguous();
    auto out = torch::empty_like(values.front(), torch::MemoryFormat::Contiguous);
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "weighted_sum", [&] {
      std::vector<const scalar_t*> y;
      std::vector<scalar_t> c;
      std::vector<bool> scaled;
      for (size_t k = 0; k < terms; ++k) {
        y.push_back(values[k].data_ptr<scalar_t>());
        scaled.push_back(weight_of[k] >= 0);
        c.push_back(weight_of[k] >= 0 ? weight_value<scalar_t>(inputs[weight_of[k]]) : 1);
      }
      sum_kernel<scalar_t>(y, c, scaled, out.numel(), out.data_ptr<scalar_t>());
    });
    // Only the weighted terms' values (for their weights' gradients) and
    // the weights are kept, as `value * weight` keeps them.
    variable_list saved;
    for (size_t k = 0; k < terms; ++k) {
      if (weight_of[k] >= 0) {
        saved.push_back(values[k]);
        saved.push_back(inputs[weight_of[k]]);
      }
    }
    ctx->save_for_backward(saved);
    ctx->saved_data["weight_of"] = weight_of;
    ctx->saved_data["inputs"] = static_cast<int64_t>(inputs.size());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "weighted_sum: second derivatives (create_graph=true) are not supported");
    const auto saved = ctx->get_saved_variables();
    const auto weight_of = ctx->saved_data["weight_of"].toIntVector();
    variable_list out(ctx->saved_data["inputs"].toInt() + 1);
    const auto g = grads[0].contiguous();
    size_t next = 0;
    for (size_t k = 0; k < weight_of.size(); ++k) {
      const bool need_value = ctx->needs_input_grad(k);
      if (weight_of[k] < 0) {
        if (need_value) out[k] = g;
        continue;
      }
      const auto& value = saved[next++];
      const auto& weight = saved[next++];
      const bool need_weight = ctx->needs_input_grad(weight_of[k]);
      if (!need_value && !need_weight) continue;
      if (need_value) out[k] = torch::empty_like(g);
      AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "weighted_sum_backward", [&] {
        const double dot = scale_and_dot<scalar_t>(
            g.data_ptr<scalar_t>(), value.data_ptr<scalar_t>(), weight_value<scalar_t>(weight),
            g.numel(), need_value ? out[k].data_ptr<scalar_t>() : nullptr, need_weight);
        if (need_weight) out[weight_of[k]] = torch::full(weight.sizes(), dot, weight.options());
      });
    }
    return out;
  }
};

}  // namespace

torch::Tensor weighted_sum(const std::vector<SumTerm>& terms) {
  if (terms.empty()) return {};
  if (terms.size() == 1 && !terms[0].weight.defined()) return terms[0].value;
  if (terms.size() == 1 || !own_kernel(terms)) {
    torch::Tensor out;
    for (const auto& t : terms) {
      const auto v = t.weight.defined() ? t.value * t.weight : t.value;
      out = out.defined() ? out + v : v;
    }
    return out;
  }
  std::vector<torch::Tensor> inputs;
  std::vector<int64_t> weight_of;
  for (const auto& t : terms) inputs.push_back(t.value);
  for (const auto& t : terms) {
    weight_of.push_back(t.weight.defined() ? static_cast<int64_t>(inputs.size()) : -1);
    if (t.weight.defined()) inputs.push_back(t.weight);
  }
  return WeightedSumFunction::apply(torch::TensorList(inputs), weight_of);
}

}  // namespace nas::kernels
