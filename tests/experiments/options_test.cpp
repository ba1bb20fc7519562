#include <gtest/gtest.h>

#include "core/error.h"
#include "experiments/config.h"

namespace nas::experiments {
namespace {

// Every registered component (spaces, one-shot and trial strategies,
// estimators): its options are declared once, in its OptionTable, and the
// registry, `nas list` and the config checks all read that declaration.
template <class R, class F>
void for_each_entry(const R& registry, F f) {
  for (const auto& name : registry.names()) f(registry, name, registry.entry(name));
}

template <class F>
void for_every_component(F f) {
  const auto& r = builtin_registries();
  for_each_entry(r.spaces, f);
  for_each_entry(r.strategies, f);
  for_each_entry(r.trial_strategies, f);
  for_each_entry(r.estimators, f);
}

TEST(Options, EveryComponentDocumentsEachDefaultAndTheDefaultsRoundTrip) {
  int components = 0;
  for_every_component([&](const auto& registry, const std::string& name, const auto& entry) {
    ++components;
    const auto& schema = entry.options;
    const auto& defaults = entry.defaults();
    ASSERT_EQ(schema.docs.size(), defaults.size()) << name;
    bool required = false;
    for (const auto& d : schema.docs) {
      ASSERT_TRUE(defaults.contains(d.key)) << name << "." << d.key;
      EXPECT_EQ(defaults[d.key], d.value) << name << "." << d.key;
      EXPECT_FALSE(d.help.empty()) << name << "." << d.key << " has no help";
      required = required || d.required;
    }
    if (required) {
      // A component with an option the user must give refuses its defaults.
      EXPECT_THROW(registry.resolve(name, nlohmann::json::object()), ConfigError) << name;
      return;
    }
    const auto resolved = registry.resolve(name, nlohmann::json::object());
    EXPECT_EQ(resolved, defaults) << name;
    EXPECT_EQ(registry.resolve(name, resolved), defaults) << name;
  });
  EXPECT_GE(components, 17);
}

TEST(Options, EveryDeclaredRuleIsEnforcedWithAMessageNamingTheKey) {
  int rules = 0;
  for_every_component([&](const auto& registry, const std::string& name, const auto& entry) {
    for (const auto& d : entry.options.docs) {
      if (d.rule.empty()) continue;
      ++rules;
      const auto where = fmt::format("{}.{}.{}", registry.kind(), name, d.key);
      try {
        registry.resolve(name, {{d.key, d.breaking}});
        ADD_FAILURE() << where << " accepted " << d.breaking.dump() << " (rule: " << d.rule << ")";
      } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(where + ": expected " + d.rule), std::string::npos)
            << e.what();
      }
    }
  });
  EXPECT_GE(rules, 60);
}

TEST(Options, ResolveConfigChecksRulesWithoutBuildingTheComponents) {
  const auto& r = builtin_registries();
  auto error = [&](const nlohmann::json& layer) {
    try {
      resolve_config(search_defaults(), {layer}, r);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({{"strategy", {{"name", "darts"}, {"options", {{"order", 3}}}}}}),
            "strategy.darts.order: expected 1 or 2, found 3");
  EXPECT_EQ(error({{"strategy", {{"name", "gdas"}, {"options", {{"variant", "x"}}}}}}),
            "strategy.gdas.variant: expected one of \"auto\", \"autodl\", \"single\", found \"x\"");
  EXPECT_EQ(error({{"estimator", {{"name", "synflow"}, {"options", {{"batches", 0}}}}}}),
            "estimator.synflow.batches: expected 1 to 1000, found 0");
}

TEST(Options, SetValuesAreTextUnlessTheyAreJsonPastALimit) {
  EXPECT_EQ(parse_value("nb201"), "nb201");
  EXPECT_EQ(parse_value("[1, 2]"), (nlohmann::json{1, 2}));
  EXPECT_THROW(parse_value("1e400"), ConfigError);
  EXPECT_THROW(parse_value(std::string(100, '[')), ConfigError);
}

}  // namespace
}  // namespace nas::experiments
