#include "core/runtime.h"

#include <fstream>

#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <thread>

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include "core/error.h"
#include "core/text.h"

namespace nas::core {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::Device(torch::kCPU);
  if (text.rfind("cuda", 0) == 0) {
    int index = -1;
    if (text.size() > 4) {
      if (text[4] != ':' || text.size() == 5 || text.size() > 8 ||
          text.find_first_not_of("0123456789", 5) != std::string::npos) {
        throw ConfigError(fmt::format(
            "--device: expected cpu, cuda or cuda:N (N < 1000), found '{}'",
            core::printable(text, 40)));
      }
      index = std::stoi(text.substr(5));
    }
    if (!torch_has_cuda()) {
      throw ConfigError(fmt::format(
          "--device {}: this naskit is built against a CPU LibTorch ({}); build it for CUDA "
          "(scripts/build.sh --cuda, see the README's \"Building for CUDA\") or use --device cpu",
          text, torch_version()));
    }
    if (!torch::cuda::is_available()) {
      throw ConfigError(fmt::format(
          "--device {}: LibTorch {} has CUDA but sees no CUDA device (no GPU, no driver, or "
          "CUDA_VISIBLE_DEVICES hides them); use --device cpu",
          text, torch_version()));
    }
    if (index >= static_cast<int>(torch::cuda::device_count())) {
      throw ConfigError(fmt::format("--device {}: only {} CUDA device(s)", text,
                                    torch::cuda::device_count()));
    }
    return torch::Device(torch::kCUDA, static_cast<int8_t>(index));
  }
  throw ConfigError(
      fmt::format("--device: expected cpu, cuda or cuda:N, found '{}'", text));
}

int set_threads(int threads) {
  if (threads < 0) {
    throw ConfigError(
        fmt::format("--threads: expected 0 (all cores) or more, found {}",
                    threads));
  }
  if (threads == 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  torch::set_num_threads(threads);
  return threads;
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  // 32 MiB is glibc's largest mmap threshold on 64-bit systems.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

std::string torch_version() { return TORCH_VERSION; }

bool torch_has_cuda() {
  // libc10_cuda registers CUDA's device guard when it loads, driver or not.
  return c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA);
}

double available_memory_mib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib / 1024.0;
  }
  return 0.0;
}

double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is KiB
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto start = line.find_first_not_of(' ', colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "unknown";
}

nlohmann::json environment_info(const torch::Device& device, int threads) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return {
      {"toolkit_version", toolkit_version()},
      {"git_commit", git_commit()},
      {"libtorch_version", torch_version()},
      {"libtorch_cuda", torch_has_cuda()},
      {"cuda_available", torch::cuda::is_available()},
      {"cuda_devices", torch::cuda::device_count()},
      {"device", device.str()},
      {"threads", threads},
      {"hardware_concurrency", std::thread::hardware_concurrency()},
      {"cpu_model", cpu_model()},
      {"hostname", host},
  };
}

}  // namespace nas::core
