#include "core/json_io.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::core {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}' for reading", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into a line and column for the message.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw ConfigError(fmt::format("{}:{}:{}: invalid JSON ({})", path, line,
                                  col, e.what()));
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("cannot open '{}' for writing", tmp));
    out << text;
    out.flush();
    if (!out) throw Error(fmt::format("failed writing '{}'", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw Error(fmt::format("cannot rename '{}' to '{}'", tmp, path));
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
