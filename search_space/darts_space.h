#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/option_table.h"
#include "search_space/ops.h"
#include "search_space/search_space.h"

namespace nas::search_space {

/// The DARTS cell space (Liu et al., ICLR 2019; quark0/darts): two cell
/// types (normal, reduce), `steps` intermediate nodes, node i choosing among
/// all 2 + i earlier states; 14 edges x 8 ops per cell type for steps = 4.
/// Options: steps (4), multiplier (4, how many last nodes are
/// concatenated), stem_multiplier (3), derive ("top2": per node the two
/// strongest incoming edges by their best non-`none` weight, each with its
/// best non-`none` op, as the reference; "all": every edge whose argmax is
/// not `none`, the SNAS edge-all genotype), ops ("darts": quark0/darts's
/// ops; "sharp": sharpDARTS's SharpSepConv family, `sharp_ops`) and
/// primitives (the columns: "darts" DARTS's 8, "sharp" and "sharper"
/// sharpDARTS's PRIMITIVES and SHARPER_PRIMITIVES, which need ops "sharp").
struct DartsSpaceOptions {
  int64_t steps = 4;
  int64_t multiplier = 4;
  int64_t stem_multiplier = 3;
  std::string derive = "top2";
  std::string ops = "darts";
  std::string primitives = "darts";
};

class DartsSpace : public SearchSpace {
 public:
  explicit DartsSpace(const nlohmann::json& options);
  static const core::OptionTable<DartsSpaceOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  std::string name() const override { return "darts"; }
  std::vector<Decision> decisions() const override;
  NetworkOptions search_defaults() const override;
  NetworkOptions eval_defaults() const override;
  Supernet build_supernet(const NetworkOptions& options) const override;
  Architecture derive(const torch::Tensor& weights) const override;
  Architecture derive(const torch::Tensor& weights,
                      const std::string& mode) const override;
  Architecture sample(core::Rng& rng, bool include_none) const override;
  Architecture mutate(const Architecture& arch, core::Rng& rng) const override;
  PathSpec path_of(const Architecture& arch) const override;
  Network build_network(const Architecture& arch,
                        const NetworkOptions& options) const override;
  std::string format(const Architecture& arch) const override;
  Architecture parse(std::string_view text) const override;
  std::string to_dot(const Architecture& arch) const override;
  const OpFamily* op_family() const override { return &family_; }
  /// Every node of both cell types keeps 2 edges under "top2"; none under "all".
  std::vector<NodeInputs> node_inputs() const override;

  int64_t steps() const { return steps_; }
  /// Row of alpha of edge (node i, input j) in cell type `cell` (0 normal).
  int64_t edge_row(int64_t cell, int64_t node, int64_t input) const;

 private:
  int64_t steps_;
  int64_t multiplier_;
  int64_t stem_multiplier_;
  std::string derive_mode_;
  OpFamily family_;  ///< the ops, `order` the primitives
};

/// Parses the reference code's genotype text: `Genotype(normal=[...],
/// normal_concat=..., reduce=[...], reduce_concat=...)`, optionally after
/// `NAME =`. Accepts flat pair lists (two inputs per node), nested per-node
/// lists or tuples, SNAS edge-all lists (every edge of every node),
/// `range(a, b)` or explicit concat lists, `(op, input, weight)` triples, and
/// ignores `connectN`/`connects`. ConfigError with the column and an excerpt
/// otherwise. Op names are checked against `valid_ops`.
Architecture parse_darts_genotype(std::string_view text,
                                  const std::vector<std::string>& valid_ops);

/// The reference text: flat pairs when every node has two inputs, nested
/// per-node lists otherwise.
std::string format_darts_genotype(const Architecture& arch);

}  // namespace nas::search_space
