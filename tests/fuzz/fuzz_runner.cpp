// A deterministic mutation fuzzer for naskit's input parsers and readers.
// Each target gets a fixed number of cases (not a time), drawn from its seed
// corpus by mutations from one seeded generator, so every machine tries the
// same inputs in the same order. Each input must either be accepted or
// rejected with a nas::Error (a clear message); any other exception, a crash
// (a signal) or a hang fails the run, naming the target and the case and
// saving the input so that one command reproduces it:
//
//   fuzz_runner [--cases N] [--seed S] [--target NAME] [--timeout SECONDS] [--verbose]
//   fuzz_runner --target NAME --input FILE     (one saved input)
//   fuzz_runner --list                         (the targets)
//
// Mutations (kMutations kinds; case i starts with kind i % kMutations, so a
// budget of N cases applies every kind at least N / kMutations times): byte
// flips, insertions of structural characters, repeats of a slice (up to deep
// nesting and huge numbers), truncation, splicing two corpus entries,
// deleting a range, odd numbers, deep brackets, 0xFFFFFFFF counts, one JSON
// value replaced by another type or range (schemas of configs and files),
// and repeated names (`range(`, `Genotype(`, `[`, keys).
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/text.h"
#include "data/dataset.h"
#include "estimators/tabular.h"
#include "experiments/config.h"
#include "experiments/report.h"
#include "experiments/study.h"
#include "hardware/cost_table.h"
#include "hardware/published.h"
#include "search_space/chain.h"
#include "search_space/chain_space.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

constexpr int kMutations = 11;

struct Target {
  std::string name;
  std::string about;
  std::vector<Bytes> corpus;
  std::function<void(const Bytes&)> run;
};

// --- what a crash or a hang reports, from a signal handler -----------------
// Prepared before each case, so the handler only calls write(2), open(2)
// and _exit(2) (async-signal-safe).
struct CrashReport {
  std::string message;    ///< "target T case N (seed S)"
  std::string path;       ///< where the input goes
  std::string reproduce;  ///< the command that runs it again
  const Bytes* input = nullptr;
};
CrashReport g_report;
volatile sig_atomic_t g_in_case = 0;
bool g_verbose = false;  ///< --verbose: print every rejection

void put(const char* s) { [[maybe_unused]] auto n = ::write(2, s, std::strlen(s)); }

void on_fatal_signal(int sig) {
  if (g_in_case != 0) {
    put(sig == SIGALRM ? "\nHANG (no answer within the per-case timeout): " : "\nCRASH (");
    if (sig != SIGALRM) {
      put(strsignal(sig));
      put("): ");
    }
    put(g_report.message.c_str());
    const int fd = ::open(g_report.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && g_report.input != nullptr) {
      [[maybe_unused]] auto n = ::write(fd, g_report.input->data(), g_report.input->size());
      ::close(fd);
      put("\ninput saved; reproduce with: ");
      put(g_report.reproduce.c_str());
    }
    put("\n");
  }
  ::_exit(sig == SIGALRM ? 124 : 128 + sig);
}

void install_crash_handlers() {
  // Stack overflow is one of the crashes to report: the handler needs its
  // own stack.
  static std::vector<char> stack(1 << 16);
  stack_t ss{};
  ss.ss_sp = stack.data();
  ss.ss_size = stack.size();
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM}) sigaction(sig, &sa, nullptr);
}

// --- mutations --------------------------------------------------------------
/// Every value in `j`, depth first.
void collect(nlohmann::json& j, std::vector<nlohmann::json*>& out) {
  out.push_back(&j);
  if (j.is_structured()) {
    for (auto& v : j) collect(v, out);
  }
}

