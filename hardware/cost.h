#pragma once

#include <cstdint>
#include <string>

#include <torch/nn/module.h>

namespace nas::hardware {

/// Number of trainable weights of `module`, skipping parameters whose name
/// starts with `exclude_prefix` (e.g. "auxiliary_head." as the DARTS
/// reference does when it reports model size).
int64_t count_parameters(const torch::nn::Module& module,
                         const std::string& exclude_prefix = "");

}  // namespace nas::hardware
