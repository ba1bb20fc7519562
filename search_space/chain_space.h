#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/option_table.h"
#include "search_space/chain.h"
#include "search_space/search_space.h"
#include "search_space/superkernel.h"

namespace nas::search_space {

/// Options of a chain space: its table is a built-in variant's with
/// `table`'s keys (and then `file`'s, a JSON file of the same format) laid
/// over it. The width is a size (`network.width_mult`, like a cell
/// space's C): decisions and architectures do not depend on it.
struct ChainSpaceOptions {
  nlohmann::json table = nlohmann::json::object();
  std::string file;
};

/// A mobile chain space (ProxylessNAS, FairNAS): one decision per
/// searchable block of a ChainMacro, whose candidates are the table's
/// (plus `zero` where the table adds it; alpha has a column for it on every
/// block, disallowed where the block has no residual). Derive = the most
/// probable allowed candidate per block. Text: `<table>:<op>,<op>,...`, one
/// op per block, e.g. `proxyless:mb6_k3,zero,...`; the table names any
/// built-in (`builtin_chain_tables`) or this space's own, so the published
/// nets of another table of the same length (MobileNetV2, ProxylessNAS-GPU)
/// parse and build with their own widths.
class ChainSpace : public SearchSpace {
 public:
  /// The space `name` over the built-in table `variant`.
  ChainSpace(std::string name, const std::string& variant, const nlohmann::json& options);
  static const core::OptionTable<ChainSpaceOptions>& options_table();

  std::string name() const override { return name_; }
  std::vector<Decision> decisions() const override;
  NetworkOptions search_defaults() const override;
  NetworkOptions eval_defaults() const override;
  Supernet build_supernet(const NetworkOptions& options) const override;
  Architecture derive(const torch::Tensor& weights) const override;
  /// Uniform over each block's allowed candidates (`zero` is a candidate
  /// like the others; chains have no `none`, so `include_none` is unused).
  Architecture sample(core::Rng& rng, bool include_none) const override;
  Architecture mutate(const Architecture& arch, core::Rng& rng) const override;
  PathSpec path_of(const Architecture& arch) const override;
  Network build_network(const Architecture& arch,
                        const NetworkOptions& options) const override;
  std::string format(const Architecture& arch) const override;
  Architecture parse(std::string_view text) const override;
  std::string to_dot(const Architecture& arch) const override;
  const OpFamily* op_family() const override { return &family_; }
  std::string describe(const Architecture& arch, const NetworkOptions& o) const override;
  std::string describe_sizes(const NetworkOptions& o) const override;

  const ChainMacro& table() const { return macro_; }
  /// Each block's superkernel layout (Single-Path NAS); ConfigError naming
  /// the space when its candidates do not nest into one superkernel.
  std::vector<SuperkernelLayout> superkernel_layouts() const;
  /// `table` at the width of `options` (ConfigError naming
  /// network.width_mult when out of range).
  static ChainMacro at_width(const ChainMacro& table, const NetworkOptions& options);

 private:
  /// The table `arch` names (this space's or a built-in) and its ops.
  std::pair<const ChainMacro*, std::vector<std::string>> resolve(const Architecture& arch) const;
  Architecture make(const std::string& table, const std::vector<std::string>& ops) const;
  std::vector<std::vector<int64_t>> allowed_;  ///< per block: the allowed columns
  std::vector<std::string> columns_;
  std::string name_;
  ChainMacro macro_;
  OpFamily family_;
};

}  // namespace nas::search_space
