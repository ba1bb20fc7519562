#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace nas::core {

/// The ConfigError of JSON text that cannot be used, with its kind:
/// `syntax` (not JSON at all) or `limit` (JSON, but deeper than 64 levels,
/// over 64 MiB, or a number out of range) — so a caller that takes non-JSON
/// text as a plain string (`--set k=v`) still reports the second.
class JsonError : public ConfigError {
 public:
  enum class Kind { syntax, limit };
  JsonError(Kind kind, const std::string& what) : ConfigError(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// Parses JSON text from `where` (a file name, a flag): JsonError naming
/// `where` and the line/column on bad JSON or a number out of range, and
/// on nesting deeper than 64 levels or text over 64 MiB (checked before
/// parsing, so hostile input cannot exhaust the stack).
nlohmann::json parse_json(const std::string& text, const std::string& where);

/// Reads a JSON file with parse_json; Error when it cannot be read.
nlohmann::json read_json_file(const std::string& path);

/// Writes `value` pretty-printed, atomically (temporary file + rename), so a
/// killed run never leaves half a file behind.
void write_json_file(const std::string& path, const nlohmann::json& value);

/// Writes `text` atomically.
void write_text_file(const std::string& path, const std::string& text);

/// Writes `bytes` to `path` atomically: `path`.tmp, then a rename. Error
/// naming the file and the system's reason (e.g. "No space left on
/// device") when it cannot; then the temporary is removed and the previous
/// file at `path` is untouched.
void write_file_atomically(const std::string& path, const std::string& bytes);

/// Appends one compact JSON line (for log.jsonl): written whole or not at
/// all (a failed write is cut off again), Error with the reason otherwise.
void append_json_line(const std::string& path, const nlohmann::json& value);

/// Appends `bytes` to `path` (created when missing) the same way: whole or
/// not at all, Error with the reason otherwise.
void append_bytes(const std::string& path, const std::string& bytes);

/// Reads a whole text file; Error naming the file when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace nas::core
