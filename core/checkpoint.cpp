#include "core/checkpoint.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/rng.h"

namespace nas::core {

namespace {

constexpr char kMagic[8] = {'N', 'A', 'S', 'C', 'K', 'P', 'T', '1'};
constexpr size_t kTrailer = 16;

uint32_t crc32_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const auto n = static_cast<uInt>(std::min<size_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), n);
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

/// Flattens `j` into dotted paths -> compact values.
void flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
    return;
  }
  auto text = j.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  out[prefix] = text;
}

}  // namespace

void save_checked(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream buffer;
  archive.save_to(buffer);
  std::string bytes = buffer.str();
  const uint32_t crc = crc32_of(bytes);
  const auto size = static_cast<uint64_t>(bytes.size());
  bytes.append(kMagic, sizeof(kMagic));
  put_u32(bytes, static_cast<uint32_t>(size & 0xFFFFFFFFu) ^ static_cast<uint32_t>(size >> 32));
  put_u32(bytes, crc);
  write_file_atomically(path, bytes);
}

void load_checked(torch::serialize::InputArchive& archive, const std::string& path,
                  const torch::Device& device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: no such checkpoint (or not readable)", path));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kTrailer ||
      bytes.compare(bytes.size() - kTrailer, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    throw Error(fmt::format(
        "{}: not a naskit checkpoint (expected a {}-byte trailer starting with NASCKPT1; "
        "the file has {} bytes and no trailer: truncated, or written by another program)",
        path, kTrailer, bytes.size()));
  }
  const uint64_t size = bytes.size() - kTrailer;
  const uint32_t size_word = get_u32(bytes, bytes.size() - 8);
  const uint32_t crc = get_u32(bytes, bytes.size() - 4);
  bytes.resize(size);
  if (size_word != (static_cast<uint32_t>(size & 0xFFFFFFFFu) ^ static_cast<uint32_t>(size >> 32)) ||
      crc32_of(bytes) != crc) {
    throw Error(fmt::format(
        "{}: checksum mismatch (the checkpoint was damaged after it was written); "
        "refusing to resume from it. Start the run again with another --out",
        path));
  }
  std::istringstream stream(bytes);
  try {
    archive.load_from(stream, device);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: not a readable checkpoint ({})", path,
                            std::string(e.what_without_backtrace())));
  }
}

void write_generators(torch::serialize::OutputArchive& archive, const torch::Device& device) {
  archive.write("torch_rng", torch_rng_state());
  if (device.is_cuda()) archive.write("cuda_rng", torch_rng_state(device));
}

void read_generators(torch::serialize::InputArchive& archive, const torch::Device& device) {
  torch::Tensor cpu, cuda;
  archive.read("torch_rng", cpu);
  set_torch_rng_state(cpu);
  if (!device.is_cuda()) return;
  if (archive.try_read("cuda_rng", cuda)) {
    set_torch_rng_state(cuda, device);
  } else {
    info("note: the checkpoint was made on the CPU; the CUDA generator keeps its seeding");
  }
}

nlohmann::json fingerprint(const nlohmann::json& config) {
  auto f = config;
  for (const char* key : {"threads", "device", "out", "distributed"}) f.erase(key);
  return f;
}

void write_fingerprint(torch::serialize::OutputArchive& archive, const nlohmann::json& config) {
  archive.write("fingerprint", c10::IValue(fingerprint(config).dump()));
}

void check_fingerprint(torch::serialize::InputArchive& archive, const nlohmann::json& config,
                       const std::string& path) {
  c10::IValue stored;
  if (!archive.try_read("fingerprint", stored) || !stored.isString()) {
    throw Error(fmt::format("{}: the checkpoint has no config fingerprint (written by an "
                            "older naskit?); start the run again with another --out",
                            path));
  }
  std::map<std::string, std::string> saved, now;
  flatten(nlohmann::json::parse(stored.toStringRef()), "", saved);
  flatten(fingerprint(config), "", now);
  std::vector<std::string> diffs;
  for (const auto& [key, value] : saved) {
    auto it = now.find(key);
    if (it == now.end()) {
      diffs.push_back(fmt::format("{} (checkpoint {}, config: absent)", key, value));
    } else if (it->second != value) {
      diffs.push_back(fmt::format("{} (checkpoint {}, config {})", key, value, it->second));
    }
  }
  for (const auto& [key, value] : now) {
    if (saved.count(key) == 0) diffs.push_back(fmt::format("{} (checkpoint: absent, config {})", key, value));
  }
  if (diffs.empty()) return;
  const size_t shown = std::min<size_t>(diffs.size(), 8);
  throw ConfigError(fmt::format(
      "{} was made with another configuration; {} key(s) differ: {}{}. A run resumes "
      "only with the config it started with (threads and device may change)",
      path, diffs.size(),
      fmt::join(diffs.begin(), diffs.begin() + static_cast<std::ptrdiff_t>(shown), "; "),
      diffs.size() > shown ? "; ..." : ""));
}

}  // namespace nas::core
