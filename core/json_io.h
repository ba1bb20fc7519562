#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nas::core {

/// Reads a JSON file; Error naming the file and the line/column on bad JSON.
nlohmann::json read_json_file(const std::string& path);

/// Writes `value` pretty-printed, atomically (temporary file + rename), so a
/// killed run never leaves half a file behind.
void write_json_file(const std::string& path, const nlohmann::json& value);

/// Writes `text` atomically.
void write_text_file(const std::string& path, const std::string& text);

/// Appends one compact JSON line and flushes it (for log.jsonl).
void append_json_line(const std::string& path, const nlohmann::json& value);

/// Reads a whole text file; Error naming the file when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace nas::core
