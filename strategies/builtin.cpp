#include "strategies/darts.h"
#include "strategies/strategy.h"

namespace nas::strategies {

void register_builtin_strategies(StrategyRegistry& r) {
  r.add("darts",
        "DARTS (Liu et al., ICLR 2019): softmax mixture of all ops, alpha "
        "step on validation data then weight step; order 1 or 2",
        Darts::default_options(),
        [](const nlohmann::json& o) { return std::make_unique<Darts>(o); });
}

}  // namespace nas::strategies
