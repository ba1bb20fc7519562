#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nas::core {

/// `text` made safe to print in an error message: at most `max` characters
/// (cut with "..." and the total length), control and non-ASCII bytes as
/// \xNN.
std::string printable(std::string_view text, size_t max = 80);

/// Two lines pointing at `pos` in `text`: a window of about 60 printable
/// characters around it and a caret under the position.
std::string excerpt_at(std::string_view text, size_t pos);

}  // namespace nas::core
