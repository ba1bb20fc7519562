#pragma once

/// The one place where naskit meets the differences between LibTorch
/// versions: Debian's 1.13 (the default CPU build) and 2.x (PyPI's CUDA
/// wheel, `scripts/build.sh --cuda`). Everything else is written against
/// these names and has no version `#if`. Where the difference can be told
/// from a type, it is (no preprocessor); where it cannot, the check is on
/// `TORCH_VERSION_MAJOR` here and nowhere else.

#include <c10/core/Event.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace nas::compat {

/// The key type of an optimizer's per-parameter state map: the parameter's
/// TensorImpl address as a string in 1.13, the address itself in 2.x.
using OptimizerStateKey =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

/// `optimizer.state()`'s key for parameter `p` (a template so that only the
/// branch of this LibTorch's key type is compiled).
template <class Key = OptimizerStateKey>
Key optimizer_state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // what 1.13's c10::guts::to_string does
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

/// Device events that record timestamps. LibTorch 2.x's `c10::Event` times
/// (`elapsedTime`, with `BACKEND_DEFAULT` = timing enabled); 1.13's cannot
/// (nor synchronize), and callers fall back to synchronising the device and
/// the host clock. `event_elapsed_ms` waits for `end` first.
#if TORCH_VERSION_MAJOR >= 2
inline constexpr bool kEventTiming = true;
inline constexpr c10::EventFlag kTimingEventFlag = c10::EventFlag::BACKEND_DEFAULT;
inline double event_elapsed_ms(const c10::Event& start, const c10::Event& end) {
  end.synchronize();
  return start.elapsedTime(end);
}
#else
inline constexpr bool kEventTiming = false;
inline constexpr c10::EventFlag kTimingEventFlag = c10::EventFlag::PYTORCH_DEFAULT;
inline double event_elapsed_ms(const c10::Event&, const c10::Event&) { return 0.0; }
#endif

}  // namespace nas::compat
