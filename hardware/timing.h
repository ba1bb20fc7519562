#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace nas::hardware {

/// How long to time one thing. A sample is `calls` back-to-back calls
/// (enough to last `min_sample_ms`, so the clock's resolution does not
/// matter); samples are taken in rounds of `round` until the median per
/// call moves less than `tolerance` (relative) from one round to the next
/// after at least `min_samples`, or `max_samples` / `max_seconds` is hit.
struct TimingOptions {
  int64_t warmup = 3;           ///< untimed calls first (at least)
  double min_sample_ms = 2.0;
  int64_t min_samples = 20;
  int64_t max_samples = 200;
  int64_t round = 5;
  double tolerance = 0.01;
  double max_seconds = 3.0;     ///< per timed thing

  /// A fast setting for tests and smoke runs (few samples).
  static TimingOptions quick();
};

/// One timing: per-call median and quartiles over the samples, in ms.
struct Timing {
  double median_ms = 0;
  double p25_ms = 0;
  double p75_ms = 0;
  int64_t samples = 0;
  int64_t calls_per_sample = 0;
  bool stable = false;  ///< the median settled within the tolerance
  std::vector<double> passes;  ///< per-pass medians (time_interleaved)

  /// Interquartile range relative to the median.
  double spread() const { return median_ms > 0 ? (p75_ms - p25_ms) / median_ms : 0.0; }
  nlohmann::json to_json() const;
};

/// Times `fn` on `device`: wall clock on the CPU; on a CUDA device CUDA
/// events recorded on the current stream around each sample (LibTorch 2.x;
/// with 1.13, whose events cannot time, the stream is synchronised before
/// and after each sample and the host clock spans the queued kernels).
Timing time_calls(const std::function<void()>& fn, const torch::Device& device,
                  const TimingOptions& options);

/// Times every function of `fns` in `passes` interleaved passes (pass 1
/// times each once, then pass 2, ...) and gives each the median of its pass
/// medians, with p25/p75 over the passes: a slow phase of a shared machine
/// (another process, a clock change) then hits all of them alike instead of
/// a few. `on_done(i, pass, timing)` after each timing (progress).
std::vector<Timing> time_interleaved(
    const std::vector<std::function<void()>>& fns, const torch::Device& device,
    const TimingOptions& options, int64_t passes,
    const std::function<void(size_t, int64_t, const Timing&)>& on_done);

/// The device a table was measured on: CPU model, threads, LibTorch
/// version, device, clock ("device events" or "host"), batch.
nlohmann::json device_info(const torch::Device& device, int threads, int64_t batch);

}  // namespace nas::hardware
