#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "search_space/network.h"

namespace nas::deploy {

/// What an exported model records besides its graph.
struct OnnxModelInfo {
  int64_t in_channels = 3;
  int64_t input_size = 32;
  int64_t num_classes = 10;
  /// metadata_props entries (architecture text, space, naskit version, commit, ...).
  std::map<std::string, std::string> metadata;
};

/// The ONNX opset the models use.
constexpr int64_t kOnnxOpset = 13;

/// Writes the eval-mode forward pass of `net` as an ONNX model (opset 13,
/// IR version 7) to `path`: input "input" [batch, C, H, W] float32 with a
/// free batch dimension, output "logits" [batch, classes]; BatchNorm as
/// BatchNormalization on its running statistics, no auxiliary head, no
/// drop-path. The graph is written node by node from the network's own
/// structure (`NetworkImpl::export_graph`) with the ONNX protobuf classes
/// Debian's libonnx-dev ships, and checked with `onnx::checker` before it
/// is written. Error naming what has no mapping, or why the model is not
/// valid; nothing is written then.
void export_onnx(const search_space::NetworkImpl& net, const OnnxModelInfo& info,
                 const std::string& path);

}  // namespace nas::deploy
