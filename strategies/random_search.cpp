#include "strategies/random_search.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json RandomSearch::default_options() {
  return {{"include_none", true}, {"max_redraws", 1000}};
}

RandomSearch::RandomSearch(const nlohmann::json& o)
    : include_none_(core::option<bool>(o, "include_none")),
      max_redraws_(core::option<int64_t>(o, "max_redraws")) {
  if (max_redraws_ < 0 || max_redraws_ > 1000000) {
    throw ConfigError(fmt::format(
        "strategy.random.max_redraws: expected 0 to 1000000, found {}", max_redraws_));
  }
}

search_space::Architecture RandomSearch::propose() {
  auto arch = ctx_.space->sample(*ctx_.rng, include_none_);
  auto text = ctx_.space->format(arch);
  for (int64_t i = 0; i < max_redraws_ && seen_.count(text) != 0; ++i) {
    arch = ctx_.space->sample(*ctx_.rng, include_none_);
    text = ctx_.space->format(arch);
  }
  duplicate_ = !seen_.insert(text).second;
  return arch;
}

nlohmann::json RandomSearch::proposal_info() const {
  nlohmann::json j = {{"origin", "random"}};
  if (duplicate_) j["duplicate"] = true;
  return j;
}

nlohmann::json RandomSearch::save() const { return {{"seen", seen_}}; }

void RandomSearch::load(const nlohmann::json& state) {
  seen_ = state.at("seen").get<std::set<std::string>>();
}

}  // namespace nas::strategies
