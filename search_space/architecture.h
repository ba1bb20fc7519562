#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nas::search_space {

/// One input of a node: `op` applied to state `input`. In DARTS cells,
/// states 0 and 1 are the two cell inputs and node i is state i + 2; in
/// NB201 cells, state 0 is the cell input and node i is state i.
struct GenotypeEdge {
  std::string op;
  int64_t input = 0;
  bool operator==(const GenotypeEdge& o) const {
    return op == o.op && input == o.input;
  }
};

/// One cell type: each node sums its listed inputs; the cell output is the
/// concatenation (DARTS) of the states in `concat`, or the last node (NB201,
/// `concat` empty).
struct CellGenotype {
  std::string name;
  std::vector<std::vector<GenotypeEdge>> nodes;
  std::vector<int64_t> concat;
  bool operator==(const CellGenotype& o) const {
    return name == o.name && nodes == o.nodes && concat == o.concat;
  }
};

/// A discrete architecture of any cell space: one genotype per cell type
/// (DARTS: normal and reduce; NB201: one cell). Its text form belongs to the
/// space (`SearchSpace::format` / `parse`).
struct Architecture {
  std::vector<CellGenotype> cells;
  bool operator==(const Architecture& o) const { return cells == o.cells; }
  bool operator!=(const Architecture& o) const { return !(*this == o); }
};

}  // namespace nas::search_space
