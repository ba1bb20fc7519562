#include "strategies/gumbel.h"

#include <torch/torch.h>

namespace nas::strategies {

torch::Tensor gumbel_like(const torch::Tensor& like) {
  // The AutoDL code loops until no sample is infinite (AutoDL#99).
  while (true) {
    auto g = -torch::empty_like(like, torch::MemoryFormat::Contiguous)
                  .exponential_()
                  .log();
    if (torch::isfinite(g).all().item<bool>()) return g;
  }
}

torch::Tensor gumbel_softmax(const torch::Tensor& logits, double tau) {
  return torch::softmax((logits + gumbel_like(logits.detach())) / tau, -1);
}

double linear_schedule(double start, double end, int64_t epoch, int64_t epochs) {
  if (epochs <= 1) return start;
  return start - (start - end) * static_cast<double>(epoch) /
                     static_cast<double>(epochs - 1);
}

}  // namespace nas::strategies
