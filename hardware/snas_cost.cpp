#include "hardware/snas_cost.h"

#include <fmt/format.h>

#include "core/error.h"
#include "search_space/chain.h"

namespace nas::hardware {

namespace {
/// The kernel size of "<family>_<k>x<k>", or 0.
int64_t kernel_of(const std::string& op, const std::string& family) {
  if (op.rfind(family + "_", 0) != 0) return 0;
  const auto k = op.substr(family.size() + 1);
  if (k == "1x1") return 1;
  if (k == "3x3") return 3;
  if (k == "5x5") return 5;
  if (k == "7x7") return 7;
  return 0;
}

OpCost mbconv_cost(const search_space::BlockOp& b, int64_t c_in, int64_t c_out, int64_t h,
                   int64_t stride) {
  const double C = static_cast<double>(c_in), out = static_cast<double>(c_out);
  const double M = C * static_cast<double>(b.expansion), k2 = static_cast<double>(b.kernel * b.kernel);
  const double h2 = static_cast<double>(h * h);
  const double y = static_cast<double>((h + stride - 1) / stride), y2 = y * y;
  const bool expand = b.expansion != 1;
  const double g = static_cast<double>(b.groups);
  OpCost cost;
  cost.size = (expand ? C * M / g : 0) + M * k2 + M * out / g;
  cost.flops = search_space::mbconv_macs(b, c_in, c_out, h, stride);
  cost.mac = (expand ? h2 * (C + M) : 0) + (h2 + y2) * M + y2 * (M + out) + cost.size;
  return cost;
}
}  // namespace

OpCost snas_op_cost(const std::string& op, int64_t c_in, int64_t h, int64_t stride,
                    int64_t c_out) {
  const double C = static_cast<double>(c_in);
  const bool s1 = stride == 1;
  const double y = static_cast<double>(s1 ? h : h / 2);
  const double y2 = y * y;
  OpCost cost;
  if (op == "none" || op == "zero") return cost;
  if (op == "skip") {  // a chain's: the identity (never runs) or a 1x1 projection
    const double out = static_cast<double>(c_out > 0 ? c_out : c_in);
    if (s1 && out == C) return cost;
    cost.size = C * out;
    cost.flops = cost.size * y2;
    cost.mac = static_cast<double>(h * h) * C + y2 * out + cost.size;
    return cost;
  }
  if (op.rfind("mb", 0) == 0) {
    return mbconv_cost(search_space::parse_block_op(op), c_in, c_out > 0 ? c_out : c_in, h,
                       stride);
  }
  if (op == "max_pool_3x3" || op == "avg_pool_3x3") {
    cost.flops = 9 * y2 * C;
    cost.mac = (s1 ? 2 : 5) * y2 * C;
  } else if (op == "skip_connect" && s1) {
    cost.mac = 2 * C * y2;
  } else if (op == "skip_connect") {  // FactorizedReduce
    cost.size = 2 * C * static_cast<double>(c_in / 2);
    cost.flops = cost.size * y2;
    cost.mac = 2 * y2 * (4 * C + static_cast<double>(c_in / 2)) + cost.size;
  } else if (const int64_t k = kernel_of(op, "sep_conv"); k > 0) {
    cost.size = 2 * C * static_cast<double>(k * k) + 2 * C * C;
    cost.flops = cost.size * y2;
    cost.mac = y2 * ((s1 ? 7 : 10) * C + C) + cost.size;
  } else if (const int64_t k = kernel_of(op, "dil_conv"); k > 0) {
    cost.size = C * static_cast<double>(k * k) + C * C;
    cost.flops = cost.size * y2;
    cost.mac = y2 * ((s1 ? 3 : 6) * C + C) + cost.size;
  } else if (const int64_t k = kernel_of(op, "nor_conv"); k > 0) {
    cost.size = C * C * static_cast<double>(k * k);
    cost.flops = cost.size * y2;
    cost.mac = y2 * ((s1 ? 1 : 4) * C + C) + cost.size;
  } else {
    throw ConfigError(fmt::format(
        "SNAS resource penalty: no cost formula for op '{}' (known: none, pools, "
        "skip_connect, sep_conv_kxk, dil_conv_kxk, nor_conv_kxk, mb<e>_k<k>[_g<g>], skip, zero)",
        op));
  }
  return cost;
}

}  // namespace nas::hardware
