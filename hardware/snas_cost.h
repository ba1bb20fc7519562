#pragma once

#include <cstdint>
#include <string>

namespace nas::hardware {

/// The static costs SNAS's resource constraint uses for one op, per image:
/// `size` (weights), `flops` (multiply-adds) and `mac` (memory access).
struct OpCost {
  double size = 0;
  double flops = 0;
  double mac = 0;
};

/// SNAS's cost formulas (SNAS-Series `operations.py`), for op `op` with C
/// channels in and out, input height `h` and `stride`; y = h (stride 1) or
/// h / 2 rounded down (stride 2), as the reference computes it:
/// - pools: flops 9 y^2 C, mac 2 y^2 C (stride 1) or 5 y^2 C (stride 2);
/// - identity: mac 2 C y^2; `none`: nothing;
/// - FactorizedReduce (stride-2 skip): size C^2, flops size y^2,
///   mac 2 y^2 (4 C + C/2) + size;
/// - sep_conv k: size 2 C k^2 + 2 C^2, flops size y^2, mac y^2 (7 C + C) +
///   size (stride 2: 10 C + C);
/// - dil_conv k: size C k^2 + C^2, flops size y^2, mac y^2 (3 C + C) + size
///   (stride 2: 6 C + C);
/// - ReLU-conv-BN k (NB201's nor_conv): size C^2 k^2, flops size y^2,
///   mac y^2 (C + C) + size (stride 2: 4 C + C);
/// - the chains' MBConv `mb{e}_k{k}` (C -> `c_out`, mid M = e C; naskit's,
///   by the same rules: flops = weights x output positions, mac = the
///   feature maps each conv reads and writes + weights; y = ceil(h / s),
///   the block's real output): size C M [e > 1] + M k^2 + M c_out, flops
///   h^2 C M [e > 1] + y^2 (M k^2 + M c_out), mac h^2 (C + M) [e > 1] +
///   (h^2 + y^2) M + y^2 (M + c_out) + size; `zero`: nothing.
/// `c_out` 0: C. ConfigError for an op without a formula.
OpCost snas_op_cost(const std::string& op, int64_t c, int64_t h, int64_t stride,
                    int64_t c_out = 0);

}  // namespace nas::hardware
