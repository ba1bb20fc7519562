#include "core/text.h"

#include <fmt/format.h>

namespace nas::core {

namespace {
/// One byte as it is printed: itself, or \xNN.
std::string shown(unsigned char c) {
  if (c >= 0x20 && c < 0x7F) return std::string(1, static_cast<char>(c));
  return fmt::format("\\x{:02X}", c);
}
}  // namespace

std::string printable(std::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto s = shown(static_cast<unsigned char>(text[i]));
    if (out.size() + s.size() > max) {
      return out + fmt::format("... ({} bytes in all)", text.size());
    }
    out += s;
  }
  return out;
}

std::string excerpt_at(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  const size_t from = pos > 30 ? pos - 30 : 0;
  const size_t to = std::min(text.size(), pos + 30);
  std::string line, caret;
  for (size_t i = from; i < to; ++i) {
    const auto s = shown(static_cast<unsigned char>(text[i]));
    if (i < pos) caret += std::string(s.size(), ' ');
    line += s;
  }
  return fmt::format("  {}{}{}\n  {}^", from > 0 ? "..." : "", line,
                     to < text.size() ? "..." : "", std::string(from > 0 ? 3 : 0, ' ') + caret);
}

}  // namespace nas::core
