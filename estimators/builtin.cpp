#include "estimators/estimator.h"
#include "estimators/one_shot_eval.h"
#include "estimators/scratch.h"
#include "estimators/tabular.h"
#include "estimators/zero_cost.h"

namespace nas::estimators {

namespace {

template <class T>
EstimatorRegistry::Factory make() {
  return [](const nlohmann::json& o) { return std::make_unique<T>(o); };
}

}  // namespace

void register_builtin_estimators(EstimatorRegistry& r) {
  r.add("scratch",
        "train the stand-alone network on the search split's training half; estimate = "
        "validation accuracy (options: epochs and the training recipe)",
        ScratchEstimator::options_table().schema(), make<ScratchEstimator>());
  r.add("supernet",
        "score the architecture's path in the trained supernet of a one-shot run (option "
        "run=DIR), with BN recalibration",
        SupernetEstimator::options_table().schema(), make<SupernetEstimator>());
  r.add("tabular",
        "look the architecture up in a benchmark file (CSV or JSONL; options file, metric, "
        "higher_is_better)",
        TabularEstimator::options_table().schema(), make<TabularEstimator>());
  const std::map<std::string, std::string> proxies = {
      {"grad_norm", "zero-cost: sum of the layers' gradient norms at initialisation"},
      {"jacov", "zero-cost: Jacobian covariance score of one batch at initialisation"},
      {"snip", "zero-cost: sum |W * dL/dW| at initialisation (SNIP saliency)"},
      {"synflow", "zero-cost: synaptic flow of the |W| network on an all-ones input"}};
  for (const auto& [name, help] : proxies) {
    r.add(name, help, ZeroCostEstimator::options_table().schema(),
          [name = name](const nlohmann::json& o) {
            return std::make_unique<ZeroCostEstimator>(name, o);
          });
  }
}

}  // namespace nas::estimators
