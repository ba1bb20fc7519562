// Reading and writing DARTS genotype text, as Python prints it.
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "search_space/darts_space.h"

namespace nas::search_space {

namespace {

/// A Python literal: list/tuple (both `items`), string, number, None.
struct Value {
  enum Kind { kList, kString, kNumber, kNone } kind = kNone;
  std::vector<Value> items;
  std::string text;
  double number = 0;
  size_t pos = 0;
};

/// Bounds on what a genotype can need: the deepest published form is
/// Genotype(normal=[(('op', 0), ('op', 1)), ...]) (a string 4 values deep:
/// list, tuple, tuple, string; range() counts as a level too); the largest
/// cells have a few dozen states.
constexpr int kMaxDepth = 8;
constexpr int64_t kMaxRange = 1000;
constexpr size_t kMaxText = 1 << 20;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {
    if (s.size() > kMaxText) {
      throw ConfigError(fmt::format(
          "genotype text of {} bytes; a genotype is expected to be at most {} bytes",
          s.size(), kMaxText));
    }
  }

  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    throw ConfigError(fmt::format("genotype text, column {}: {}\n{}", pos + 1, what,
                                  core::excerpt_at(s_, pos)));
  }

  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) {
      ++i_;
    }
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  std::string found() {
    skip_space();
    if (i_ >= s_.size()) return "the end of the text";
    return fmt::format("'{}'", s_[i_]);
  }
  void expect(char c, const char* context) {
    if (!peek(c)) fail(i_, fmt::format("expected '{}' {}, found {}", c, context, found()));
    ++i_;
  }
  std::string identifier() {
    skip_space();
    const size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) ||
                              s_[i_] == '_')) {
      ++i_;
    }
    if (start == i_) fail(i_, fmt::format("expected a name, found {}", found()));
    return std::string(s_.substr(start, i_ - start));
  }

  /// Counts the nesting of values (lists, tuples and range() calls alike),
  /// so that no input recurses deeper than kMaxDepth.
  struct Nesting {
    Nesting(Parser& p, size_t pos) : p_(p) {
      if (++p_.depth_ > kMaxDepth) {
        p_.fail(pos, fmt::format("values nested deeper than {} levels (lists, tuples or "
                                 "range() calls; a genotype needs 4)",
                                 kMaxDepth));
      }
    }
    ~Nesting() { --p_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    Parser& p_;
  };

  Value value() {
    skip_space();
    Value v;
    v.pos = i_;
    if (i_ >= s_.size()) fail(i_, "expected a value, found the end of the text");
    const Nesting nesting(*this, i_);
    const char c = s_[i_];
    if (c == '[' || c == '(') {
      const char close = c == '[' ? ']' : ')';
      ++i_;
      v.kind = Value::kList;
      while (!peek(close)) {
        v.items.push_back(value());
        if (peek(',')) {
          ++i_;
        } else if (!peek(close)) {
          fail(i_, fmt::format("expected ',' or '{}' in a list, found {}",
                               close, found()));
        }
      }
      ++i_;
      return v;
    }
    if (c == '\'' || c == '"') {
      const size_t end = s_.find(c, i_ + 1);
      if (end == std::string_view::npos) fail(i_, "unterminated string");
      v.kind = Value::kString;
      v.text = std::string(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      size_t used = 0;
      try {
        v.number = std::stod(std::string(s_.substr(i_, 32)), &used);
      } catch (const std::exception&) {
        fail(i_, "malformed number");
      }
      v.kind = Value::kNumber;
      i_ += used;
      return v;
    }
    const std::string name = identifier();
    if (name == "None") return v;
    if (name == "range") {
      expect('(', "after range");
      const Value a = value();
      expect(',', "between the bounds of range(a, b)");
      const Value b = value();
      expect(')', "after range(a, b)");
      if (a.kind != Value::kNumber || b.kind != Value::kNumber ||
          a.number != static_cast<double>(static_cast<int64_t>(a.number)) ||
          b.number != static_cast<double>(static_cast<int64_t>(b.number))) {
        fail(v.pos, "range() takes two integers");
      }
      if (b.number - a.number > kMaxRange || a.number < -kMaxRange) {
        fail(v.pos, fmt::format("range({}, {}) is too long: a concat list names at most {} "
                                "states",
                                a.number, b.number, kMaxRange));
      }
      v.kind = Value::kList;
      for (int64_t k = static_cast<int64_t>(a.number); k < b.number; ++k) {
        Value item;
        item.kind = Value::kNumber;
        item.number = static_cast<double>(k);
        item.pos = a.pos;
        v.items.push_back(item);
      }
      return v;
    }
    fail(v.pos, fmt::format("unexpected name '{}' (expected a list, a string, "
                            "a number, None or range(a, b))",
                            name));
  }

  /// `[NAME =] Genotype(key=value, ...)` -> key/value pairs in order.
  std::vector<std::pair<std::string, Value>> genotype() {
    std::string head = identifier();
    if (peek('=')) {
      ++i_;
      head = identifier();
    }
    if (head != "Genotype") {
      fail(i_ - head.size(),
           fmt::format("expected 'Genotype(', found '{}'", head));
    }
    expect('(', "after Genotype");
    std::vector<std::pair<std::string, Value>> fields;
    static const char* kPositional[] = {"normal", "normal_concat", "reduce",
                                        "reduce_concat"};
    while (!peek(')')) {
      skip_space();
      const size_t save = i_;
      std::string key;
      if (std::isalpha(static_cast<unsigned char>(s_[i_]))) {
        key = identifier();
        if (!peek('=')) {
          i_ = save;
          key.clear();
        } else {
          ++i_;
        }
      }
      if (key.empty()) {
        if (fields.size() >= 4) fail(i_, "too many positional fields");
        key = kPositional[fields.size()];
      }
      fields.emplace_back(key, value());
      if (peek(',')) {
        ++i_;
      } else if (!peek(')')) {
        fail(i_, fmt::format("expected ',' or ')' after field '{}', found {}",
                             key, found()));
      }
    }
    ++i_;
    skip_space();
    if (i_ != s_.size()) {
      fail(i_, fmt::format("unexpected text after the genotype: {}", found()));
    }
    return fields;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  int depth_ = 0;
};

bool is_pair(const Value& v) {
  return v.kind == Value::kList && (v.items.size() == 2 || v.items.size() == 3) &&
         v.items[0].kind == Value::kString && v.items[1].kind == Value::kNumber;
}

int64_t as_int(const Parser& p, const Value& v, const char* what) {
  if (v.kind != Value::kNumber || v.number != static_cast<int64_t>(v.number)) {
    p.fail(v.pos, fmt::format("expected an integer {}", what));
  }
  return static_cast<int64_t>(v.number);
}

GenotypeEdge edge_of(const Parser& p, const Value& v,
                     const std::vector<std::string>& valid_ops) {
  if (!is_pair(v)) {
    p.fail(v.pos, "expected an ('op', input) pair");
  }
  GenotypeEdge e;
  e.op = v.items[0].text;
  e.input = as_int(p, v.items[1], "input index");
  if (std::find(valid_ops.begin(), valid_ops.end(), e.op) == valid_ops.end()) {
    p.fail(v.items[0].pos, fmt::format("unknown op '{}'; valid ops: {}", e.op,
                                       fmt::join(valid_ops, ", ")));
  }
  return e;
}

std::vector<int64_t> concat_of(const Parser& p, const Value& v) {
  if (v.kind != Value::kList || v.items.empty()) {
    p.fail(v.pos, "expected a concat list such as [2, 3, 4, 5] or range(2, 6)");
  }
  std::vector<int64_t> out;
  for (const auto& item : v.items) out.push_back(as_int(p, item, "in concat"));
  return out;
}

CellGenotype cell_of(const Parser& p, const std::string& name, const Value& ops,
                     const Value& concat_value,
                     const std::vector<std::string>& valid_ops) {
  CellGenotype cell;
  cell.name = name;
  cell.concat = concat_of(p, concat_value);
  if (ops.kind != Value::kList || ops.items.empty()) {
    p.fail(ops.pos, fmt::format("'{}' must be a non-empty list of ('op', "
                                "input) pairs",
                                name));
  }
  const bool flat = is_pair(ops.items.front());
  if (flat) {
    std::vector<GenotypeEdge> edges;
    for (const auto& v : ops.items) edges.push_back(edge_of(p, v, valid_ops));
    const int64_t len = static_cast<int64_t>(edges.size());
    // Edge-all (SNAS): node i lists all i + 2 earlier states; its node
    // count comes from the concat list.
    const int64_t n = *std::max_element(cell.concat.begin(), cell.concat.end()) - 1;
    bool edge_all = n > 1 && len == n * (n + 3) / 2;
    if (edge_all) {
      int64_t at = 0;
      for (int64_t i = 0; i < n && edge_all; ++i) {
        std::set<int64_t> inputs;
        for (int64_t k = 0; k < i + 2; ++k) inputs.insert(edges[at + k].input);
        edge_all = static_cast<int64_t>(inputs.size()) == i + 2 &&
                   *inputs.rbegin() == i + 1;
        at += i + 2;
      }
    }
    if (edge_all) {
      int64_t at = 0;
      for (int64_t i = 0; i < n; ++i) {
        cell.nodes.emplace_back(edges.begin() + at, edges.begin() + at + i + 2);
        at += i + 2;
      }
    } else {
      if (len % 2 != 0) {
        p.fail(ops.pos,
               fmt::format("'{}' has {} pairs; a flat list needs two per node "
                           "(or, edge-all, i + 2 for node i)",
                           name, len));
      }
      for (int64_t i = 0; i < len; i += 2) {
        cell.nodes.push_back({edges[i], edges[i + 1]});
      }
    }
  } else {
    for (const auto& node : ops.items) {
      if (node.kind != Value::kList || node.items.empty()) {
        p.fail(node.pos, "expected a list of ('op', input) pairs for a node");
      }
      std::vector<GenotypeEdge> inputs;
      for (const auto& v : node.items) inputs.push_back(edge_of(p, v, valid_ops));
      cell.nodes.push_back(std::move(inputs));
    }
  }
  // Inputs must exist: node i (state i + 2) sees states 0 .. i + 1.
  const Value* first = flat ? &ops.items.front() : &ops;
  for (size_t i = 0; i < cell.nodes.size(); ++i) {
    for (const auto& e : cell.nodes[i]) {
      if (e.input < 0 || e.input > static_cast<int64_t>(i) + 1) {
        p.fail(first->pos,
               fmt::format("{}: node {} (state {}) takes input {}, but only "
                           "states 0..{} exist before it",
                           name, i, i + 2, e.input, i + 1));
      }
    }
  }
  const int64_t states = static_cast<int64_t>(cell.nodes.size()) + 2;
  std::set<int64_t> seen;
  for (int64_t c : cell.concat) {
    if (c < 2 || c >= states || !seen.insert(c).second) {
      p.fail(concat_value.pos,
             fmt::format("{}_concat: {} is not a distinct intermediate state of 2..{} "
                         "(0 and 1 are the cell's inputs)",
                         name, c, states - 1));
    }
  }
  return cell;
}

std::string format_edges(const std::vector<GenotypeEdge>& edges) {
  std::vector<std::string> parts;
  for (const auto& e : edges) parts.push_back(fmt::format("('{}', {})", e.op, e.input));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

Architecture parse_darts_genotype(std::string_view text,
                                  const std::vector<std::string>& valid_ops) {
  Parser p(text);
  const auto fields = p.genotype();
  std::map<std::string, const Value*> by_name;
  for (const auto& [key, value] : fields) {
    if (key == "connectN" || key == "connects") continue;  // AutoDL extras
    if (key != "normal" && key != "normal_concat" && key != "reduce" &&
        key != "reduce_concat") {
      p.fail(value.pos, fmt::format("unknown field '{}' (expected normal, "
                                    "normal_concat, reduce, reduce_concat)",
                                    key));
    }
    if (!by_name.emplace(key, &value).second) {
      p.fail(value.pos, fmt::format("field '{}' given twice", key));
    }
  }
  for (const char* key : {"normal", "normal_concat", "reduce", "reduce_concat"}) {
    if (by_name.count(key) == 0) {
      p.fail(text.size(), fmt::format("missing field '{}'", key));
    }
  }
  Architecture arch;
  arch.cells.push_back(cell_of(p, "normal", *by_name["normal"],
                               *by_name["normal_concat"], valid_ops));
  arch.cells.push_back(cell_of(p, "reduce", *by_name["reduce"],
                               *by_name["reduce_concat"], valid_ops));
  return arch;
}

std::string format_darts_genotype(const Architecture& arch) {
  std::vector<std::string> parts;
  for (const auto& cell : arch.cells) {
    const bool pairs = std::all_of(cell.nodes.begin(), cell.nodes.end(),
                                   [](const auto& n) { return n.size() == 2; });
    std::vector<std::string> nodes;
    for (const auto& node : cell.nodes) {
      nodes.push_back(pairs ? format_edges(node)
                            : fmt::format("[{}]", format_edges(node)));
    }
    parts.push_back(fmt::format("{}=[{}]", cell.name, fmt::join(nodes, ", ")));
    parts.push_back(
        fmt::format("{}_concat=[{}]", cell.name, fmt::join(cell.concat, ", ")));
  }
  return fmt::format("Genotype({})", fmt::join(parts, ", "));
}

}  // namespace nas::search_space
