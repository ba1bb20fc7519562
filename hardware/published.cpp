#include "hardware/published.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/stats.h"
#include "core/text.h"

#ifndef NAS_SOURCE_DIR
#define NAS_SOURCE_DIR "."
#endif

namespace nas::hardware {

namespace {

constexpr const char* kRelative = "shared/data/nb201-latency/nb201_latency.csv.gz";
constexpr int64_t kMaxBytes = int64_t{256} << 20;

bool is_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// The whole file, gunzipped when it is gzip (zlib passes plain text through).
std::string read_maybe_gzip(const std::string& path) {
  if (!is_file(path)) {
    throw ConfigError(fmt::format(
        "{}: no such file (the published NB201 latencies; give the file with "
        "--latency-data FILE or objective.latency.data, or set NASKIT_LATENCY_DATA)",
        path));
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw ConfigError(fmt::format("{}: cannot open", path));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  std::string text;
  std::vector<char> buf(1 << 16);
  while (true) {
    const int got = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (got < 0) {
      int errnum = 0;
      throw ConfigError(fmt::format("{}: corrupt gzip data ({})", path, gzerror(f, &errnum)));
    }
    if (got == 0) break;
    text.append(buf.data(), static_cast<size_t>(got));
    if (static_cast<int64_t>(text.size()) > kMaxBytes) {
      throw ConfigError(fmt::format("{}: more than {} MiB of text; not the latency table", path,
                                    kMaxBytes >> 20));
    }
  }
  return text;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

PublishedLatencies parse_csv(const std::string& file, const std::string& text) {
  PublishedLatencies p;
  p.file = file;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw ConfigError(fmt::format("{}: empty file", file));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split(line, ',');
  if (header.size() < 3 || header[0] != "nb201_idx" || header[1] != "arch_str") {
    throw ConfigError(fmt::format(
        "{}:1: expected the header 'nb201_idx,arch_str,lat_ms_<device>,...', found '{}'", file,
        core::printable(line, 120)));
  }
  for (size_t c = 2; c < header.size(); ++c) {
    if (header[c].rfind("lat_ms_", 0) != 0) {
      throw ConfigError(fmt::format("{}:1: column {} is '{}', expected lat_ms_<device>", file,
                                    c + 1, core::printable(header[c], 60)));
    }
    p.devices.push_back(header[c].substr(7));
  }
  p.values.resize(p.devices.size());
  int64_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = split(line, ',');
    if (fields.size() != header.size()) {
      throw ConfigError(fmt::format("{}:{}: {} fields, expected {} (a truncated file?)", file,
                                    number, fields.size(), header.size()));
    }
    p.archs.push_back(fields[1]);
    p.lines.push_back(number);
    for (size_t c = 2; c < fields.size(); ++c) {
      char* end = nullptr;
      const double v = std::strtod(fields[c].c_str(), &end);
      if (fields[c].empty() || end != fields[c].c_str() + fields[c].size() || !std::isfinite(v)) {
        throw ConfigError(fmt::format("{}:{}: column {} ({}) is '{}', expected a number", file,
                                      number, c + 1, header[c],
                                      core::printable(fields[c], 40)));
      }
      p.values[c - 2].push_back(v);
    }
  }
  if (p.archs.empty()) throw ConfigError(fmt::format("{}: no rows after the header", file));
  return p;
}

/// Solves A x = b (n x n, row-major) by Gaussian elimination with partial
/// pivoting; A is the normal matrix plus a tiny ridge, so it is regular.
std::vector<double> solve(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r) {
      if (std::abs(a[r * n + c]) > std::abs(a[pivot * n + c])) pivot = r;
    }
    for (size_t j = 0; j < n; ++j) std::swap(a[c * n + j], a[pivot * n + j]);
    std::swap(b[c], b[pivot]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (size_t j = c; j < n; ++j) a[r * n + j] -= f * a[c * n + j];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t j = i + 1; j < n; ++j) s -= a[i * n + j] * x[j];
    x[i] = s / a[i * n + i];
  }
  return x;
}

nlohmann::json fit_report(const std::vector<double>& predicted, const std::vector<double>& measured) {
  // A small user table may hold out fewer than two architectures: no
  // statistics then, rather than an error.
  if (predicted.size() < 2) return {{"architectures", predicted.size()}};
  return {{"architectures", predicted.size()},
          {"r2", core::r_squared(predicted, measured)},
          {"spearman", core::spearman(predicted, measured)},
          {"kendall", core::kendall_tau(predicted, measured)},
          {"rmse_ms", core::rmse(predicted, measured)},
          {"mape_pct", core::mean_abs_pct_error(predicted, measured)}};
}

}  // namespace

std::string default_latency_data() {
  if (const char* env = std::getenv("NASKIT_LATENCY_DATA"); env != nullptr && *env != 0) {
    return env;
  }
  const std::string beside_source = std::string(NAS_SOURCE_DIR) + "/../" + kRelative;
  const std::string beside_cwd = std::string("../") + kRelative;
  if (is_file(beside_source)) return beside_source;
  if (is_file(beside_cwd)) return beside_cwd;
  return beside_source;
}

