#include "strategies/evolution.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::strategies {

const core::OptionTable<EvolutionOptions>& Evolution::options_table() {
  static const auto table = [] {
    core::OptionTable<EvolutionOptions> t;
    t.add("population", &EvolutionOptions::population, "population size P",
          core::in_closed(1, 100000))
        .add("sample", &EvolutionOptions::sample, "tournament size S (drawn with replacement)",
             core::in_closed(1, 100000))
        .add("include_none", &EvolutionOptions::include_none,
             "`none` among the ops of the first, uniform proposals");
    return t;
  }();
  return table;
}

Evolution::Evolution(const nlohmann::json& options) {
  const auto o = options_table().parse(options, "strategy.evolution");
  population_size_ = o.population;
  sample_size_ = o.sample;
  include_none_ = o.include_none;
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
