#include "strategies/arch_list.h"

#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"

namespace nas::strategies {

const core::OptionTable<ArchListOptions>& ArchList::options_table() {
  static const auto table = [] {
    core::OptionTable<ArchListOptions> t;
    t.add("file", &ArchListOptions::file, "the architectures, one per line in the space's text",
          core::required("a file with one architecture per line"));
    return t;
  }();
  return table;
}

ArchList::ArchList(const nlohmann::json& options)
    : file_(options_table().parse(options, "strategy.list").file) {}

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
