#include "kernels/relu_conv_bn.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "kernels/pointwise.h"

namespace nas::kernels {

ConvBnUnit conv_bn_unit(const torch::nn::Conv2d& conv, int64_t stride, int64_t padding,
                        const torch::nn::BatchNorm2d& bn, const torch::nn::Conv2d& dw,
                        const DepthwiseGeometry& geometry) {
  ConvBnUnit u;
  if (dw) {
    u.dw_weight = dw->weight;
    u.dw = geometry;
  }
  if (conv) {
    u.conv_weight = conv->weight;
    u.conv_bias = conv->bias;
  }
  u.stride = stride;
  u.padding = padding;
  u.bn_weight = bn->weight;
  u.bn_bias = bn->bias;
  u.running_mean = bn->running_mean;
  u.running_var = bn->running_var;
  u.num_batches_tracked = bn->num_batches_tracked;
  u.momentum = bn->options.momentum() ? std::optional<double>(*bn->options.momentum())
                                       : std::nullopt;
  u.eps = bn->options.eps();
  return u;
}


namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// What the backward pass needs to know of one unit (the tensors it needs
/// are saved separately).
struct UnitShape {
  Activation act;
  bool has_dw, has_conv, has_bias, affine, batch_stats;
  DepthwiseGeometry dw;
  int64_t stride, padding;
  double eps;
};

UnitShape shape_of(const ConvBnUnit& u, bool training) {
  TORCH_CHECK(u.dw_weight.defined() || u.conv_weight.defined(),
              "relu_conv_bn: a unit needs a depthwise conv, a conv or both");
  return {u.act,
          u.dw_weight.defined(),
          u.conv_weight.defined(),
          u.conv_bias.defined(),
          u.bn_weight.defined(),
          training || !u.running_mean.defined(),
          u.dw,
          u.stride,
          u.padding,
          u.eps};
}

std::vector<int64_t> encode(const UnitShape& s) {
  return {static_cast<int64_t>(s.act), s.has_dw,     s.has_conv,   s.has_bias,
          s.affine,                     s.batch_stats, s.dw.kernel,  s.dw.stride,
          s.dw.padding,                 s.dw.dilation, s.stride,     s.padding};
}

UnitShape decode(const std::vector<int64_t>& v, size_t at, double eps) {
  const int64_t* c = v.data() + at;
  return {static_cast<Activation>(c[0]), c[1] != 0, c[2] != 0, c[3] != 0, c[4] != 0, c[5] != 0,
          {c[6], c[7], c[8], c[9]},      c[10],     c[11],     eps};
}
constexpr size_t kEncoded = 12;

/// The unit's parameters in the order they are passed to the node.
std::vector<torch::Tensor> params_of(const ConvBnUnit& u) {
  std::vector<torch::Tensor> p;
  if (u.dw_weight.defined()) p.push_back(u.dw_weight);
  if (u.conv_weight.defined()) p.push_back(u.conv_weight);
  if (u.conv_bias.defined()) p.push_back(u.conv_bias);
  if (u.bn_weight.defined()) {
    TORCH_CHECK(u.bn_bias.defined(), "relu_conv_bn: BatchNorm weight without bias");
    p.push_back(u.bn_weight);
    p.push_back(u.bn_bias);
  }
  return p;
}

torch::Tensor per_channel(const torch::Tensor& v) { return v.view({1, -1, 1, 1}); }

/// The per-channel tensors of a BatchNorm are plain CPU arrays of the
/// activations' type: its per-channel arithmetic then runs as loops over
/// C numbers instead of a dozen tiny LibTorch ops per BatchNorm.
bool cpu_channels(const torch::Tensor& p, std::initializer_list<const torch::Tensor*> v) {
  if (!p.device().is_cpu() || !p.is_contiguous() ||
      (p.scalar_type() != torch::kFloat && p.scalar_type() != torch::kDouble)) {
    return false;
  }
  for (const auto* t : v) {
    if (t->defined() && (!t->device().is_cpu() || !t->is_contiguous() ||
                         t->scalar_type() != p.scalar_type() || t->dim() > 1)) {
      return false;
    }
  }
  return true;
}

/// y[n, c] = p[n, c] * alpha[c] + beta[c] over the planes of p.
template <typename T>
void channel_affine(const torch::Tensor& p, const std::vector<T>& alpha,
                    const std::vector<T>& beta, torch::Tensor& y) {
  const int64_t c = p.size(1), hw = p.size(2) * p.size(3);
  const T* src = p.data_ptr<T>();
  T* dst = y.data_ptr<T>();
  at::parallel_for(0, p.size(0) * c, std::max<int64_t>(1, 16384 / hw), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const T a = alpha[plane % c], o = beta[plane % c];
      const T* x = src + plane * hw;
      T* out = dst + plane * hw;
#pragma omp simd
      for (int64_t t = 0; t < hw; ++t) out[t] = x[t] * a + o;
    }
  });
}

