#pragma once

#include <string>
#include <vector>

#include "core/option_table.h"
#include "strategies/trial_strategy.h"

namespace nas::strategies {

/// Proposes the architectures of a file in order, one per line in the
/// space's text format (blank lines and lines starting with '#' skipped):
/// evaluating published architectures, or ranking a fixed set with two
/// estimators (`nas rank --arch-file`). A line that does not parse is a
/// ConfigError naming the file and line, before anything runs.
struct ArchListOptions {
  std::string file;
};

class ArchList : public TrialStrategy {
 public:
  explicit ArchList(const nlohmann::json& options);
  static const core::OptionTable<ArchListOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }
  void attach(const TrialContext& ctx) override;
  search_space::Architecture propose() override;
  void tell(const TrialOutcome&) override {}
  nlohmann::json proposal_info() const override;
  int64_t remaining() const override;
  nlohmann::json save() const override { return {{"next", next_}}; }
  void load(const nlohmann::json& state) override { next_ = state.at("next").get<int64_t>(); }

 private:
  std::string file_;
  std::vector<search_space::Architecture> archs_;
  std::vector<int64_t> lines_;
  int64_t next_ = 0;
};

}  // namespace nas::strategies
