#include "estimators/tabular.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/options.h"
#include "core/text.h"

namespace nas::estimators {

namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

/// One CSV record (RFC 4180 quoting within a line).
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  if (quoted) throw ConfigError(fmt::format("{}: a quoted field is not closed", where));
  return out;
}

/// The number in `text`, or NaN when it is not one (whole text, finite).
double number_or_missing(const std::string& text) {
  if (text.empty()) return kMissing;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) return kMissing;
  return v;
}

struct RawRow {
  std::string arch;
  std::vector<double> values;  // per column
  int64_t line = 0;
};

struct RawTable {
  std::vector<std::string> columns;
  std::vector<RawRow> rows;
};

RawTable read_csv(std::istream& in, const std::string& file, const std::string& arch_column) {
  RawTable t;
  std::string line;
  int64_t number = 0;
  size_t arch_index = 0;
  std::vector<size_t> metric_index;
  size_t fields = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", file, number);
    auto cells = split_csv(line, where);
    if (fields == 0) {  // the header
      fields = cells.size();
      bool found = false;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i] == arch_column && !found) {
          arch_index = i;
          found = true;
        } else {
          t.columns.push_back(cells[i]);
          metric_index.push_back(i);
        }
      }
      if (!found) {
        throw ConfigError(fmt::format(
            "{}: expected a header with a column '{}' (the architectures; option "
            "estimator.options.arch_column), found the columns {}",
            where, arch_column, core::printable(fmt::format("{}", fmt::join(cells, ", ")))));
      }
      continue;
    }
    if (cells.size() != fields) {
      throw ConfigError(fmt::format("{}: expected {} fields as in the header, found {}", where,
                                    fields, cells.size()));
    }
    RawRow row{cells[arch_index], {}, number};
    for (auto i : metric_index) row.values.push_back(number_or_missing(cells[i]));
    t.rows.push_back(std::move(row));
  }
  return t;
}

RawTable read_jsonl(std::istream& in, const std::string& file, const std::string& arch_column) {
  RawTable t;
  std::vector<nlohmann::json> objects;
  std::vector<int64_t> lines;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", file, number);
    auto j = core::parse_json(line, where);
    if (!j.is_object()) {
      throw ConfigError(fmt::format("{}: expected a JSON object, found {}", where,
                                    core::json_type_name(j)));
    }
    if (!j.contains(arch_column) || !j[arch_column].is_string()) {
      throw ConfigError(fmt::format("{}: expected a string field '{}' (the architecture)", where,
                                    arch_column));
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != arch_column &&
          std::find(t.columns.begin(), t.columns.end(), it.key()) == t.columns.end()) {
        t.columns.push_back(it.key());
      }
    }
    objects.push_back(std::move(j));
    lines.push_back(number);
  }
  for (size_t r = 0; r < objects.size(); ++r) {
    RawRow row{objects[r][arch_column].get<std::string>(), {}, lines[r]};
    for (const auto& c : t.columns) {
      const auto& v = objects[r].contains(c) ? objects[r][c] : nlohmann::json();
      row.values.push_back(v.is_number() && std::isfinite(v.get<double>()) ? v.get<double>()
                                                                          : kMissing);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

bool looks_like_jsonl(const std::string& file, std::istream& in) {
  const auto ext = file.substr(file.find_last_of('.') == std::string::npos
                                   ? file.size()
                                   : file.find_last_of('.'));
  if (ext == ".jsonl" || ext == ".json") return true;
  if (ext == ".csv") return false;
  const int c = (in >> std::ws).peek();
  return c == '{';
}

}  // namespace

size_t BenchmarkTable::column(const std::string& name, const std::string& option) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  throw ConfigError(fmt::format("{}: {} '{}' is not a column of {}; its columns: {}", option,
                                option.substr(option.rfind('.') + 1), name, file,
                                fmt::join(columns, ", ")));
}