template <typename T>
T value_at(const torch::Tensor& t, int64_t i) {
  return t.numel() == 1 ? t.data_ptr<T>()[0] : t.data_ptr<T>()[i];
}

/// BatchNorm output from its input and statistics (`a`, `b`: batch mean and
/// inverse std, or running mean and variance), times `scale` if defined:
/// one fused multiply-add, the same arithmetic in forward and backward.
torch::Tensor bn_apply(const torch::Tensor& p, const UnitShape& s, const torch::Tensor& a,
                       const torch::Tensor& b, const torch::Tensor& weight,
                       const torch::Tensor& bias, const torch::Tensor& scale) {
  if (cpu_channels(p, {&a, &b, &weight, &bias, &scale})) {
    auto y = torch::empty_like(p);
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "bn_apply", [&] {
      const int64_t c = p.size(1);
      std::vector<scalar_t> alpha(c), beta(c);
      for (int64_t i = 0; i < c; ++i) {
        scalar_t al = s.batch_stats ? value_at<scalar_t>(b, i)
                                    : scalar_t(1) / std::sqrt(value_at<scalar_t>(b, i) +
                                                              static_cast<scalar_t>(s.eps));
        if (weight.defined()) al = al * value_at<scalar_t>(weight, i);
        scalar_t be = -value_at<scalar_t>(a, i) * al;
        if (bias.defined()) be = be + value_at<scalar_t>(bias, i);
        if (scale.defined()) {
          al = al * value_at<scalar_t>(scale, 0);
          be = be * value_at<scalar_t>(scale, 0);
        }
        alpha[i] = al;
        beta[i] = be;
      }
      channel_affine(p, alpha, beta, y);
    });
    return y;
  }
  auto alpha = s.batch_stats ? b : torch::rsqrt(b + s.eps);
  if (weight.defined()) alpha = alpha * weight;
  auto beta = -a * alpha;
  if (bias.defined()) beta = beta + bias;
  if (scale.defined()) {
    alpha = alpha * scale;
    beta = beta * scale;
  }
  return torch::addcmul(per_channel(beta), p, per_channel(alpha));
}

/// Per-channel mean and biased variance of p [N, C, H, W] (two passes in
/// double per channel, one channel per task: deterministic). On the CPU
/// this is ~3x faster than `torch::var_mean` over dims {0, 2, 3}.
template <typename T>
void channel_moments(const torch::Tensor& p, torch::Tensor& mean, torch::Tensor& var) {
  const int64_t n = p.size(0), c = p.size(1), hw = p.size(2) * p.size(3);
  const T* d = p.data_ptr<T>();
  T* m = mean.data_ptr<T>();
  T* v = var.data_ptr<T>();
  at::parallel_for(0, c, 1, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      double sum = 0;
      for (int64_t b = 0; b < n; ++b) {
        const T* x = d + (b * c + ch) * hw;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t t = 0; t < hw; ++t) s += x[t];
        sum += s;
      }
      const double mu = sum / static_cast<double>(n * hw);
      double sq = 0;
      for (int64_t b = 0; b < n; ++b) {
        const T* x = d + (b * c + ch) * hw;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t t = 0; t < hw; ++t) s += (x[t] - mu) * (x[t] - mu);
        sq += s;
      }
      m[ch] = static_cast<T>(mu);
      v[ch] = static_cast<T>(sq / static_cast<double>(n * hw));
    }
  });
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> batch_moments(const torch::Tensor& p) {
  if (!p.device().is_cpu() || !p.is_contiguous() ||
      (p.scalar_type() != torch::kFloat && p.scalar_type() != torch::kDouble)) {
    auto [var, mean] = torch::var_mean(p, {0, 2, 3}, /*unbiased=*/false);
    return {mean, var};
  }
  auto mean = torch::empty({p.size(1)}, p.options());
  auto var = torch::empty({p.size(1)}, p.options());
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "channel_moments",
                             [&] { channel_moments<scalar_t>(p, mean, var); });
  return {mean, var};
}

