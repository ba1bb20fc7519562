#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nas::deploy {

/// One attribute of an ONNX node: a list of integers, an integer or a float.
struct OnnxAttribute {
  enum class Kind { ints, integer, real };
  std::string name;
  Kind kind = Kind::ints;
  std::vector<int64_t> ints;
  int64_t i = 0;
  float f = 0;
};

/// An ONNX model under construction (onnx::ModelProto from Debian's
/// libonnx-dev inside). This file and its .cpp see no LibTorch header: a
/// LibTorch may ship its own, older protobuf headers (PyPI's wheel does),
/// which must not meet the ones libonnx was generated with.
class OnnxModel {
 public:
  /// A model of opset `opset` (IR version 7) whose graph is `name`.
  OnnxModel(const std::string& name, int64_t opset);
  ~OnnxModel();
  OnnxModel(const OnnxModel&) = delete;
  OnnxModel& operator=(const OnnxModel&) = delete;

  /// Adds a node; returns the name of its one output (`<op>_<n>`).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<OnnxAttribute>& attributes = {});
  /// Adds a node with the given output name.
  void node_to(const std::string& op, const std::vector<std::string>& inputs,
               const std::string& output);
  /// Initializers (raw little-endian data).
  void float_initializer(const std::string& name, const std::vector<int64_t>& dims,
                         const float* data);
  void int64_initializer(const std::string& name, const std::vector<int64_t>& dims,
                         const int64_t* data);
  /// A float32 graph input or output of shape [batch, dims...] (batch free).
  void input(const std::string& name, const std::vector<int64_t>& dims);
  void output(const std::string& name, const std::vector<int64_t>& dims);
  void metadata(const std::string& key, const std::string& value);

  /// The model checked by onnx::checker and serialised; Error saying why
  /// when it is not valid.
  std::string checked_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nas::deploy