/// One line of `s` (lines end at '\n' or at the 0x01 between two files)
/// that is JSON gets one value replaced: a wrong type, an empty or
/// duplicated list, an out-of-range number, a copy of another value.
Bytes mutate_json(const Bytes& s, nas::core::Rng& rng) {
  std::vector<std::pair<size_t, size_t>> lines;  // [begin, end)
  for (size_t b = 0, e = 0; b <= s.size(); b = e + 1) {
    e = s.find_first_of("\n\x01", b);
    if (e == Bytes::npos) e = s.size();
    if (e > b && e - b < (size_t{1} << 16) && (s[b] == '{' || s[b] == '[' || s[b] == '#')) {
      lines.emplace_back(b, e);
    }
  }
  if (lines.empty()) return s;
  auto [b, e] = lines[rng.uniform_int(static_cast<int64_t>(lines.size()))];
  if (s[b] == '#') ++b;  // the study_dir target's marker for study.json
  nlohmann::json j;
  try {
    j = nas::core::parse_json(s.substr(b, e - b), "mutation");
  } catch (const nas::Error&) {
    return s;
  }
  std::vector<nlohmann::json*> nodes;
  collect(j, nodes);
  auto& node = *nodes[rng.uniform_int(static_cast<int64_t>(nodes.size()))];
  const auto& other = *nodes[rng.uniform_int(static_cast<int64_t>(nodes.size()))];
  const std::vector<nlohmann::json> odd = {
      nullptr, -1, 0, 1e12, -1e300, 0.5, "x", "", nlohmann::json::array(),
      nlohmann::json::object(), true, "nan", nlohmann::json::array({1, 1}), "../../etc/passwd"};
  if (node.is_array() && !node.empty() && rng.bernoulli(0.3)) {
    node.push_back(node.front());  // a duplicate entry
  } else {
    node = rng.bernoulli(0.2) ? nlohmann::json(other) : odd[rng.uniform_int(static_cast<int64_t>(odd.size()))];
  }
  return s.substr(0, b) + j.dump() + s.substr(e);
}

Bytes mutate(const Bytes& in, int64_t kind, const std::vector<Bytes>& corpus,
             nas::core::Rng& rng) {
  Bytes s = in;
  auto pos = [&] {
    return s.empty() ? 0 : static_cast<size_t>(rng.uniform_int(static_cast<int64_t>(s.size())));
  };
  auto pick = [&](const std::vector<std::string>& v) {
    return v[static_cast<size_t>(rng.uniform_int(static_cast<int64_t>(v.size())))];
  };
  static const std::string structural = "[](){}'\",:=|+~0123456789.-eE \\\n\x00\xff";
  switch (kind) {
    case 0:  // flip a byte
      if (!s.empty()) s[pos()] = static_cast<char>(rng.uniform_int(256));
      break;
    case 1:  // insert a structural character
      s.insert(pos(), 1, structural[rng.uniform_int(static_cast<int64_t>(structural.size()))]);
      break;
    case 2: {  // repeat a slice many times
      if (s.empty()) break;
      const size_t a = pos(), len = 1 + rng.uniform_int(8);
      const auto slice = s.substr(a, len);
      const int64_t times = 1 + rng.uniform_int(rng.bernoulli(0.1) ? 20000 : 50);
      Bytes rep;
      for (int64_t i = 0; i < times && rep.size() < (1u << 21); ++i) rep += slice;
      s.insert(a, rep);
      break;
    }
    case 3:  // truncate
      s.resize(pos());
      break;
    case 4: {  // splice with another entry
      const auto& other = corpus[rng.uniform_int(static_cast<int64_t>(corpus.size()))];
      s = s.substr(0, pos()) +
          other.substr(other.empty() ? 0 : rng.uniform_int(static_cast<int64_t>(other.size())));
      break;
    }
    case 5:  // delete a range
      if (!s.empty()) s.erase(pos(), 1 + rng.uniform_int(16));
      break;
    case 6:  // a huge or odd number
      s.insert(pos(), pick({"1e400", "99999999999999999999", "-1", "0x2", "2.0", "1e12", "NaN",
                            "4294967295", "-0", "inf", "1e-320"}));
      break;
    case 7:  // deep nesting
      s.insert(pos(), std::string(1 + rng.uniform_int(50000), rng.bernoulli(0.5) ? '[' : '{'));
      break;
    case 8:  // overwrite 4 bytes with 0xFF (IDX counts)
      if (s.size() >= 8) {
        const size_t a = rng.uniform_int(static_cast<int64_t>(s.size() - 4));
        for (int k = 0; k < 4; ++k) s[a + k] = '\xff';
      }
      break;
    case 9:  // a JSON value of another type or range (config and file schemas)
      s = mutate_json(s, rng);
      break;
    default: {  // a name or call repeated (recursion through names, not brackets)
      const auto word = pick({"range(", "Genotype(", "(", "[(", "'sep_conv_3x3', ", "|none~0",
                              "\"strategies\": [", "\"a\":{", "nan,", ",,"});
      const int64_t times = 1 + rng.uniform_int(rng.bernoulli(0.3) ? 30000 : 20);
      Bytes rep;
      for (int64_t i = 0; i < times; ++i) rep += word;
      s.insert(pos(), rep);
      break;
    }
  }
  return s;
}

