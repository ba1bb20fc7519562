#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <c10/core/Device.h>
#include <torch/serialize/archive.h>

namespace nas::core {

/// Checkpoint files: a LibTorch archive followed by a 16-byte trailer
/// ("NASCKPT1", the archive's size and its CRC-32), written atomically
/// (temporary file + rename). Loading verifies size and checksum first, so
/// a truncated or bit-flipped checkpoint is an Error naming the file, never
/// a silent resume with other numbers.
/// Loading maps every tensor to `device` (a checkpoint made on CUDA loads on
/// the CPU, for `nas show` or evaluation, and the other way round).
void save_checked(torch::serialize::OutputArchive& archive, const std::string& path);
void load_checked(torch::serialize::InputArchive& archive, const std::string& path,
                  const torch::Device& device = torch::kCPU);

/// Torch's generators into/from a checkpoint: the CPU's ("torch_rng") and,
/// on a CUDA device, that device's ("cuda_rng"). Resumed on the CPU, a CUDA
/// checkpoint's CUDA state is not needed; resumed on CUDA, a CPU checkpoint
/// has none and the CUDA generator keeps its seeding (a note says so).
void write_generators(torch::serialize::OutputArchive& archive, const torch::Device& device);
void read_generators(torch::serialize::InputArchive& archive, const torch::Device& device);

/// What fixes the computation of a run: the resolved config without the
/// keys that only say how or where to compute (threads, device, out).
nlohmann::json fingerprint(const nlohmann::json& config);

/// Writes/reads the fingerprint of `config` into/from a checkpoint archive.
void write_fingerprint(torch::serialize::OutputArchive& archive, const nlohmann::json& config);
/// ConfigError naming every key whose value differs between the fingerprint
/// stored in `archive` and `config` (e.g. an edited config.json, or the
/// checkpoint of another run); `path` names the checkpoint.
void check_fingerprint(torch::serialize::InputArchive& archive, const nlohmann::json& config,
                       const std::string& path);

}  // namespace nas::core
