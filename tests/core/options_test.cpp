#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"
#include "core/rng.h"

namespace nas::core {
namespace {

TEST(Options, NestedMergeKeepsDefaults) {
  const nlohmann::json defaults = {{"a", 1}, {"b", {{"c", 0.5}, {"d", "x"}}}};
  const auto out = resolve_options(defaults, {{"b", {{"c", 2}}}}, "cfg");
  EXPECT_EQ(out["a"], 1);
  EXPECT_EQ(out["b"]["c"], 2);
  EXPECT_EQ(out["b"]["d"], "x");
}

TEST(Options, NestedUnknownKeyHasItsPath) {
  const nlohmann::json defaults = {{"b", {{"c", 0.5}}}};
  try {
    resolve_options(defaults, {{"b", {{"e", 1}}}}, "cfg");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown option 'cfg.b.e'; valid keys: c");
  }
}

// JSON from users: deep nesting, huge numbers and bad syntax are clear
// errors naming where they are, never a crash or raw library text.
TEST(Json, HostileTextIsAClearError) {
  auto message = [](const std::string& text) {
    try {
      core::parse_json(text, "cfg.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(std::string(40000, '[')).find("cfg.json:1:65: JSON nested deeper than 64"),
            std::string::npos);
  EXPECT_NE(message("{\"a\": 1e400}").find("number overflow"), std::string::npos);
  const auto bad = message("{\n  \"a\": ,\n}");
  EXPECT_NE(bad.find("cfg.json:2:8: invalid JSON"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("json.exception"), std::string::npos) << bad;
  // Brackets inside strings do not count.
  EXPECT_EQ(message("{\"a\": \"" + std::string(100, '[') + "\"}"), "");
}

TEST(Rng, SameSeedSameStreamOtherSeedOther) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 10; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
}

TEST(Rng, StateRoundTrips) {
  Rng a(11);
  a.next_u64();
  Rng b(0);
  b.set_state(a.state());
  EXPECT_EQ(a.uniform_int(1000), b.uniform_int(1000));
  EXPECT_THROW(b.set_state("garbage"), Error);
}

TEST(Rng, PermutationIsAPermutation) {
  Rng r(1);
  auto p = r.permutation(50);
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(p[i], i);
}

}  // namespace
}  // namespace nas::core
