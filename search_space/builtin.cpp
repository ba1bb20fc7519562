#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"
#include "search_space/search_space.h"

namespace nas::search_space {

void register_builtin_spaces(SpaceRegistry& r) {
  r.add("darts",
        "DARTS cell space (Liu et al., ICLR 2019): normal + reduce cells, 14 "
        "edges x 8 ops each",
        DartsSpace::options_table().schema(),
        [](const nlohmann::json& o) { return std::make_unique<DartsSpace>(o); });
  r.add("nb201",
        "NAS-Bench-201 cell space (Dong & Yang, ICLR 2020): one 4-node cell, "
        "6 edges x 5 ops, shared by all 15 cells",
        Nb201Space::options_table().schema(),
        [](const nlohmann::json& o) { return std::make_unique<Nb201Space>(o); });
}

}  // namespace nas::search_space