BenchmarkTable read_benchmark_table(const std::string& file, const std::string& arch_column,
                                    const search_space::SearchSpace& space) {
  if (file.empty()) {
    throw ConfigError(
        "estimator tabular: expected a benchmark file (--set estimator.options.file=FILE: a "
        "CSV or JSONL file with a column 'arch' and metric columns), found none");
  }
  std::ifstream in(file);
  if (!in) {
    throw ConfigError(fmt::format("estimator tabular: cannot read the benchmark file {}", file));
  }
  const bool jsonl = looks_like_jsonl(file, in);
  in.clear();
  in.seekg(0);
  const auto raw = jsonl ? read_jsonl(in, file, arch_column) : read_csv(in, file, arch_column);
  if (raw.rows.empty()) {
    throw ConfigError(fmt::format("{}: expected at least one architecture, found none", file));
  }
  BenchmarkTable t;
  t.file = file;
  t.columns = raw.columns;
  auto& line_of = t.lines;
  for (const auto& row : raw.rows) {
    const auto where = fmt::format("{}:{}", file, row.line);
    std::string key;
    try {
      key = space.format(space.parse(row.arch));
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: not an architecture of the {} space: {}", where,
                                    space.name(), e.what()));
    }
    const auto [it, inserted] = line_of.emplace(key, row.line);
    if (!inserted) {
      throw ConfigError(fmt::format(
          "{}: architecture {} is listed twice (lines {} and {}); average repeated runs into "
          "one row",
          file, core::printable(key), it->second, row.line));
    }
    t.rows.emplace(key, row.values);
  }
  return t;
}

const core::OptionTable<TabularOptions>& TabularEstimator::options_table() {
  static const auto table = [] {
    core::OptionTable<TabularOptions> t;
    t.add("file", &TabularOptions::file, "the benchmark file, CSV or JSONL (required)")
        .add("metric", &TabularOptions::metric,
             "the column to look up (empty: the only column besides arch and seconds)")
        .add("higher_is_better", &TabularOptions::higher_is_better, "the metric's direction")
        .add("arch_column", &TabularOptions::arch_column, "the column of architecture texts",
             core::required("a column name"))
        .add("seconds", &TabularOptions::seconds,
             "a column of recorded training seconds, charged to the budget (empty: none)");
    return t;
  }();
  return table;
}

TabularEstimator::TabularEstimator(const nlohmann::json& options)
    : opts_(options_table().parse(options, "estimator.tabular")),
      higher_is_better_(opts_.higher_is_better) {}

void TabularEstimator::attach(const EstimatorContext& ctx) {
  space_ = ctx.space;
  table_ = read_benchmark_table(opts_.file, opts_.arch_column, *space_);
  auto metric = opts_.metric;
  const auto seconds = opts_.seconds;
  if (metric.empty()) {
    std::vector<std::string> candidates;
    for (const auto& c : table_.columns) {
      if (c != seconds) candidates.push_back(c);
    }
    if (candidates.size() != 1) {
      throw ConfigError(fmt::format(
          "estimator.tabular.metric: expected the column to look up (--set "
          "estimator.options.metric=NAME), found none set; the columns of {}: {}",
          table_.file, fmt::join(table_.columns, ", ")));
    }
    metric = candidates.front();
  }
  metric_ = table_.column(metric, "estimator.tabular.metric");
  seconds_ = seconds.empty()
                 ? -1
                 : static_cast<int64_t>(table_.column(seconds, "estimator.tabular.seconds"));
  for (const auto& [arch, values] : table_.rows) {
    for (int64_t c : {static_cast<int64_t>(metric_), seconds_}) {
      if (c >= 0 && std::isnan(values[c])) {
        throw ConfigError(fmt::format(
            "{}:{}: expected a finite number in column '{}' for every architecture, found none "
            "(an empty cell, text, NaN or inf) for {}",
            table_.file, table_.lines.at(arch), table_.columns[c], core::printable(arch)));
      }
    }
  }
  opts_.metric = metric;
}

Estimate TabularEstimator::evaluate(const search_space::Architecture& arch, const Fidelity&) {
  Estimate e;
  e.metric = table_.columns[metric_];
  std::string key;
  try {
    key = space_->format(arch);
  } catch (const std::exception& ex) {
    e.ok = false;
    e.message = ex.what();
    return e;
  }
  const auto it = table_.rows.find(key);
  if (it == table_.rows.end()) {
    e.ok = false;
    e.message = fmt::format("architecture {} is not in {} ({} architectures listed)",
                            core::printable(key, 200), table_.file, table_.rows.size());
    return e;
  }
  e.value = it->second[metric_];
  e.score = score_of(e.value, higher_is_better_);
  if (seconds_ >= 0) e.seconds = it->second[seconds_];
  return e;
}

}  // namespace nas::estimators
