#include "search_space/chain_space.h"
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
  // The mobile chain spaces: one type, a built-in table each (a table's
  // keys can be changed with the `table` and `file` options).
  const std::vector<std::pair<std::string, std::string>> chains = {
      {"proxyless",
       "ProxylessNAS mobile chain (Cai et al., ICLR 2019): 21 MBConv blocks, kernel 3/5/7 x "
       "expansion 3/6, plus zero where the block has a residual"},
      {"fairnas",
       "FairNAS chain (Chu et al., ICCV 2021): 19 MBConv blocks, kernel 3/5/7 x expansion 3/6, "
       "no skip"},
      {"fbnet",
       "FBNet chain (Wu et al., CVPR 2019): 22 blocks x 9 candidates, kernel 3/5 x expansion "
       "1/3/6, two grouped (g2), skip"}};
  for (const auto& [variant, help] : chains) {
    const auto name = "chain_" + variant;
    const auto& table = builtin_chain_tables().at(variant);
    r.add(name, help + "\n    " + chain_table_summary(table), ChainSpace::options_table().schema(),
          [name = name, variant = variant](const nlohmann::json& o) {
            return std::make_unique<ChainSpace>(name, variant, o);
          });
  }
}

}  // namespace nas::search_space
