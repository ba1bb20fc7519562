#include "strategies/arch_list.h"

#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"

namespace nas::strategies {

ArchList::ArchList(const nlohmann::json& o) : file_(core::option<std::string>(o, "file")) {
  if (file_.empty()) {
    throw ConfigError(
        "strategy.list.file: expected a file with one architecture per line, found none");
  }
}

void ArchList::attach(const TrialContext& ctx) {
  std::istringstream in(core::read_text_file(file_));
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      archs_.push_back(ctx.space->parse(line));
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}:{}: {}", file_, number, e.what()));
    }
    lines_.push_back(number);
  }
  if (archs_.empty()) {
    throw ConfigError(fmt::format("{}: expected at least one architecture, found none", file_));
  }
}

search_space::Architecture ArchList::propose() {
  if (next_ >= static_cast<int64_t>(archs_.size())) {
    throw Error(fmt::format("{}: every architecture was proposed", file_));
  }
  return archs_[next_++];
}

nlohmann::json ArchList::proposal_info() const {
  return {{"origin", fmt::format("{}:{}", file_, lines_[next_ - 1])}};
}

int64_t ArchList::remaining() const { return static_cast<int64_t>(archs_.size()) - next_; }

}  // namespace nas::strategies
