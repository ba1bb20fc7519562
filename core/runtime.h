#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace nas::core {

/// Parses `cpu`, `cuda` or `cuda:N`. ConfigError for anything else, and one
/// saying how to get a CUDA build (or that no device is seen) when CUDA is
/// asked for but absent.
torch::Device parse_device(const std::string& text);

/// Sets LibTorch's intra-op threads; 0 means all cores (LibTorch picks 1 on
/// some machines, so it is always set explicitly). Returns the count set.
int set_threads(int threads);

/// Keeps freed memory in the process for reuse (glibc: no mmap below
/// 32 MiB, no trimming below 512 MiB). A search step allocates and frees
/// hundreds of activation tensors of 0.1-4 MiB; with glibc's defaults many
/// of them come fresh from the kernel each step and are paid for again in
/// page faults. Called first thing by `nas`; a no-op elsewhere than glibc.
void keep_freed_memory();

/// Toolkit version and the git commit it was built from.
const char* toolkit_version();
const char* git_commit();
std::string torch_version();
/// Whether this LibTorch was built with CUDA (whether or not a device is seen).
bool torch_has_cuda();

/// Peak resident memory of this process in MiB (CPU), and the peak CUDA
/// memory allocated in MiB when `device` is CUDA (0 otherwise).
double peak_rss_mib();
/// MemAvailable of /proc/meminfo in MiB (0 when unknown).
double available_memory_mib();

/// The CPU's model name from /proc/cpuinfo ("unknown" when absent).
std::string cpu_model();

/// Facts about the build and the machine for `nas --version` and env.json.
nlohmann::json environment_info(const torch::Device& device, int threads);

}  // namespace nas::core
