#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hardware/cost_table.h"
#include "hardware/timing.h"
#include "search_space/search_space.h"

namespace nas::hardware {

/// Where one decision's op runs in a network: the input shape [N, C, H, W]
/// it sees, its stride and its output channels (a cell's edge keeps C; a
/// chain's block may widen). A decision shared by several cells has a site
/// per cell.
struct OpSite {
  int64_t decision = 0;
  std::vector<int64_t> input_shape;
  int64_t stride = 1;
  int64_t c_out = 0;
  /// Per candidate: never runs here (`none`, a chain's `zero`, FBNet's
  /// `skip` on a residual block).
  std::vector<bool> zero;
};

/// Every MixedOp of `net` with its input shape for input `x` (one eval-mode
/// pass through every op, no gradients; the module's mode is restored), and
/// its stride and output channels from the output of a non-`none` candidate.
std::vector<OpSite> find_op_sites(search_space::SupernetImpl& net, const torch::Tensor& x);

/// The sites of `space`'s stand-alone network of `sizes` (the supernet of
/// the same sizes has the same shapes), for batch 1.
std::vector<OpSite> space_op_sites(const search_space::SearchSpace& space,
                                   const search_space::NetworkOptions& sizes);

/// The architecture of `space` with `none` on every edge: what is left is
/// the fixed part of every network (stem, preprocessing, reductions,
/// classifier).
search_space::Architecture empty_architecture(const search_space::SearchSpace& space);

/// Stand-alone network sizes for cost tables: eval mode, no auxiliary head.
search_space::NetworkOptions standalone_sizes(search_space::NetworkOptions sizes);

/// How `nas profile` measures.
struct ProfileOptions {
  search_space::NetworkOptions sizes;
  int64_t batch = 1;
  torch::Device device = torch::kCPU;
  int threads = 1;
  TimingOptions timing;
  /// Interleaved passes (time_interleaved) over the entries of a table or
  /// the networks of a validation.
  int64_t passes = 5;
  /// "ops": each op alone at its shapes (fast); "network": cost[d][k] =
  /// latency of the whole network with op k on decision d alone minus the
  /// network with none anywhere (in context: caches, allocator, the cell's
  /// own additions and concatenations; D x (K-1) networks).
  std::string method = "ops";
};

/// Measures every candidate op of every decision at the exact shape it sees
/// in the stand-alone network, with the addition of its output into the
/// node's sum (identical (op, shape, stride) measured once),
/// and the fixed part as the network of `empty_architecture`; inference
/// (eval mode, no gradients). Progress with an ETA on stderr. ConfigError
/// for a space without an op family.
CostTable profile_latency(const search_space::SearchSpace& space, const ProfileOptions& options);

/// The "network" method of `profile_latency`.
CostTable profile_latency_in_context(const search_space::SearchSpace& space,
                                     const ProfileOptions& options);

/// The stand-alone network of `arch` (eval mode, on the device) with an
/// input, and `run`: one inference forward pass.
struct NetworkRunner {
  search_space::Network net;
  torch::Tensor x;
  std::function<void()> run;
};
NetworkRunner network_runner(const search_space::SearchSpace& space,
                             const search_space::Architecture& arch, const ProfileOptions& options);

/// Inference latency of the whole stand-alone network of `arch`.
Timing measure_network_latency(const search_space::SearchSpace& space,
                               const search_space::Architecture& arch,
                               const ProfileOptions& options);

/// Predicted (table) vs measured (whole network) latency of `n` random
/// architectures, as a search derives them (the space's rule applied to
/// random weights): RMSE, mean absolute % error, Spearman, Kendall, and the
/// expected latency of uniform probabilities next to the mean measured one
/// (how far E over-counts where cells keep a subset of their edges).
nlohmann::json validate_latency(const search_space::SearchSpace& space, const CostTable& table,
                                int64_t n, uint64_t seed, const ProfileOptions& options);

/// Exact parameter counts (unit M): cost[d][k] = the weights of op k at
/// every site of decision d, fixed = the weights of `empty_architecture`'s
/// network, so `predict` equals the stand-alone network's count.
CostTable params_table(const search_space::SearchSpace& space,
                       const search_space::NetworkOptions& sizes);

/// Multiply-adds of the searchable ops (unit M), SNAS's formulas
/// (snas_cost.h) at every site; fixed 0 (the rest of the network is the
/// same for every architecture).
CostTable flops_table(const search_space::SearchSpace& space,
                      const search_space::NetworkOptions& sizes);

}  // namespace nas::hardware
