#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nas::core {

/// One scalar of an event: TensorBoard's tag and value.
using Scalar = std::pair<std::string, double>;

/// A TensorBoard event file (`events.out.tfevents.<seconds>.<host>.<pid>`)
/// that TensorBoard's own reader reads: TFRecord framing (length, masked
/// CRC-32C of the length, the `Event` bytes, masked CRC-32C of the data)
/// around `tensorboard.Event` protobufs, encoded here by hand — naskit
/// writes only the fields below, so it needs neither protoc nor libprotobuf.
///
///   Event      { double wall_time = 1; int64 step = 2; string file_version = 3;
///                Summary summary = 5; SessionLog session_log = 7; }
///   Summary    { repeated Value value = 1; }
///   Value      { string tag = 1; float simple_value = 2; }
///   SessionLog { SessionStatus status = 1; }   // START = 1
///
/// (tensorboard/compat/proto/event.proto and summary.proto.) Every record
/// is appended whole (core::append_bytes); a run killed mid-record leaves
/// a truncated last record, which TensorBoard skips.
///
/// Each process writes its own file: one created later sorts after the
/// files already in the directory (TensorBoard reads them in name order).
class EventFile {
 public:
  /// Creates a new event file in `dir` and writes its version record
  /// (`brain.Event:2`). Error naming the file when it cannot be written.
  explicit EventFile(const std::string& dir);

  const std::string& path() const { return path_; }

  /// One summary with `values` at `step` (TensorBoard keeps scalars as
  /// float32: each value is rounded to the nearest float).
  void scalars(int64_t step, const std::vector<Scalar>& values) const;

  /// A SessionLog START at `step`: TensorBoard then drops every event at a
  /// step >= `step` read from earlier files (what a resumed run redoes).
  void session_start(int64_t step) const;

 private:
  void append(const std::string& event) const;
  std::string path_;
};

/// The numbers of a JSON object as scalars, in key order: nested objects'
/// keys joined by '/', array elements by their index; strings, booleans
/// and nulls are left out, as are non-finite numbers.
std::vector<Scalar> json_scalars(const nlohmann::json& object);

/// CRC-32C (Castagnoli) of `data`, and TFRecord's masked form of it.
uint32_t crc32c(const std::string& data);
uint32_t masked_crc32c(const std::string& data);

/// The file name of an event file created at `seconds` by `host` and `pid`.
std::string event_file_name(int64_t seconds, const std::string& host, int64_t pid);

}  // namespace nas::core
