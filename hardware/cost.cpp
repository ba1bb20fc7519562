#include "hardware/cost.h"

#include <torch/torch.h>

namespace nas::hardware {

int64_t count_parameters(const torch::nn::Module& module,
                         const std::string& exclude_prefix) {
  int64_t n = 0;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (!exclude_prefix.empty() && item.key().rfind(exclude_prefix, 0) == 0) {
      continue;
    }
    n += item.value().numel();
  }
  return n;
}

}  // namespace nas::hardware
