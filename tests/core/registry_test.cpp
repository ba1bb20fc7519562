#include <gtest/gtest.h>

#include "core/error.h"
#include "core/registry.h"

namespace nas::core {
namespace {

struct Thing {
  int size;
};

Registry<Thing> things() {
  Registry<Thing> r("thing");
  r.add("small", "a small thing", {{"size", 1}, {"name", "s"}},
        [](const nlohmann::json& o) {
          return std::make_unique<Thing>(Thing{o.at("size").get<int>()});
        });
  r.add("big", "a big thing", {{"size", 10}}, [](const nlohmann::json& o) {
    return std::make_unique<Thing>(Thing{o.at("size").get<int>()});
  });
  return r;
}

TEST(Registry, NamesAreSorted) {
  EXPECT_EQ(things().names(), (std::vector<std::string>{"big", "small"}));
}

TEST(Registry, CreatesWithDefaultsAndOverrides) {
  auto r = things();
  EXPECT_EQ(r.create("small")->size, 1);
  EXPECT_EQ(r.create("small", {{"size", 3}})->size, 3);
}

TEST(Registry, UnknownNameListsValidNames) {
  try {
    things().create("medium");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown thing 'medium'; valid names: big, small");
  }
}

TEST(Registry, UnknownKeyNamesKeyAndValidKeys) {
  try {
    things().create("small", {{"sise", 3}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown option 'thing.small.sise'; valid keys: name, size");
  }
}

TEST(Registry, WrongTypeIsAnError) {
  try {
    things().create("small", {{"size", "three"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected integer"), std::string::npos)
        << e.what();
  }
}

TEST(Registry, DuplicateRegistrationIsAnError) {
  auto r = things();
  EXPECT_THROW(r.add("big", "", nlohmann::json::object(), nullptr), Error);
}

}  // namespace
}  // namespace nas::core