void update_running_statistics(const torch::Tensor& mean, const torch::Tensor& var, int64_t n,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               const torch::Tensor& num_batches_tracked,
                               std::optional<double> momentum) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(momentum || num_batches_tracked.defined(),
              "BatchNorm without momentum needs num_batches_tracked");
  const double nd = static_cast<double>(n);
  const double unbiased = nd / std::max(nd - 1.0, 1.0);
  const bool count_on_cpu = !num_batches_tracked.defined() ||
                            (num_batches_tracked.device().is_cpu() &&
                             num_batches_tracked.scalar_type() == torch::kLong);
  if (count_on_cpu && cpu_channels(running_mean, {&mean, &var, &running_var})) {
    int64_t count = 0;
    if (num_batches_tracked.defined()) count = ++num_batches_tracked.data_ptr<int64_t>()[0];
    const double m = momentum ? *momentum : 1.0 / static_cast<double>(count);
    AT_DISPATCH_FLOATING_TYPES(running_mean.scalar_type(), "update_running_statistics", [&] {
      const auto keep = static_cast<scalar_t>(1.0 - m), take = static_cast<scalar_t>(m);
      const auto factor = static_cast<scalar_t>(unbiased);
      scalar_t* rm = running_mean.data_ptr<scalar_t>();
      scalar_t* rv = running_var.data_ptr<scalar_t>();
      const scalar_t* mu = mean.data_ptr<scalar_t>();
      const scalar_t* v = var.data_ptr<scalar_t>();
      for (int64_t i = 0; i < running_mean.numel(); ++i) {
        rm[i] = rm[i] * keep + mu[i] * take;
        rv[i] = rv[i] * keep + (v[i] * factor) * take;
      }
    });
    return;
  }
  if (num_batches_tracked.defined()) num_batches_tracked.add_(1);
  const double m = momentum ? *momentum : 1.0 / num_batches_tracked.item<double>();
  running_mean.mul_(1.0 - m).add_(mean, m);
  running_var.mul_(1.0 - m).add_(var * unbiased, m);
}