// --- seed corpora -------------------------------------------------------------
Bytes idx_images(int n, int rows, int cols) {
  Bytes b = {0, 0, 8, 3};
  for (int v : {n, rows, cols}) {
    for (int k = 3; k >= 0; --k) b.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  for (int i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<char>(i * 7));
  return b;
}
Bytes idx_labels(int n) {
  Bytes b = {0, 0, 8, 1};
  for (int k = 3; k >= 0; --k) b.push_back(static_cast<char>((n >> (8 * k)) & 0xFF));
  for (int i = 0; i < n; ++i) b.push_back(static_cast<char>(i % 10));
  return b;
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes gzip(const std::string& tmp, const Bytes& text) {
  const auto path = tmp + "/gzip_seed.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  return read_file(path);
}

/// Two parts of one input: `a` and `b` separated at the first 0x01 at or
/// after `from` (the rest is `b`; no separator: `b` is empty).
std::pair<Bytes, Bytes> split_at_marker(const Bytes& t, size_t from = 0) {
  const auto cut = t.find('\x01', std::min(from, t.size()));
  if (cut == Bytes::npos) return {t, Bytes()};
  return {t.substr(0, cut), t.substr(cut + 1)};
}

const char* kGenotype =
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
const char* kNb201 =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|";
const char* kNb201b = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|";

const nas::search_space::DartsSpace& darts() {
  static const nas::search_space::DartsSpace s(nas::search_space::DartsSpace::default_options());
  return s;
}
const nas::search_space::Nb201Space& nb201() {
  static const nas::search_space::Nb201Space s(nlohmann::json::object());
  return s;
}

const nas::search_space::ChainSpace& chain() {
  static const nas::search_space::ChainSpace s("chain_proxyless", "proxyless",
                                               nlohmann::json::object());
  return s;
}

/// Removes a file when the scope ends, however it ends.
struct Removed {
  std::string path;
  ~Removed() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// --- targets ----------------------------------------------------------------
std::vector<Target> parser_targets() {
  std::vector<Target> out;
  out.push_back({"genotype", "DARTS genotype text (nas show --arch, arch files, result.json)",
                 {kGenotype,
                  "DARTS = Genotype(normal=[[('sep_conv_3x3', 0), ('dil_conv_5x5', 1)], [('skip_connect', 0), "
                  "('dil_conv_3x3', 2)]], normal_concat=range(2, 4), reduce=[[('max_pool_3x3', 0), "
                  "('max_pool_3x3', 1)], [('max_pool_3x3', 0), ('skip_connect', 2)]], reduce_concat=range(2, 4))"},
                 [](const Bytes& t) {
                   const auto a = darts().parse(t);
                   if (darts().parse(darts().format(a)) != a) throw std::logic_error("round trip changed");
                 }});
  out.push_back({"nb201", "NAS-Bench-201 architecture strings",
                 {kNb201, "|nor_conv_3x3~0|+|nor_conv_3x3~1|+|skip_connect~0|skip_connect~2|"},
                 [](const Bytes& t) {
                   const auto a = nb201().parse(t);
                   if (nb201().parse(nb201().format(a)) != a) throw std::logic_error("round trip changed");
                 }});
  out.push_back({"chain", "chain architecture text (<table>:<op>,...; configs/nets/)",
                 {"proxyless:mb6_k3,zero,mb3_k5,zero,mb6_k7,mb3_k3,zero,zero,mb6_k5,mb3_k7,mb3_k3,"
                  "mb6_k3,mb3_k5,zero,mb3_k3,zero,mb6_k7,mb3_k5,zero,mb6_k3,mb6_k7",
                  "fbnet_a:skip,mb3_k3,mb1_k3,skip,skip,mb6_k5,mb3_k3,mb1_k5,mb3_k3,mb6_k5,mb3_k5,"
                  "mb1_k5_g2,mb6_k5,mb6_k3,mb1_k5_g2,mb3_k5,mb1_k3_g2,mb6_k5,mb6_k5,mb3_k5,mb6_k5,mb6_k5",
                  "spnas:mb3_k3,mb3_k3,mb3_k3,zero,mb6_k5,mb3_k3,mb3_k3,mb3_k3,mb6_k5,mb3_k3,mb3_k3,"
                  "mb3_k3,mb6_k5,mb3_k5,mb3_k5,mb3_k5,mb6_k5,mb6_k5,mb6_k5,mb6_k5"},
                 [](const Bytes& t) {
                   const auto a = chain().parse(t);
                   if (chain().parse(chain().format(a)) != a) throw std::logic_error("round trip changed");
                 }});
  out.push_back({"chain_table", "chain space tables (space.options.table, a table file)",
                 {nas::search_space::chain_table_to_json(
                      nas::search_space::builtin_chain_tables().at("spnas")).dump(),
                  R"({"name": "tiny", "stages": [{"channels": 24, "blocks": 2, "stride": 2}], "candidates": ["mb3_k3_g2", "skip"], "last_op": "mb6_k3", "last_channels": 32})"},
                 [](const Bytes& t) {
                   const auto j = nas::core::parse_json(t, "fuzz");
                   const auto m = nas::search_space::chain_table_from_json(
                       j, nas::search_space::builtin_chain_tables().at("proxyless"), "table");
                   (void)nas::search_space::chain_table_summary(m);
                 }});
  out.push_back({"config", "search config JSON (--config, --set), objective and estimator options",
                 {R"({"epochs": 5, "network": {"C": 4, "layers": 5}, "data": {"batch": 32}})",
                  R"({"strategy": {"name": "gdas", "options": {"tau_max": 2.0}}, "space": {"name": "nb201"}})",
                  R"({"seed": 3, "data": {"dataset": "synthetic", "synthetic": {"size": 8}}})",
                  R"({"objective": {"latency": {"table": "published:pixel3", "lambda": 0.1, "mode": "additive"}}, "space": {"name": "nb201"}})",
                  R"({"objective": {"latency": {"table": "published:pixel3", "mode": "proxyless", "target_ms": 1.5, "beta": 0.6}}, "space": {"name": "nb201"}})",
                  R"({"strategy": {"name": "random", "options": {}}, "estimator": {"name": "synflow"}})",
                  R"({"strategy": {"name": "evolution"}, "estimator": {"name": "tabular", "options": {"file": "/nonexistent.csv", "metric": "acc"}}})"},
                 [](const Bytes& t) {
                   const auto layer = nas::core::parse_json(t, "fuzz");
                   nas::experiments::resolve_config(nas::experiments::search_defaults(), {layer},
                                                    nas::experiments::builtin_registries());
                 }});
  out.push_back({"study_config", "study config JSON (nas study run --config)",
                 {R"({"search": {"space": {"name": "nb201"}, "data": {"dataset": "synthetic"}}, "strategies": ["random_ws", "gdas"], "seeds": [0, 1], "budget": {"rule": "epochs", "epochs": 1}})",
                  R"({"strategies": [{"name": "random", "label": "rs", "set": {"estimator": {"name": "jacov"}}}, "evolution"], "evaluation": {"estimator": "none"}, "budget": {"rule": "passes", "passes": 10}, "search": {"space": {"name": "nb201"}}})",
                  R"({"strategies": ["darts"], "recipes": "shared", "baseline": "darts", "evaluation": {"estimator": "scratch", "seeds": [0, 1], "options": {"epochs": 1}}})"},
                 [](const Bytes& t) {
                   const auto layer = nas::core::parse_json(t, "fuzz");
                   nas::experiments::resolve_study({layer}, nas::experiments::builtin_registries());
                 }});
  return out;
}

std::vector<Target> file_targets(const std::string& tmp) {
  std::vector<Target> out;
  const std::string images = tmp + "/images", labels = tmp + "/labels";
  out.push_back({"idx", "Fashion-MNIST IDX image and label files (both in one input)",
                 {idx_images(4, 3, 3) + std::string(1, '\x01') + idx_labels(4),
                  idx_images(2, 5, 4) + std::string(1, '\x01') + idx_labels(2)},
                 [images, labels](const Bytes& t) {
                   const auto [a, b] = split_at_marker(t, 16);  // after the image header
                   write_file(images, a);
                   write_file(labels, b);
                   nas::data::read_idx(images, labels, "fuzz");
                 }});
  const std::string cifar = tmp + "/cifar.bin";
  out.push_back({"cifar10", "CIFAR-10 binary batches",
                 {Bytes(2 * 3073, '\x03'), Bytes(3073, '\x09') + Bytes(3073, '\x01')},
                 [cifar](const Bytes& t) {
                   write_file(cifar, t);
                   nas::data::read_cifar10_file(cifar, 2);  // files of 2 records
                 }});
  // The published latency CSV (--latency-data), plain and gzip. The reader
  // caches by file name: every case gets a new name.
  const Bytes csv = std::string("nb201_idx,arch_str,lat_ms_pixel3,lat_ms_edgegpu\n0,") + kNb201 +
                    ",1.5,2.25\n1," + kNb201b + ",0.75,3\n";
  auto latency_case = std::make_shared<int64_t>(0);
  out.push_back({"latency_data", "the published latency CSV, plain or gzip (--latency-data)",
                 {csv, gzip(tmp, csv)},
                 [tmp, latency_case](const Bytes& t) {
                   const auto path = fmt::format("{}/latency_{}.csv.gz", tmp, (*latency_case)++);
                   write_file(path, t);
                   const Removed removed{path};
                   (void)nas::hardware::published_table(nb201(), "pixel3", path);
                 }});
  const std::string cost = tmp + "/cost.json";
  nas::hardware::CostTable seed_table;
  seed_table.space = "nb201";
  for (const auto& d : nb201().decisions()) seed_table.decisions.push_back(d.name);
  seed_table.candidates = nb201().decisions().front().candidates;
  seed_table.cost.assign(seed_table.decisions.size(),
                         std::vector<double>(seed_table.candidates.size(), 0.5));
  seed_table.fixed = 1.25;
  out.push_back({"cost_table", "latency/FLOPs cost table files (objective.latency.table)",
                 {seed_table.to_json().dump(), seed_table.to_json().dump(1)},
                 [cost](const Bytes& t) {
                   write_file(cost, t);
                   const auto table = nas::hardware::load_latency_table(nb201(), cost, "");
                   (void)table.predict(nb201(), nb201().parse(kNb201));
                 }});
  const std::string tab_csv = tmp + "/bench.csv", tab_jsonl = tmp + "/bench.jsonl";
  out.push_back({"tabular", "benchmark tables for the tabular estimator (CSV and JSONL)",
                 {std::string("arch,acc,seconds\n") + kNb201 + ",91.5,12\n\"" + kNb201b + "\",88,3.5\n",
                  std::string("{\"arch\": \"") + kNb201 + "\", \"acc\": 91.5}\n{\"arch\": \"" + kNb201b +
                      "\", \"acc\": 88, \"seconds\": 2}\n"},
                 [tab_csv, tab_jsonl](const Bytes& t) {
                   const bool jsonl = !t.empty() && t[0] == '{';
                   const auto& path = jsonl ? tab_jsonl : tab_csv;
                   write_file(path, t);
                   const auto table = nas::estimators::read_benchmark_table(path, "arch", nb201());
                   (void)table.column("acc", "metric");
                 }});
  return out;
}

/// A study directory with one finished run; each case replaces the run's
/// result.json and evaluation.json (one input, split at 0x01) or, when the
/// input starts with '#', the study.json; then reads the study and writes
/// its report.
Target study_dir_target(const std::string& tmp) {
  const auto& reg = nas::experiments::builtin_registries();
  const auto dir = tmp + "/study";
  const auto study = nas::experiments::resolve_study(
      {nlohmann::json::parse(R"({"search": {"space": {"name": "nb201"}, "data": {"dataset": "synthetic"}},
                                 "strategies": ["random_ws"], "seeds": [1], "budget": {"rule": "epochs", "epochs": 1}})")},
      reg);
  const auto runs = nas::experiments::plan_study(study, dir, reg);
  const auto run_dir = runs.at(0).dir;
  const auto study_text = study.dump(1);
  const nlohmann::json result = {{"arch", kNb201}, {"search_seconds", 1.5}, {"passes", 10},
                                 {"final", {{"derived_acc", 50.0}}}};
  const nlohmann::json evaluation = {
      {"arch", kNb201}, {"results", {{{"seed", 0}, {"ok", true}, {"value", 61.25}}}}};
  return {"study_dir", "a study directory's study.json, result.json and evaluation.json (nas study report)",
          {result.dump() + "\x01" + evaluation.dump(), "#" + study_text},
          [dir, run_dir, study_text, &reg](const Bytes& t) {
            fs::create_directories(run_dir);
            write_file(run_dir + "/config.json", "{}");
            if (!t.empty() && t[0] == '#') {
              write_file(dir + "/study.json", t.substr(1));
            } else {
              write_file(dir + "/study.json", study_text);
              const auto [a, b] = split_at_marker(t);
              write_file(run_dir + "/result.json", a);
              write_file(run_dir + "/evaluation.json", b);
            }
            nas::experiments::study_report(dir, reg);
          }};
}

std::vector<Target> all_targets(const std::string& tmp) {
  auto out = parser_targets();
  for (auto& t : file_targets(tmp)) out.push_back(std::move(t));
  out.push_back(study_dir_target(tmp));
  return out;
}

// --- running ----------------------------------------------------------------
struct Tally {
  int64_t cases = 0, accepted = 0, rejected = 0, failed = 0;
  std::array<int64_t, kMutations> kinds{};
};

/// Runs one input; true when it was accepted or rejected with a nas::Error.
bool run_case(const Target& target, const Bytes& input, Tally& tally, const std::string& what,
              const std::string& save_path, unsigned timeout) {
  const auto reproduce = fmt::format("fuzz_runner --target {} --input {}", target.name, save_path);
  g_report = {what, save_path, reproduce, &input};
  g_in_case = 1;
  alarm(timeout);
  bool ok = true;
  try {
    target.run(input);
    ++tally.accepted;
  } catch (const nas::Error& e) {
    ++tally.rejected;  // a clear error: the expected outcome for bad input
    if (g_verbose) std::cerr << fmt::format("{}: rejected: {}\n", what, nas::core::printable(e.what(), 160));
  } catch (const std::exception& e) {
    ok = false;
    ++tally.failed;
    write_file(save_path, input);
    std::cerr << fmt::format("FAIL {}: {}: {}\ninput saved; reproduce with: {}\n", what,
                             typeid(e).name(), e.what(), reproduce);
  }
  alarm(0);
  g_in_case = 0;
  return ok;
}

/// Every seed entry must be accepted, else the mutations start from
/// inputs that fail early and the fuzzing is blind: counts as a failure.
int64_t check_corpus(const Target& target) {
  int64_t bad = 0;
  for (size_t k = 0; k < target.corpus.size(); ++k) {
    try {
      target.run(target.corpus[k]);
    } catch (const std::exception& e) {
      ++bad;
      std::cerr << fmt::format("FAIL {}: seed entry {} is not accepted: {}\n", target.name, k,
                               e.what());
    }
  }
  return bad;
}

Tally fuzz_target(const Target& target, int64_t cases, uint64_t seed, const std::string& save_dir,
                  unsigned timeout) {
  Tally tally;
  tally.failed = check_corpus(target);
  nas::core::Rng rng(seed);
  auto pool = target.corpus;
  for (int64_t i = 0; i < cases; ++i) {
    Bytes input = pool[rng.uniform_int(static_cast<int64_t>(pool.size()))];
    const int64_t first = i % kMutations;
    ++tally.kinds[first];
    input = mutate(input, first, pool, rng);
    for (int64_t m = 0, n = rng.uniform_int(4); m < n; ++m) {
      input = mutate(input, rng.uniform_int(kMutations), pool, rng);
    }
    ++tally.cases;
    const auto before = tally.accepted;
    const auto what = fmt::format("target {} case {} (seed {})", target.name, i, seed);
    const auto path = fmt::format("{}/naskit_fuzz_{}_seed{}_case{}.bin", save_dir, target.name, seed, i);
    run_case(target, input, tally, what, path, timeout);
    if (tally.accepted > before && pool.size() < 64) pool.push_back(input);  // seeds more cases
  }
  return tally;
}

struct Options {
  int64_t cases = 500;
  uint64_t seed = 1;
  unsigned timeout = 60;
  std::string only, input;
  bool list = false;
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--list" || flag == "--verbose") {
      (flag == "--list" ? o.list : g_verbose) = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
    const std::string value = argv[++i];
    if (flag == "--cases") o.cases = std::stoll(value);
    else if (flag == "--seed") o.seed = std::stoull(value);
    else if (flag == "--target") o.only = value;
    else if (flag == "--input") o.input = value;
    else if (flag == "--timeout") o.timeout = static_cast<unsigned>(std::stoul(value));
    else throw std::invalid_argument("unknown flag " + flag);
  }
  if (o.cases < 1) throw std::invalid_argument("--cases must be at least 1");
  if (!o.input.empty() && o.only.empty()) throw std::invalid_argument("--input needs --target");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "fuzz_runner: " << e.what()
              << "\nusage: fuzz_runner [--cases N] [--seed S] [--target NAME] [--timeout S] "
                 "| --target NAME --input FILE | --list\n";
    return 2;
  }
  nas::core::set_verbosity(0);
  const auto save_dir = fs::temp_directory_path().string();
  const auto tmp = fmt::format("{}/naskit_fuzz_{}", save_dir, ::getpid());
  fs::create_directories(tmp);
  const auto targets = all_targets(tmp);
  install_crash_handlers();  // after LibTorch's start-up, which may set its own
  int64_t failures = 0, seen = 0;
  for (const auto& target : targets) {
    if (opt.list) std::cout << fmt::format("{:<14} {}\n", target.name, target.about);
    if (opt.list || (!opt.only.empty() && target.name != opt.only)) continue;
    ++seen;
    if (!opt.input.empty()) {
      Tally tally;
      const bool ok = run_case(target, read_file(opt.input), tally, "input " + opt.input,
                               tmp + "/../naskit_fuzz_rerun.bin", opt.timeout);
      std::cout << (ok ? (tally.accepted > 0 ? "accepted\n" : "rejected with a clear error\n") : "");
      failures += ok ? 0 : 1;
      continue;
    }
    const auto tally = fuzz_target(target, opt.cases, opt.seed, save_dir, opt.timeout);
    failures += tally.failed;
    std::cout << fmt::format("{}: {} cases ({} per mutation kind at least), {} accepted, {} rejected "
                             "with a clear error, {} failed\n",
                             target.name, tally.cases,
                             *std::min_element(tally.kinds.begin(), tally.kinds.end()),
                             tally.accepted, tally.rejected, tally.failed);
  }
  fs::remove_all(tmp);
  if (!opt.list && seen == 0) {
    std::cerr << "fuzz_runner: no target named '" << opt.only << "' (see --list)\n";
    return 2;
  }
  if (failures > 0) {
    std::cerr << failures << " fuzz case(s) failed\n";
    return 1;
  }
  if (!opt.list) std::cout << "no crash, no hang, no unexpected exception\n";
  return 0;
}
