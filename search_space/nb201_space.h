#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/option_table.h"
#include "search_space/ops.h"
#include "search_space/search_space.h"

namespace nas::search_space {

struct Nb201SpaceOptions {};

/// NAS-Bench-201 (Dong & Yang, ICLR 2020; AutoDL-Projects): one cell type
/// of 4 nodes and 6 edges (node i sums op(node j) over j < i; the output is
/// node 3), 5 ops per edge (none, skip_connect, nor_conv_1x1, nor_conv_3x3,
/// avg_pool_3x3), one 6 x 5 alpha shared by every cell. Macro network: stem,
/// 3 stages of N cells joined by ResNet basic blocks (stride 2), BN + ReLU,
/// global pooling, classifier. Derive = argmax per edge, `none` included.
/// Text: `|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|...|`.
class Nb201Space : public SearchSpace {
 public:
  explicit Nb201Space(const nlohmann::json& options);
  /// No options: the cell is fixed (NAS-Bench-201's 4 nodes, 5 ops).
  static const core::OptionTable<Nb201SpaceOptions>& options_table();
  static nlohmann::json default_options() { return options_table().defaults(); }

  std::string name() const override { return "nb201"; }
  std::vector<Decision> decisions() const override;
  NetworkOptions search_defaults() const override;
  NetworkOptions eval_defaults() const override;
  Supernet build_supernet(const NetworkOptions& options) const override;
  Architecture derive(const torch::Tensor& weights) const override;
  Architecture sample(core::Rng& rng, bool include_none) const override;
  Architecture mutate(const Architecture& arch, core::Rng& rng) const override;
  PathSpec path_of(const Architecture& arch) const override;
  Network build_network(const Architecture& arch,
                        const NetworkOptions& options) const override;
  std::string format(const Architecture& arch) const override;
  Architecture parse(std::string_view text) const override;
  std::string to_dot(const Architecture& arch) const override;
  const OpFamily* op_family() const override { return &nb201_ops(); }

  /// Edge (node i, input j) -> row of alpha, in AutoDL's sorted edge order.
  static int64_t edge_row(int64_t node, int64_t input);
  /// Op index of each of the 6 edges.
  std::vector<int64_t> op_indices(const Architecture& arch) const;
  Architecture from_op_indices(const std::vector<int64_t>& ops) const;
};

}  // namespace nas::search_space
