#include "estimators/estimator.h"

namespace nas::estimators {

nlohmann::json Estimate::to_json() const {
  if (!ok) return {{"ok", false}, {"message", message}, {"seconds", seconds}};
  nlohmann::json j = {
      {"ok", true}, {"metric", metric}, {"value", value}, {"score", score}, {"epochs", epochs}};
  j.update(fields);
  return j;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace nas::estimators
