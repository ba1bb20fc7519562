#include "core/distributed.h"

#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// The backends this LibTorch can give (core/CMakeLists.txt decides): Gloo
// with Debian's 1.13 (gloo's headers from libgloo-dev, the gloo it was
// built with), NCCL with a CUDA LibTorch.
#ifdef NAS_DIST_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef NAS_DIST_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include "core/error.h"
#include "core/log.h"

namespace nas::core {

namespace {

/// The integer in variable `name`, within [lo, hi]; `fallback` when unset.
int64_t env_int(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    throw ConfigError(fmt::format("environment variable {}: expected an integer in [{}, {}], "
                                  "found '{}'",
                                  name, lo, hi, text));
  }
  return v;
}

std::string env_text(const char* name, const std::string& fallback) {
  const char* text = std::getenv(name);
  return text == nullptr || *text == '\0' ? fallback : text;
}

/// What a failed collective means to the user.
[[noreturn]] void collective_failed(const DistEnv& env, const char* what, const std::exception& e) {
  throw Error(fmt::format(
      "rank {} of {}: {} failed: another rank stopped or hangs (its own message says why; "
      "the run's last checkpoint is intact, resume with the same number of processes): {}",
      env.rank, env.world, what, e.what()));
}

}  // namespace

DistEnv DistEnv::from_environment() {
  DistEnv env;
  env.world = static_cast<int>(env_int("WORLD_SIZE", 1, 1, 1 << 16));
  env.rank = static_cast<int>(env_int("RANK", 0, 0, env.world - 1));
  env.local_rank = static_cast<int>(env_int("LOCAL_RANK", 0, 0, 1 << 16));
  env.master_addr = env_text("MASTER_ADDR", "127.0.0.1");
  env.master_port = static_cast<int>(env_int("MASTER_PORT", 29500, 1, 65535));
  env.agent_store = env_text("TORCHELASTIC_USE_AGENT_STORE", "") == "True";
  return env;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
#ifdef NAS_DIST_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef NAS_DIST_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::chrono::milliseconds timeout{0};

  /// Starts `op(backend)` (a collective) and waits for it.
  template <class Op>
  void run(const DistEnv& env, const char* what, Op&& op) {
    try {
#ifdef NAS_DIST_GLOO
      if (gloo) return static_cast<void>(op(*gloo)->wait(timeout));
#endif
#ifdef NAS_DIST_NCCL
      if (nccl) return static_cast<void>(op(*nccl)->wait(timeout));
#endif
      throw Error("no backend");
    } catch (const std::exception& e) {
      collective_failed(env, what, e);
    }
  }

  void join(const DistEnv& env, bool cuda);
};

void ProcessGroup::Impl::join(const DistEnv& env, bool cuda) {
#ifndef NAS_DIST_NCCL
  const bool have = !cuda;
#elif !defined(NAS_DIST_GLOO)
  const bool have = cuda;
#else
  const bool have = true;
#endif
  if (!have) {  // before the rendezvous: every rank fails alike, none waits for another
    throw ConfigError(fmt::format(
        "data-parallel search on {} needs {}, which this build lacks (Gloo: the build against "
        "Debian's LibTorch; NCCL: a CUDA build); run one process per search",
        cuda ? "CUDA devices" : "the CPU", cuda ? "NCCL" : "Gloo"));
  }
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(env.master_port);
  opts.isServer = env.rank == 0 && !env.agent_store;
  opts.numWorkers = static_cast<size_t>(env.world);
  opts.waitWorkers = false;
  opts.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  store = c10::make_intrusive<c10d::PrefixStore>("naskit", tcp);
#ifdef NAS_DIST_NCCL
  if (cuda) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world, options);
    return;
  }
#endif
#ifdef NAS_DIST_GLOO
  if (!cuda) {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    const auto ifname = env_text("GLOO_SOCKET_IFNAME", "");
    options->devices.push_back(
        !ifname.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
        : env.master_addr == "127.0.0.1" || env.master_addr == "localhost"
            ? c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr)
            : c10d::ProcessGroupGloo::createDefaultDevice());
    gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world, options);
    return;
  }
#endif
}

ProcessGroup::ProcessGroup(const DistEnv& env, torch::Device device,
                           std::chrono::milliseconds timeout)
    : env_(env), backend_(device.is_cuda() ? "nccl" : "gloo"), impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  try {
    impl_->join(env, device.is_cuda());
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: cannot join the process group at {}:{} within {} s "
                            "(are all {} processes started, MASTER_ADDR/MASTER_PORT the same for "
                            "each, the port free?): {}",
                            env.rank, env.world, env.master_addr, env.master_port,
                            timeout.count() / 1000, env.world, e.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::reduce(const std::vector<torch::Tensor>& tensors, bool mean) {
  // Buckets of one dtype, each at most kBucketBytes (a larger tensor alone).
  std::map<c10::ScalarType, std::vector<std::vector<torch::Tensor>>> buckets;
  std::map<c10::ScalarType, int64_t> filled;
  for (const auto& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    auto& list = buckets[t.scalar_type()];
    const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
    if (list.empty() || filled[t.scalar_type()] + bytes > kBucketBytes) {
      list.emplace_back();
      filled[t.scalar_type()] = 0;
    }
    list.back().push_back(t);
    filled[t.scalar_type()] += bytes;
  }
  for (auto& [type, list] : buckets) {
    for (auto& bucket : list) {
      std::vector<torch::Tensor> flat_parts;
      for (const auto& t : bucket) flat_parts.push_back(t.reshape({-1}));
      std::vector<torch::Tensor> flat = {torch::cat(flat_parts)};
      bytes_ += flat[0].numel() * static_cast<int64_t>(flat[0].element_size());
      impl_->run(env_, "an all-reduce", [&](auto& pg) { return pg.allreduce(flat); });
      if (mean) flat[0].div_(env_.world);
      int64_t offset = 0;
      for (auto& t : bucket) {
        t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
        offset += t.numel();
      }
    }
  }
}

void ProcessGroup::average(const std::vector<torch::Tensor>& tensors) { reduce(tensors, true); }

void ProcessGroup::sum(const std::vector<torch::Tensor>& tensors) { reduce(tensors, false); }

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : tensors) {
    if (t.defined() && t.numel() > 0) parts.push_back(t.reshape({-1}).to(torch::kFloat64));
  }
  if (parts.empty()) return;
  std::vector<torch::Tensor> flat = {torch::cat(parts)};
  bytes_ += flat[0].numel() * 8;
  impl_->run(env_, "a broadcast", [&](auto& pg) { return pg.broadcast(flat); });
  int64_t offset = 0;
  for (const auto& t : tensors) {
    if (!t.defined() || t.numel() == 0) continue;
    torch::NoGradGuard no_grad;
    t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

Batch ProcessGroup::shard(const Batch& batch) const {
  const int64_t n = batch.size();
  if (n < env_.world) {
    throw ConfigError(fmt::format("a batch of {} images cannot be split over {} processes: "
                                  "expected data.batch (and the last batch of each split) >= {}",
                                  n, env_.world, env_.world));
  }
  const int64_t lo = n * env_.rank / env_.world, hi = n * (env_.rank + 1) / env_.world;
  return {batch.x.narrow(0, lo, hi - lo), batch.y.narrow(0, lo, hi - lo)};
}

void ProcessGroup::barrier() {
  impl_->run(env_, "a barrier", [&](auto& pg) { return pg.barrier(); });
}

}  // namespace nas::core
