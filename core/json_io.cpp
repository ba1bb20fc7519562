#include "core/json_io.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::core {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("'{}' is a directory, expected a file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}' for reading (no such file, or not readable)", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxJsonBytes = size_t{64} << 20;

/// Line and column of byte `offset` (1-based).
std::pair<size_t, size_t> line_col(const std::string& text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

/// The byte offset where nesting first exceeds the limit, or npos.
size_t too_deep_at(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string::npos;
}

}  // namespace

nlohmann::json parse_json(const std::string& text, const std::string& where) {
  if (text.size() > kMaxJsonBytes) {
    throw ConfigError(fmt::format("{}: {} bytes of JSON; expected at most {} MiB", where,
                                  text.size(), kMaxJsonBytes >> 20));
  }
  if (const size_t at = too_deep_at(text); at != std::string::npos) {
    const auto [line, col] = line_col(text, at + 1);
    throw ConfigError(fmt::format("{}:{}:{}: JSON nested deeper than {} levels", where, line,
                                  col, kMaxJsonDepth));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const auto [line, col] = line_col(text, e.byte);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: x" -> "x"
    if (const auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    throw ConfigError(fmt::format("{}:{}:{}: invalid JSON: {}", where, line, col, what));
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto bracket = what.find("] "); bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    throw ConfigError(fmt::format("{}: invalid JSON: {}", where, what));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json(read_text_file(path), path);
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("cannot open '{}' for writing", tmp));
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error(fmt::format("failed writing '{}'", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());  // never leave the temporary behind
    throw Error(fmt::format("cannot write '{}' (is it a directory, or not writable?)", path));
  }
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_text_file(path, value.dump(2) + "\n");
}

void append_json_line(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path, std::ios::app);
  if (!out) throw Error(fmt::format("cannot open '{}' for appending", path));
  out << value.dump() << "\n";
  out.flush();
}

}  // namespace nas::core
