#include "strategies/evolution.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/options.h"

namespace nas::strategies {

nlohmann::json Evolution::default_options() {
  return {{"population", 10}, {"sample", 3}, {"include_none", true}};
}

Evolution::Evolution(const nlohmann::json& o)
    : population_size_(core::option<int64_t>(o, "population")),
      sample_size_(core::option<int64_t>(o, "sample")),
      include_none_(core::option<bool>(o, "include_none")) {
  if (population_size_ < 1 || population_size_ > 100000) {
    throw ConfigError(fmt::format(
        "strategy.evolution.population: expected 1 to 100000, found {}", population_size_));
  }
  if (sample_size_ < 1 || sample_size_ > 100000) {
    throw ConfigError(fmt::format("strategy.evolution.sample: expected 1 to 100000, found {}",
                                  sample_size_));
  }
}

search_space::Architecture Evolution::propose() {
  if (static_cast<int64_t>(population_.size()) < population_size_) {
    info_ = {{"origin", "random"}};
    return ctx_.space->sample(*ctx_.rng, include_none_);
  }
  // Tournament: the fittest of S members drawn with replacement; ties go to
  // the first drawn.
  const Member* parent = nullptr;
  for (int64_t i = 0; i < sample_size_; ++i) {
    const auto& m = population_[ctx_.rng->uniform_int(static_cast<int64_t>(population_.size()))];
    if (parent == nullptr || m.score > parent->score) parent = &m;
  }
  info_ = {{"origin", "mutation"}, {"parent", parent->text}};
  return ctx_.space->mutate(ctx_.space->parse(parent->text), *ctx_.rng);
}

void Evolution::tell(const TrialOutcome& outcome) {
  population_.push_back({ctx_.space->format(outcome.arch),
                         outcome.ok ? outcome.score : -std::numeric_limits<double>::infinity()});
  if (static_cast<int64_t>(population_.size()) > population_size_) population_.pop_front();
}

nlohmann::json Evolution::save() const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : population_) {
    // JSON has no infinity: a failed member's fitness is null.
    members.push_back({{"arch", m.text},
                       {"score", std::isfinite(m.score) ? nlohmann::json(m.score)
                                                        : nlohmann::json()}});
  }
  return {{"population", members}};
}

void Evolution::load(const nlohmann::json& state) {
  population_.clear();
  for (const auto& m : state.at("population")) {
    population_.push_back({m.at("arch").get<std::string>(),
                           m.at("score").is_null() ? -std::numeric_limits<double>::infinity()
                                                   : m.at("score").get<double>()});
  }
}

}  // namespace nas::strategies
