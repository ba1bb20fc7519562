#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/batch.h"

namespace nas::core {

/// This process's place in a data-parallel job, from the variables that
/// torchrun, Slurm scripts and `nas search --nproc` set: RANK, WORLD_SIZE,
/// LOCAL_RANK, MASTER_ADDR, MASTER_PORT, and TORCHELASTIC_USE_AGENT_STORE
/// (torchrun's agent already hosts the store). No WORLD_SIZE: one process.
struct DistEnv {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;

  /// ConfigError naming the variable when one is malformed or out of range.
  static DistEnv from_environment();
};

/// A c10d process group over every rank of the job: Gloo over TCP on the
/// CPU, NCCL on CUDA devices (where the LibTorch has it). Rendezvous through
/// a TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 hosts it unless torchrun's
/// agent does). Every collective gives up after `timeout`, so a rank that
/// died or hangs stops the others with an error instead of a silent hang.
class ProcessGroup {
 public:
  ProcessGroup(const DistEnv& env, torch::Device device, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int world() const { return env_.world; }
  bool leader() const { return env_.rank == 0; }
  /// "gloo" or "nccl".
  const std::string& backend() const { return backend_; }

  /// Averages `tensors` over the ranks, in place: flattened per dtype into
  /// buckets of at most `kBucketBytes`, one all-reduce per bucket.
  void average(const std::vector<torch::Tensor>& tensors);
  /// Sums `tensors` over the ranks, in place (same buckets).
  void sum(const std::vector<torch::Tensor>& tensors);
  /// Rank 0's values of `tensors` on every rank, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  /// This rank's contiguous part of `batch`: rows [n r / W, n (r+1) / W).
  /// ConfigError when the batch has fewer rows than there are ranks.
  Batch shard(const Batch& batch) const;
  /// Waits for every rank.
  void barrier();
  /// Bytes all-reduced or broadcast by this rank so far (its payload).
  int64_t bytes_sent() const { return bytes_; }

  static constexpr int64_t kBucketBytes = 25 << 20;  ///< as DDP's default bucket

 private:
  struct Impl;
  void reduce(const std::vector<torch::Tensor>& tensors, bool mean);
  DistEnv env_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
  int64_t bytes_ = 0;
};

}  // namespace nas::core
