#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/option_table.h"

namespace nas::core {
namespace {

struct Base {
  double lr = 0.1;
};
struct Opts : Base {
  Opts() { lr = 0.5; }
  int64_t order = 1;
  std::string mode = "a";
  bool flag = false;
};

OptionTable<Opts> table() {
  OptionTable<Opts> t;
  t.add("lr", &Base::lr, "learning rate", at_least(0))
      .add("order", &Opts::order, "order", one_of({1, 2}))
      .add("mode", &Opts::mode, "mode", one_of({"a", "b", "c"}))
      .add("flag", &Opts::flag, "a switch")
      .check([](const Opts& o, const std::string& where) {
        if (o.flag && o.order == 2) throw ConfigError(where + ": flag needs order 1");
      });
  return t;
}

std::string error_of(const nlohmann::json& given) {
  try {
    table().parse(given, "thing.x");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(OptionTable, DefaultsComeFromTheStructIncludingADerivedConstructor) {
  EXPECT_EQ(table().defaults(),
            (nlohmann::json{{"lr", 0.5}, {"order", 1}, {"mode", "a"}, {"flag", false}}));
  const auto o = table().parse({{"order", 2}, {"lr", 3}}, "thing.x");
  EXPECT_EQ(o.order, 2);
  EXPECT_DOUBLE_EQ(o.lr, 3.0);
  EXPECT_EQ(table().to_json(o)["order"], 2);
}

TEST(OptionTable, RulesTypesUnknownKeysAndChecksAreErrorsNamingTheKey) {
  EXPECT_EQ(error_of({{"order", 3}}), "thing.x.order: expected 1 or 2, found 3");
  EXPECT_EQ(error_of({{"lr", -1}}), "thing.x.lr: expected 0 or more, found -1");
  EXPECT_EQ(error_of({{"mode", "z"}}),
            "thing.x.mode: expected one of \"a\", \"b\", \"c\", found \"z\"");
  EXPECT_NE(error_of({{"order", "two"}}).find("option 'thing.x.order': expected integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"ordre", 2}}).find("unknown option 'thing.x.ordre'"), std::string::npos);
  EXPECT_EQ(error_of({{"flag", true}, {"order", 2}}), "thing.x: flag needs order 1");
}

TEST(OptionTable, TheSchemaDocumentsEveryFieldWithAValueThatBreaksItsRule) {
  const auto s = table().schema();
  ASSERT_EQ(s.docs.size(), 4u);
  EXPECT_EQ(s.docs[1].key, "order");
  EXPECT_EQ(s.docs[1].rule, "1 or 2");
  EXPECT_EQ(s.docs[1].breaking, 3);
  EXPECT_TRUE(s.docs[1].breaking.is_number_integer());
  EXPECT_TRUE(s.docs[3].rule.empty());
  EXPECT_THROW(s.check({{"order", 3}}, "thing.x"), ConfigError);
  EXPECT_NO_THROW(s.check(s.defaults, "thing.x"));
}

TEST(OptionTable, GivenKeysAreCheckedBeforeARequiredKeyStillMissing) {
  struct File {
    std::string file;
    int64_t n = 1;
  };
  OptionTable<File> t;
  t.add("file", &File::file, "", required("a file")).add("n", &File::n, "", at_least(1));
  EXPECT_TRUE(t.schema().docs[0].required);
  try {
    t.parse({{"n", 0}}, "f");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "f.n: expected 1 or more, found 0");
  }
  try {
    t.parse(nullptr, "f");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "f.file: expected a file, found \"\"");
  }
}

// A list's elements are checked against the default's (found by the chain
// table fuzz target: a number among candidate names).
TEST(OptionTable, ListElementsOfTheWrongTypeAreErrorsNamingTheKey) {
  struct Named {
    std::vector<std::string> names = {"a"};
  };
  OptionTable<Named> t;
  t.add("names", &Named::names, "names");
  try {
    t.parse({{"names", {"b", 5}}}, "thing.y");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "thing.y.names: expected a list of strings, found [\"b\",5]");
  }
  EXPECT_EQ(t.parse({{"names", {"b", "c"}}}, "thing.y").names.size(), 2u);
}

TEST(JsonError, SaysWhetherTextIsNotJsonOrJsonPastALimit) {
  auto kind = [](const std::string& text) {
    try {
      parse_json(text, "t");
    } catch (const JsonError& e) {
      return e.kind();
    }
    ADD_FAILURE() << text;
    return JsonError::Kind::syntax;
  };
  EXPECT_EQ(kind("nb201"), JsonError::Kind::syntax);
  EXPECT_EQ(kind("{\"a\": "), JsonError::Kind::syntax);
  EXPECT_EQ(kind("1e400"), JsonError::Kind::limit);
  EXPECT_EQ(kind(std::string(100, '[')), JsonError::Kind::limit);
}

}  // namespace
}  // namespace nas::core
