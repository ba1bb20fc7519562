#include "core/json_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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
    throw JsonError(JsonError::Kind::limit,
                    fmt::format("{}: {} bytes of JSON; expected at most {} MiB", where,
                                  text.size(), kMaxJsonBytes >> 20));
  }
  if (const size_t at = too_deep_at(text); at != std::string::npos) {
    const auto [line, col] = line_col(text, at + 1);
    throw JsonError(JsonError::Kind::limit,
                    fmt::format("{}:{}:{}: JSON nested deeper than {} levels", where, line, col,
                                kMaxJsonDepth));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const auto [line, col] = line_col(text, e.byte);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: x" -> "x"
    if (const auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    throw JsonError(JsonError::Kind::syntax,
                    fmt::format("{}:{}:{}: invalid JSON: {}", where, line, col, what));
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto bracket = what.find("] "); bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    // Valid syntax, unusable value: a number out of range ("number overflow").
    throw JsonError(JsonError::Kind::limit, fmt::format("{}: invalid JSON: {}", where, what));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json(read_text_file(path), path);
}

namespace {

/// Writes all of `bytes` to `fd`; false with errno set on failure.
bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string reason() { return std::strerror(errno); }

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(fmt::format("cannot write '{}': {} (the previous '{}', if any, is kept)", tmp,
                            reason(), path));
  }
  const bool written = write_all(fd, bytes);
  const std::string why = written ? "" : reason();
  if (::close(fd) != 0 || !written) {
    const std::string what = written ? reason() : why;
    std::remove(tmp.c_str());  // never leave the temporary behind
    throw Error(fmt::format("cannot write '{}': {} (the previous '{}', if any, is kept)", tmp,
                            what, path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string what = reason();
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot write '{}': {}", path, what));
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  write_file_atomically(path, text);
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  write_text_file(path, value.dump(2) + "\n");
}

void append_bytes(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(fmt::format("cannot open '{}' for appending: {}", path, reason()));
  struct stat st {};
  const off_t before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
  const bool written = write_all(fd, bytes);
  const std::string why = written ? "" : reason();
  if (!written && before >= 0) {
    // NOTE: a full disk may take part of the bytes: cut them off again, so
    // the file never holds half a line (or half a record).
    [[maybe_unused]] const int rc = ::ftruncate(fd, before);
  }
  if (::close(fd) != 0 || !written) {
    throw Error(fmt::format("cannot append to '{}': {}", path, written ? reason() : why));
  }
}

void append_json_line(const std::string& path, const nlohmann::json& value) {
  append_bytes(path, value.dump() + "\n");
}

}  // namespace nas::core
