#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/options.h"

namespace nas::core {

/// What one option's value must satisfy: `text` says it in words for
/// messages and `nas list` ("1 or 2", "0 or more", "a number in [0, 1)"), `holds` tests
/// it, and `breaking` is a value of the right type that breaks it (the test
/// that every declared rule is enforced sets it). A default Rule allows
/// anything of the option's type.
struct Rule {
  std::string text;
  std::function<bool(const nlohmann::json&)> holds;
  nlohmann::json breaking;

  explicit operator bool() const { return static_cast<bool>(holds); }
};

Rule at_least(double min);                 ///< a number >= min
Rule greater_than(double min);             ///< a number > min
Rule in_closed(double lo, double hi);      ///< a number in [lo, hi]
Rule in_half_open(double lo, double hi);   ///< a number in [lo, hi)
Rule one_of(std::vector<nlohmann::json> values);  ///< one of `values` (strings or numbers)
/// A string the user must give (its default is empty); `what` says what it
/// names ("a benchmark file (CSV or JSONL)").
Rule required(std::string what);

/// One option as `nas list` shows it.
struct OptionDoc {
  std::string key;
  nlohmann::json value; ///< the default (its JSON type is the option's)
  std::string rule;     ///< Rule::text, empty when anything of the type goes
  std::string help;
  nlohmann::json breaking;  ///< Rule::breaking (null without a rule)
  bool required = false;    ///< the default breaks the rule: the user must set it
};

/// A component's options as a registry keeps them, type-erased: the
/// defaults, one line per option, and the check (throws ConfigError naming
/// `where.key` when resolved options break a rule).
struct OptionSchema {
  OptionSchema() {}  // not an aggregate: a braced JSON literal never converts to it

  nlohmann::json defaults = nlohmann::json::object();
  std::vector<OptionDoc> docs;
  std::function<void(const nlohmann::json& resolved, const std::string& where)> check;
};

/// The ConfigError of a value that breaks its rule:
/// "where.key: expected RULE, found VALUE".
[[noreturn]] void throw_rule_broken(const std::string& where, const std::string& key,
                                    const std::string& rule, const nlohmann::json& found);

/// The ConfigError of a value whose elements do not have the default's
/// types (a list of names holding a number): "where.key: expected a value
/// like DEFAULT, found VALUE".
[[noreturn]] void throw_wrong_elements(const std::string& where, const std::string& key,
                                       const nlohmann::json& like, const nlohmann::json& found);

/// The options of one component, declared once (LibTorch's `XxxOptions`
/// idiom): a struct `O` whose member initialisers are the defaults, and one
/// table of its fields (key, member, help, rule) that yields the defaults
/// JSON, the parsing of a config section (unknown keys and wrong types
/// rejected by `resolve_options`, then every rule and whole-struct check),
/// the JSON written back into config.json, and the `nas list` help.
///
///   struct DartsOptions : OneShotOptions { int64_t order = 1; };
///   OptionTable<DartsOptions> t;
///   t.add("order", &DartsOptions::order, "1: first order, 2: second order",
///         one_of({1, 2}));
///   DartsOptions o = t.parse({{"order", 2}}, "strategy.darts");
///
/// A field of a base of `O` is declared through the base's member pointer,
/// so the options shared by a family (e.g. every one-shot strategy's weight
/// optimizer) are declared by one function for every member.
template <class O>
class OptionTable {
 public:
  template <class T, class B>
  OptionTable& add(std::string key, T B::*member, std::string help, Rule rule = {}) {
    static_assert(std::is_base_of_v<B, O>, "the member must be of O or of a base of O");
    T O::*m = member;
    fields_.push_back(Field{std::move(key), std::move(help), std::move(rule),
                            [m](const O& o) { return nlohmann::json(o.*m); },
                            [m](O& o, const nlohmann::json& j) { o.*m = j.get<T>(); }});
    return *this;
  }

  /// A check across fields, run after every field's rule; throws ConfigError
  /// (its message names the keys) given the parsed options and `where`.
  OptionTable& check(std::function<void(const O&, const std::string& where)> f) {
    checks_.push_back(std::move(f));
    return *this;
  }

  nlohmann::json to_json(const O& o) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : fields_) j[f.key] = f.get(o);
    return j;
  }

  nlohmann::json defaults() const { return to_json(O{}); }

  /// `given` (a config section; null: the defaults) merged over the
  /// defaults and checked; `where` names the section in errors. The keys
  /// `given` sets are checked first, so an error names what the user wrote
  /// before an option still to be given.
  O parse(const nlohmann::json& given, const std::string& where) const {
    const auto resolved = resolve_options(defaults(), given, where);
    const bool any_given = given.is_object();
    for (const bool first : {true, false}) {
      for (const auto& f : fields_) {
        if ((any_given && given.contains(f.key)) != first) continue;
        const auto& v = resolved.at(f.key);
        if (f.rule && !f.rule.holds(v)) throw_rule_broken(where, f.key, f.rule.text, v);
      }
    }
    O o{};
    for (const auto& f : fields_) {
      try {
        f.set(o, resolved.at(f.key));
      } catch (const nlohmann::json::exception&) {
        throw_wrong_elements(where, f.key, f.get(O{}), resolved.at(f.key));
      }
    }
    for (const auto& c : checks_) c(o, where);
    return o;
  }

  OptionSchema schema() const {
    OptionSchema s;
    s.defaults = defaults();
    for (const auto& f : fields_) {
      const auto& value = s.defaults[f.key];
      nlohmann::json breaking = f.rule.breaking;  // of the option's type: -1, not -1.0, for an integer
      if (value.is_number_integer() && breaking.is_number_float()) {
        breaking = static_cast<int64_t>(std::floor(breaking.get<double>()));
      }
      s.docs.push_back({f.key, value, f.rule.text, f.help, breaking,
                        f.rule && !f.rule.holds(value)});
    }
    s.check = [table = *this](const nlohmann::json& j, const std::string& where) {
      table.parse(j, where);
    };
    return s;
  }

 private:
  struct Field {
    std::string key;
    std::string help;
    Rule rule;
    std::function<nlohmann::json(const O&)> get;
    std::function<void(O&, const nlohmann::json&)> set;
  };
  std::vector<Field> fields_;
  std::vector<std::function<void(const O&, const std::string&)>> checks_;
};

}  // namespace nas::core
