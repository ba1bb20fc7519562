#include "strategies/random_search.h"

#include <fmt/format.h>

#include "core/error.h"

namespace nas::strategies {

const core::OptionTable<RandomSearchOptions>& RandomSearch::options_table() {
  static const auto table = [] {
    core::OptionTable<RandomSearchOptions> t;
    t.add("include_none", &RandomSearchOptions::include_none, "`none` among the ops drawn")
        .add("max_redraws", &RandomSearchOptions::max_redraws,
             "redraws of a duplicate before it is proposed anyway", core::in_closed(0, 1000000));
    return t;
  }();
  return table;
}

RandomSearch::RandomSearch(const nlohmann::json& options) {
  const auto o = options_table().parse(options, "strategy.random");
  include_none_ = o.include_none;
  max_redraws_ = o.max_redraws;
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
