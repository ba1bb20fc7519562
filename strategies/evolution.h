#pragma once

#include <deque>
#include <string>

#include "core/option_table.h"
#include "strategies/trial_strategy.h"

namespace nas::strategies {

/// Regularized (aging) evolution, Real et al. (AAAI 2019), as AutoDL's
/// R_EA.py runs it for NAS-Bench-201 (ALGORITHMS.md §9.2): the first
/// `population` proposals are uniform samples; after that each proposal is
/// one `SearchSpace::mutate` (one decision changed to a different op) of
/// the fittest of `sample` members drawn WITH replacement from the
/// population; every told outcome joins the population and, once it holds
/// more than `population`, the oldest leaves. Defaults P = 10, S = 3 (the
/// NAS-Bench-201 paper's REA runs; NASLib's nb201 defaults use larger
/// values). Failed estimates join with fitness -infinity and age out.
struct EvolutionOptions {
  int64_t population = 10;
  int64_t sample = 3;
  bool include_none = true;
};

class Evolution : public TrialStrategy {
 public:
  explicit Evolution(const nlohmann::json& options);
  static const core::OptionTable<EvolutionOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const TrialContext& ctx) override { ctx_ = ctx; }
  search_space::Architecture propose() override;
  void tell(const TrialOutcome& outcome) override;
  nlohmann::json proposal_info() const override { return info_; }
  nlohmann::json save() const override;
  void load(const nlohmann::json& state) override;

 private:
  struct Member {
    std::string text;
    double score;
  };
  int64_t population_size_ = 10;
  int64_t sample_size_ = 3;
  bool include_none_ = true;
  TrialContext ctx_;
  std::deque<Member> population_;  ///< oldest first
  nlohmann::json info_ = nlohmann::json::object();
};

}  // namespace nas::strategies
