#include "hardware/timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <c10/core/Event.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include "core/interrupt.h"
#include "core/runtime.h"
#include "core/stats.h"
#include "core/torch_compat.h"

namespace nas::hardware {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

bool uses_events(const torch::Device& device) { return device.is_cuda() && compat::kEventTiming; }

/// Milliseconds `calls` calls of `fn` take on `device`: between two events
/// on the device's current stream (the kernels' own time, no host gaps at
/// the ends) where LibTorch can time events; else the host clock around
/// them, with the device synchronised before and after.
double sample_ms(const std::function<void()>& fn, const torch::Device& device, int64_t calls) {
  if (uses_events(device)) {
    const auto stream = c10::impl::getDeviceGuardImpl(device.type())->getStream(device);
    c10::Event start(device.type(), compat::kTimingEventFlag);
    c10::Event end(device.type(), compat::kTimingEventFlag);
    start.record(stream);
    for (int64_t c = 0; c < calls; ++c) fn();
    end.record(stream);
    return compat::event_elapsed_ms(start, end);
  }
  sync(device);
  const auto t = Clock::now();
  for (int64_t c = 0; c < calls; ++c) fn();
  sync(device);
  return ms_since(t);
}

}  // namespace

TimingOptions TimingOptions::quick() {
  TimingOptions o;
  o.warmup = 1;
  o.min_sample_ms = 0.2;
  o.min_samples = 3;
  o.max_samples = 5;
  o.round = 3;
  o.tolerance = 0.5;
  o.max_seconds = 0.5;
  return o;
}

nlohmann::json Timing::to_json() const {
  nlohmann::json j = {{"median_ms", median_ms}, {"p25_ms", p25_ms},   {"p75_ms", p75_ms},
                      {"samples", samples},     {"calls", calls_per_sample}, {"stable", stable}};
  if (!passes.empty()) j["pass_medians_ms"] = passes;
  return j;
}

Timing time_calls(const std::function<void()>& fn, const torch::Device& device,
                  const TimingOptions& o) {
  const auto start = Clock::now();
  // Warm-up: at least `warmup` calls; how long one call takes sizes a sample.
  double warm_ms = 0;
  for (int64_t i = 0; i < std::max<int64_t>(o.warmup, 1); ++i) {
    warm_ms = sample_ms(fn, device, 1);  // the last one: caches are warm by then
  }
  Timing r;
  r.calls_per_sample =
      std::clamp<int64_t>(static_cast<int64_t>(std::ceil(o.min_sample_ms / std::max(warm_ms, 1e-4))),
                          1, 100000);
  std::vector<double> samples;
  double last_median = -1;
  while (true) {
    for (int64_t i = 0; i < std::max<int64_t>(o.round, 1); ++i) {
      samples.push_back(sample_ms(fn, device, r.calls_per_sample) /
                        static_cast<double>(r.calls_per_sample));
    }
    const double m = core::median(samples);
    const auto n = static_cast<int64_t>(samples.size());
    r.stable = last_median > 0 && std::abs(m - last_median) <= o.tolerance * last_median;
    last_median = m;
    if ((n >= o.min_samples && r.stable) || n >= o.max_samples ||
        ms_since(start) >= 1000 * o.max_seconds) {
      break;
    }
  }
  r.samples = static_cast<int64_t>(samples.size());
  r.median_ms = core::quantile(samples, 0.5);
  r.p25_ms = core::quantile(samples, 0.25);
  r.p75_ms = core::quantile(samples, 0.75);
  return r;
}

std::vector<Timing> time_interleaved(
    const std::vector<std::function<void()>>& fns, const torch::Device& device,
    const TimingOptions& options, int64_t passes,
    const std::function<void(size_t, int64_t, const Timing&)>& on_done) {
  passes = std::max<int64_t>(passes, 1);
  std::vector<std::vector<Timing>> all(fns.size());
  for (int64_t pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < fns.size(); ++i) {
      core::throw_if_interrupted("the timing");
      all[i].push_back(time_calls(fns[i], device, options));
      if (on_done) on_done(i, pass, all[i].back());
    }
  }
  std::vector<Timing> out;
  for (const auto& timings : all) {
    std::vector<double> medians;
    int64_t samples = 0;
    bool stable = true;
    for (const auto& t : timings) {
      medians.push_back(t.median_ms);
      samples += t.samples;
      stable = stable && t.stable;
    }
    Timing t = timings.front();
    t.median_ms = core::median(medians);
    t.p25_ms = core::quantile(medians, 0.25);
    t.p75_ms = core::quantile(medians, 0.75);
    t.samples = samples;
    t.stable = stable;
    t.passes = medians;
    out.push_back(t);
  }
  return out;
}

nlohmann::json device_info(const torch::Device& device, int threads, int64_t batch) {
  return {{"device", device.str()},
          {"cpu_model", core::cpu_model()},
          {"threads", threads},
          {"libtorch_version", core::torch_version()},
          {"toolkit_version", core::toolkit_version()},
          {"clock", uses_events(device) ? "device events" : "host"},
          {"batch", batch}};
}

}  // namespace nas::hardware
