#pragma once

#include <set>
#include <string>

#include "core/option_table.h"
#include "strategies/trial_strategy.h"

namespace nas::strategies {

/// Random search without weight sharing (the baseline of Li & Talwalkar
/// 2019 and of NAS-Bench-201's RANDOM.py): uniform samples from the space
/// (`SearchSpace::sample`, `none` among the ops when `include_none`, as
/// AutoDL samples NB201), each estimated on its own. An architecture is
/// never proposed twice: a duplicate is redrawn, up to `max_redraws` times
/// in a row (then the space is taken as exhausted and the duplicate is
/// proposed).
struct RandomSearchOptions {
  bool include_none = true;
  int64_t max_redraws = 1000;
};

class RandomSearch : public TrialStrategy {
 public:
  explicit RandomSearch(const nlohmann::json& options);
  static const core::OptionTable<RandomSearchOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const TrialContext& ctx) override { ctx_ = ctx; }
  search_space::Architecture propose() override;
  void tell(const TrialOutcome&) override {}
  nlohmann::json proposal_info() const override;
  nlohmann::json save() const override;
  void load(const nlohmann::json& state) override;

 private:
  bool include_none_ = true;
  int64_t max_redraws_ = 1000;
  TrialContext ctx_;
  std::set<std::string> seen_;
  bool duplicate_ = false;
};

}  // namespace nas::strategies
