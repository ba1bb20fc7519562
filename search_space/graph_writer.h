#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

namespace nas::search_space {

/// What an exporter (deploy/onnx_writer.h: ONNX) receives from a
/// stand-alone network: its eval-mode computation, op by op, with the
/// modules' own parameters. Networks and ops describe themselves through
/// these calls in `export_graph`; each call adds one or a few nodes and
/// returns the name of its result. Tensors are [N, C, H, W] until
/// `global_avg_pool` ([N, C]); N is left free.
class GraphWriter {
 public:
  using Value = std::string;
  virtual ~GraphWriter() = default;

  /// The module's 2-d convolution: weight, bias, stride, padding, dilation, groups.
  virtual Value conv(const Value& x, const torch::nn::Conv2dImpl& conv) = 0;
  /// Eval-mode BatchNorm: the running statistics and, when affine, its
  /// weight and bias (Error without running statistics).
  virtual Value batch_norm(const Value& x, const torch::nn::BatchNorm2dImpl& bn) = 0;
  /// [N, in] -> [N, out].
  virtual Value linear(const Value& x, const torch::nn::LinearImpl& fc) = 0;
  virtual Value relu(const Value& x) = 0;
  /// min(max(x, 0), 6).
  virtual Value relu6(const Value& x) = 0;
  /// k x k max or average pooling, symmetric padding; the average counts
  /// the padding only with `count_include_pad`.
  virtual Value pool(const Value& x, bool max, int64_t kernel, int64_t stride, int64_t padding,
                     bool count_include_pad) = 0;
  /// Mean over H and W: [N, C, H, W] -> [N, C].
  virtual Value global_avg_pool(const Value& x) = 0;
  /// The element-wise sum of `xs` (one or more).
  virtual Value sum(const std::vector<Value>& xs) = 0;
  /// `xs` joined along the channels.
  virtual Value concat(const std::vector<Value>& xs) = 0;
  /// x[:, :, 1:, 1:] zero-padded by one row and column at the end (the
  /// second branch of DARTS's FactorizedReduce).
  virtual Value shift(const Value& x) = 0;
  /// Zeros of x's shape with H and W subsampled by `stride` (a node whose
  /// every input is `none`).
  virtual Value zeros(const Value& x, int64_t stride) = 0;
  /// ShuffleNet's channel shuffle of `channels` channels in `groups` groups.
  virtual Value channel_shuffle(const Value& x, int64_t channels, int64_t groups) = 0;

  /// The modules of `seq` in order: Conv2d, BatchNorm2d, ReLU, ReLU6,
  /// AvgPool2d, MaxPool2d, Linear; Error naming any other.
  Value sequential(const Value& x, const torch::nn::Sequential& seq);
};

}  // namespace nas::search_space