namespace {

/// Statistics BatchNorm normalises with: batch mean and inverse std (and the
/// running statistics updated as torch::nn::BatchNorm2d does), or copies of
/// the running mean and variance.
std::pair<torch::Tensor, torch::Tensor> bn_statistics(const torch::Tensor& p, const ConvBnUnit& u,
                                                      const UnitShape& s, bool training) {
  if (!s.batch_stats) return {u.running_mean.clone(), u.running_var.clone()};
  auto [mean, var] = batch_moments(p);
  if (training && u.running_mean.defined()) {
    update_running_statistics(mean, var, p.numel() / p.size(1), u.running_mean, u.running_var,
                              u.num_batches_tracked, u.momentum);
  }
  if (cpu_channels(var, {})) {
    // The inverse std in place of the variance (no longer needed).
    AT_DISPATCH_FLOATING_TYPES(var.scalar_type(), "inverse_std", [&] {
      scalar_t* v = var.data_ptr<scalar_t>();
      const auto eps = static_cast<scalar_t>(s.eps);
      for (int64_t i = 0; i < var.numel(); ++i) v[i] = scalar_t(1) / std::sqrt(v[i] + eps);
    });
    return {mean, var};
  }
  return {mean, torch::rsqrt(var + s.eps)};
}

/// The unit's conv is a 1x1, stride-1 convolution without bias (naskit's
/// own kernel on the CPU).
bool is_pointwise(const UnitShape& s, const torch::Tensor& conv_weight) {
  return s.has_conv && !s.has_bias && s.stride == 1 && s.padding == 0 && conv_weight.size(2) == 1 &&
         conv_weight.size(3) == 1;
}

/// The conv's backward: its weight (and bias) gradients into `out`, the
/// gradient w.r.t. its input returned (undefined unless `need_input`).
torch::Tensor conv_backward(const torch::Tensor& g_p, const torch::Tensor& conv_in,
                            const std::vector<torch::Tensor>& saved, const UnitShape& s,
                            size_t conv_w, size_t conv_b, bool need_input, bool need_weight,
                            bool need_bias, variable_list& out) {
  if (is_pointwise(s, saved[conv_w])) {
    auto [g_in, g_w] = pointwise_conv_backward(g_p, conv_in, saved[conv_w], need_input, need_weight);
    out[conv_w] = g_w;
    return g_in;
  }
  const std::vector<int64_t> bias_shape{s.has_bias ? saved[conv_b].size(0) : 0};
  const at::OptionalIntArrayRef bias_sizes =
      s.has_bias ? at::OptionalIntArrayRef(bias_shape) : c10::nullopt;
  auto [g_in, g_w, g_b] = at::convolution_backward(
      g_p, conv_in, saved[conv_w], bias_sizes, {s.stride, s.stride}, {s.padding, s.padding},
      {1, 1}, false, {0, 0}, 1, {need_input, need_weight, s.has_bias && need_bias});
  out[conv_w] = g_w;
  if (s.has_bias) out[conv_b] = g_b;
  return g_in;
}

/// The unit's activation of `h`, fused into the depthwise conv where it
/// is a ReLU.
torch::Tensor activate(const torch::Tensor& h, const UnitShape& s) {
  switch (s.act) {
    case Activation::relu: return torch::relu(h);
    case Activation::relu6: return torch::hardtanh(h, 0, 6);
    case Activation::none: return h;
  }
  return h;
}

/// The activation and depthwise conv of a unit (what its conv reads).
torch::Tensor act_dw(const torch::Tensor& h, const torch::Tensor& dw_weight, const UnitShape& s) {
  if (!s.has_dw) return activate(h, s);
  if (s.act == Activation::relu) return depthwise_conv(h, dw_weight, s.dw, /*relu_input=*/true);
  return depthwise_conv(activate(h, s), dw_weight, s.dw, false);
}

/// The gradient w.r.t. `h` of `activate(h)` from the gradient `g` of its
/// output.
torch::Tensor activation_backward(const torch::Tensor& g, const torch::Tensor& h,
                                  const UnitShape& s) {
  switch (s.act) {
    case Activation::relu: return torch::threshold_backward(g, h, 0);
    case Activation::relu6: return torch::hardtanh_backward(g, h, 0, 6);
    case Activation::none: return g;
  }
  return g;
}

struct ChainSpec {
  const std::vector<ConvBnUnit>* units;
  bool training;
  bool has_scale;
};

class ReluConvBnFunction : public torch::autograd::Function<ReluConvBnFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               torch::TensorList params, const ChainSpec& spec) {
    const auto& units = *spec.units;
    const torch::Tensor scale = spec.has_scale ? params.back() : torch::Tensor();
    std::vector<int64_t> code;
    std::vector<double> eps;
    std::vector<torch::Tensor> conv_out, stat_a, stat_b;
    torch::Tensor h = x;
    for (size_t i = 0; i < units.size(); ++i) {
      const auto& u = units[i];
      const auto s = shape_of(u, spec.training);
      const auto in = act_dw(h, u.dw_weight, s);
      auto p = !s.has_conv ? in
               : is_pointwise(s, u.conv_weight)
                   ? pointwise_conv(in, u.conv_weight)
                   : torch::conv2d(in, u.conv_weight, u.conv_bias, u.stride, u.padding);
      auto [a, b] = bn_statistics(p, u, s, spec.training);
      const bool last = i + 1 == units.size();
      h = bn_apply(p, s, a, b, u.bn_weight, u.bn_bias, last ? scale : torch::Tensor());
      const auto e = encode(s);
      code.insert(code.end(), e.begin(), e.end());
      eps.push_back(u.eps);
      conv_out.push_back(p);
      stat_a.push_back(a);
      stat_b.push_back(b);
    }
    std::vector<torch::Tensor> saved{x};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["code"] = code;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["has_scale"] = spec.has_scale;
    ctx->saved_data["conv_out"] = conv_out;
    ctx->saved_data["stat_a"] = stat_a;
    ctx->saved_data["stat_b"] = stat_b;
    return h;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "relu_conv_bn: second derivatives (create_graph=true) are not supported "
                "through the fused ReLU-conv-BN ops");
    const auto saved = ctx->get_saved_variables();
    const auto code = ctx->saved_data["code"].toIntVector();
    const auto eps = ctx->saved_data["eps"].toDoubleVector();
    const bool has_scale = ctx->saved_data["has_scale"].toBool();
    const auto conv_out = ctx->saved_data["conv_out"].toTensorVector();
    const auto stat_a = ctx->saved_data["stat_a"].toTensorVector();
    const auto stat_b = ctx->saved_data["stat_b"].toTensorVector();
    const size_t n_units = conv_out.size();

    // Parameter positions (in `saved`, after x) of each unit.
    std::vector<UnitShape> shapes;
    std::vector<size_t> first_param;
    size_t at = 1;
    for (size_t i = 0; i < n_units; ++i) {
      shapes.push_back(decode(code, i * kEncoded, eps[i]));
      first_param.push_back(at);
      at += shapes[i].has_dw + shapes[i].has_conv + shapes[i].has_bias + 2 * shapes[i].affine;
    }
    const torch::Tensor scale = has_scale ? saved[at] : torch::Tensor();
    variable_list out(saved.size() + 1);  // x, params, the spec (no gradient)
    auto needs = [&](size_t k) { return ctx->needs_input_grad(k); };

    // Input of unit i (recomputed for i > 0) and the conv's input.
    auto unit_input = [&](size_t i) {
      if (i == 0) return saved[0];
      const auto& s = shapes[i - 1];
      const size_t bn = first_param[i - 1] + s.has_dw + s.has_conv + s.has_bias;
      return bn_apply(conv_out[i - 1], s, stat_a[i - 1], stat_b[i - 1],
                      s.affine ? saved[bn] : torch::Tensor(),
                      s.affine ? saved[bn + 1] : torch::Tensor(), torch::Tensor());
    };

    torch::Tensor g = grads[0];
    for (size_t i = n_units; i-- > 0;) {
      const auto& s = shapes[i];
      size_t k = first_param[i];
      const size_t dw = s.has_dw ? k++ : 0;
      const size_t conv_w = s.has_conv ? k++ : 0;
      const size_t conv_b = s.has_bias ? k++ : 0;
      const size_t bn_w = s.affine ? k : 0;
      const bool last = i + 1 == n_units;
      const bool scaled = last && has_scale;

      // BatchNorm (with the op weight folded into its weight).
      torch::Tensor weight = s.affine ? saved[bn_w] : torch::Tensor();
      if (scaled)
        weight = weight.defined() ? weight * scale : scale.expand({g.size(1)}).contiguous();
      const bool stats_grads = scaled || (s.affine && (needs(bn_w) || needs(bn_w + 1)));
      const auto& p = conv_out[i];
      auto [g_p, g_w, g_b] = at::native_batch_norm_backward(
          g, p, weight.defined() ? c10::optional<torch::Tensor>(weight) : c10::nullopt,
          s.batch_stats ? c10::nullopt : c10::optional<torch::Tensor>(stat_a[i]),
          s.batch_stats ? c10::nullopt : c10::optional<torch::Tensor>(stat_b[i]),
          s.batch_stats ? c10::optional<torch::Tensor>(stat_a[i]) : c10::nullopt,
          s.batch_stats ? c10::optional<torch::Tensor>(stat_b[i]) : c10::nullopt, s.batch_stats,
          s.eps, {true, stats_grads, stats_grads});
      if (scaled) {
        // d(scale * BN)/d scale = sum_c (w_c * dL/dw'_c + b_c * dL/db'_c).
        auto gs = s.affine ? (g_w * saved[bn_w]).sum() + (g_b * saved[bn_w + 1]).sum() : g_w.sum();
        out[at] = gs.view(scale.sizes());
        if (s.affine) {
          g_w = g_w * scale;
          g_b = g_b * scale;
        }
      }
      if (s.affine) {
        out[bn_w] = g_w;
        out[bn_w + 1] = g_b;
      }

      // conv, then depthwise conv and activation.
      const auto input = unit_input(i);
      const bool need_input = i > 0 || needs(0);
      torch::Tensor g_in = g_p;
      if (s.has_conv) {
        const auto conv_in = act_dw(input, s.has_dw ? saved[dw] : torch::Tensor(), s);
        g_in = conv_backward(g_p, conv_in, saved, s, conv_w, conv_b, need_input || s.has_dw,
                             needs(conv_w), s.has_bias && needs(conv_b), out);
      }
      if (s.has_dw) {
        // ReLU is fused into the depthwise kernels; other activations are not.
        const bool relu = s.act == Activation::relu;
        const auto dw_in = relu ? input : activate(input, s);
        auto [g_x, g_dw] = depthwise_conv_backward(g_in, dw_in, saved[dw], s.dw, relu,
                                                   need_input, needs(dw));
        out[dw] = g_dw;
        g = need_input && !relu ? activation_backward(g_x, input, s) : g_x;
      } else if (need_input) {
        g = activation_backward(g_in, input, s);
      }
    }
    if (needs(0)) out[0] = g;
    return out;
  }
};

}  // namespace

torch::Tensor relu_conv_bn(const torch::Tensor& x, const std::vector<ConvBnUnit>& units,
                           bool training, const torch::Tensor& scale) {
  TORCH_CHECK(!units.empty(), "relu_conv_bn: no units");
  std::vector<torch::Tensor> params;
  for (const auto& u : units) {
    const auto p = params_of(u);
    params.insert(params.end(), p.begin(), p.end());
  }
  if (scale.defined()) params.push_back(scale);
  const ChainSpec spec{&units, training, scale.defined()};
  return ReluConvBnFunction::apply(x, torch::TensorList(params), spec);
}

}  // namespace nas::kernels
