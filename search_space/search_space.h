#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "core/registry.h"
#include "core/rng.h"
#include "search_space/architecture.h"
#include "search_space/network.h"
#include "search_space/path.h"

namespace nas::search_space {

/// One place where the space offers a choice: an edge of a cell type or a
/// block of a chain, with its candidate op names (the columns of alpha).
struct Decision {
  Decision(std::string name, std::vector<std::string> candidates,
           std::vector<int64_t> allowed = {})
      : name(std::move(name)), candidates(std::move(candidates)), allowed(std::move(allowed)) {}

  std::string name;
  std::vector<std::string> candidates;
  /// The columns this decision may choose (ascending); empty: every one.
  /// A chain's `zero` is a column of every block but allowed only where
  /// the block has a residual.
  std::vector<int64_t> allowed;

  bool allows(int64_t k) const;
  /// The allowed columns, listed (every column when `allowed` is empty).
  std::vector<int64_t> choices() const;
};

/// A node that keeps `keep` of its incoming edges (DARTS's top-2 rule):
/// `decisions[j]` is the decision of the edge from state j (states below
/// `first_node` are the cell's inputs; node i is state first_node + i).
/// Nodes of one cell type share `cell` and come in order.
struct NodeInputs {
  int64_t cell = 0;
  int64_t state = 0;
  std::vector<int64_t> decisions;
  int64_t keep = 2;
};

/// What masks the disallowed columns of alpha: [D, K] with 0 where allowed
/// and kMaskedLogit elsewhere (added to logits, a softmax gives those
/// columns exactly 0 and a Gumbel sample never picks them); undefined when
/// every decision allows every column.
torch::Tensor logit_mask(const std::vector<Decision>& decisions);
constexpr double kMaskedLogit = -1e4;

/// A search space: its decisions, its supernet, how to turn architecture
/// weights into a discrete architecture, and the text format of that
/// architecture.
///
/// Contract for implementations:
/// - `decisions()` fixes alpha's shape: [decisions().size(), K] with the
///   same K for every decision (the candidate lists are the columns); a
///   decision may allow only some columns (`Decision::allowed`), and
///   strategies give the others probability 0 (`logit_mask`);
/// - `build_supernet` returns a module whose `forward(x, path)` accepts a
///   PathSpec with exactly one EdgeChoice per decision;
/// - `derive` maps weights [D, K] (probabilities) to an architecture;
/// - `path_of(arch)` is the PathSpec that makes the supernet compute `arch`
///   (ConfigError when `arch` uses an op the supernet lacks);
/// - `parse(format(a)) == a`, and `parse` rejects malformed text with a
///   ConfigError that points at the problem.
class SearchSpace {
 public:
  virtual ~SearchSpace() = default;
  virtual std::string name() const = 0;
  virtual std::vector<Decision> decisions() const = 0;
  /// Default sizes of the supernet and of stand-alone networks, as the
  /// space's reference code uses them.
  virtual NetworkOptions search_defaults() const = 0;
  virtual NetworkOptions eval_defaults() const = 0;
  virtual Supernet build_supernet(const NetworkOptions& options) const = 0;
  virtual Architecture derive(const torch::Tensor& weights) const = 0;
  /// Derive with a named rule ("top2", "all" in the DARTS space); spaces
  /// with a single rule ignore `mode`. An unknown mode is a ConfigError.
  virtual Architecture derive(const torch::Tensor& weights,
                              const std::string& mode) const {
    return derive(weights);
  }
  /// A uniform architecture: every op choice uniform over the candidates
  /// (`none` among them exactly when `include_none`), inputs uniform where
  /// the space chooses inputs.
  virtual Architecture sample(core::Rng& rng, bool include_none) const = 0;
  virtual Architecture mutate(const Architecture& arch,
                              core::Rng& rng) const = 0;
  virtual PathSpec path_of(const Architecture& arch) const = 0;
  virtual Network build_network(const Architecture& arch,
                                const NetworkOptions& options) const = 0;
  virtual std::string format(const Architecture& arch) const = 0;
  virtual Architecture parse(std::string_view text) const = 0;
  /// A Graphviz description of the architecture's cells.
  virtual std::string to_dot(const Architecture& arch) const = 0;
  /// The nodes that choose which incoming edges they keep (DARTS with its
  /// "top2" rule); empty where every decision is an op choice of its own
  /// (NB201, chains, DARTS's "all"). A sampler that picks per node `keep`
  /// inputs and an op for each, writes 1 at (edge, op) and 0 on every other
  /// row of the node, gets that architecture back from `derive`.
  virtual std::vector<NodeInputs> node_inputs() const { return {}; }
  /// The ops of the space's stand-alone networks (what `build_network`
  /// puts on an edge), for cost models that build one op alone; null for a
  /// space without a named op family.
  virtual const OpFamily* op_family() const { return nullptr; }
  /// `arch` as text lines for `nas show` at sizes `o` (cells: each node's
  /// inputs; a chain: each block's op, channels and stride).
  virtual std::string describe(const Architecture& arch, const NetworkOptions& o) const;
  /// The sizes of `o` this space reads, for headers ("C 16 layers 8 cells/stage
  /// 5"; a chain: its width).
  virtual std::string describe_sizes(const NetworkOptions& o) const;

  int64_t num_candidates() const { return decisions().front().candidates.size(); }
};

using SpaceRegistry = core::Registry<SearchSpace>;

/// The supernet sizes of a search config: the space's search defaults with
/// the config's `network` section (C, layers, cells_per_stage, width_mult) and the
/// data's classes, channels and image size.
NetworkOptions supernet_sizes(const SearchSpace& space,
                                            const nlohmann::json& network, int64_t classes,
                                            int64_t channels, int64_t input_size);

/// Registers darts (and later spaces); one line each.
void register_builtin_spaces(SpaceRegistry& registry);

}  // namespace nas::search_space