const PublishedLatencies& read_published_latencies(const std::string& file) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<PublishedLatencies>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& entry = cache[file];
  if (!entry) {
    entry = std::make_unique<PublishedLatencies>(parse_csv(file, read_maybe_gzip(file)));
  }
  return *entry;
}

CostTable published_table(const search_space::SearchSpace& space, const std::string& device,
                          const std::string& file_given) {
  if (space.name() != "nb201") {
    throw ConfigError(fmt::format(
        "published:{}: the published latencies are of NAS-Bench-201 architectures; the search "
        "space is '{}' (profile this device with `nas profile --space {}` instead)",
        device, space.name(), space.name()));
  }
  const auto file = file_given.empty() ? default_latency_data() : file_given;
  const auto& data = read_published_latencies(file);
  const auto it = std::find(data.devices.begin(), data.devices.end(), device);
  if (it == data.devices.end()) {
    throw ConfigError(fmt::format("published:{}: unknown device; {} has: {}", device, file,
                                  fmt::join(data.devices, ", ")));
  }
  const auto& lat = data.values[it - data.devices.begin()];

  CostTable t;
  t.kind = "latency";
  t.unit = "ms";
  t.space = space.name();
  t.source = "published:" + device;
  t.sizes = {{"C", 16}, {"cells_per_stage", 5}, {"num_classes", 10}, {"in_channels", 3},
             {"input_size", 32}};
  const auto decisions = space.decisions();
  t.candidates = decisions.front().candidates;
  for (const auto& d : decisions) t.decisions.push_back(d.name);
  const auto dn = t.decisions.size();
  const auto kn = t.candidates.size();
  const auto none = std::find(t.candidates.begin(), t.candidates.end(), "none") -
                    t.candidates.begin();

  // One-hot design without `none` (the reference level of every edge).
  std::vector<std::vector<int64_t>> ops(data.archs.size());
  for (size_t r = 0; r < data.archs.size(); ++r) {
    search_space::Architecture arch;
    try {
      arch = space.parse(data.archs[r]);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}:{}: not a NAS-Bench-201 architecture: {}", file, data.lines[r],
                                    e.what()));
    }
    t.exact[space.format(arch)] = lat[r];
    for (const auto& e : space.path_of(arch).edges) ops[r].push_back(e.ops.empty() ? none : e.ops[0]);
  }
  auto column = [&](size_t d, int64_t k) {
    return 1 + d * (kn - 1) + static_cast<size_t>(k < none ? k : k - 1);
  };
  const size_t n = 1 + dn * (kn - 1);
  std::vector<double> ata(n * n, 0.0), atb(n, 0.0);
  auto features = [&](size_t r) {
    std::vector<size_t> cols{0};
    for (size_t d = 0; d < dn; ++d) {
      if (ops[r][d] != none) cols.push_back(column(d, ops[r][d]));
    }
    return cols;
  };
  auto held_out = [](size_t r) { return r % 5 == 4; };
  for (size_t r = 0; r < ops.size(); ++r) {
    if (held_out(r)) continue;
    const auto cols = features(r);
    for (size_t i : cols) {
      atb[i] += lat[r];
      for (size_t j : cols) ata[i * n + j] += 1;
    }
  }
  for (size_t i = 0; i < n; ++i) ata[i * n + i] += 1e-9;
  const auto beta = solve(ata, atb);
  t.fixed = beta[0];
  t.cost.assign(dn, std::vector<double>(kn, 0.0));
  for (size_t d = 0; d < dn; ++d) {
    for (size_t k = 0; k < kn; ++k) {
      if (static_cast<int64_t>(k) != none) t.cost[d][k] = beta[column(d, static_cast<int64_t>(k))];
    }
  }
  std::vector<double> p_train, m_train, p_test, m_test;
  for (size_t r = 0; r < ops.size(); ++r) {
    double p = 0;
    for (size_t c : features(r)) p += beta[c];
    (held_out(r) ? p_test : p_train).push_back(p);
    (held_out(r) ? m_test : m_train).push_back(lat[r]);
  }
  t.meta["device"] = {{"published", device}, {"data", file}};
  t.meta["fit"] = {{"model", "intercept + one coefficient per (edge, op), none = 0, least squares"},
                   {"train", fit_report(p_train, m_train)},
                   {"held_out", fit_report(p_test, m_test)}};
  return t;
}

CostTable load_latency_table(const search_space::SearchSpace& space, const std::string& spec,
                             const std::string& data_file) {
  const std::string prefix = "published:";
  if (spec.rfind(prefix, 0) == 0) return published_table(space, spec.substr(prefix.size()), data_file);
  auto table = read_cost_table(spec);
  table.check_space(space, spec);
  if (table.kind != "latency") {
    throw ConfigError(fmt::format("{}: a {} table, expected a latency table", spec, table.kind));
  }
  return table;
}

}  // namespace nas::hardware
