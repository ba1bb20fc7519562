#include "estimators/estimator.h"

#include "core/interrupt.h"
#include "core/log.h"

namespace nas::estimators {

nlohmann::json Estimate::to_json() const {
  if (!ok) return {{"ok", false}, {"message", message}, {"seconds", seconds}};
  nlohmann::json j = {
      {"ok", true}, {"metric", metric}, {"value", value}, {"score", score}, {"epochs", epochs},
      {"passes", passes}};
  j.update(fields);
  return j;
}

Estimate guarded_estimate(const std::string& metric, nlohmann::json fidelity,
                          const std::function<void(Estimate&)>& body) {
  Estimate e;
  e.metric = metric;
  e.fidelity = std::move(fidelity);
  const auto start = std::chrono::steady_clock::now();
  try {
    body(e);
  } catch (const core::Interrupted&) {
    e.ok = false;
    e.interrupted = true;
  } catch (const std::exception& ex) {
    e.ok = false;
    e.message = ex.what();
  }
  e.seconds = core::seconds_since(start);
  return e;
}

}  // namespace nas::estimators
