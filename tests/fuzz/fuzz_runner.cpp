// A deterministic mutation fuzzer for naskit's input parsers, run by CI for
// a bounded time: the genotype parser, the NAS-Bench-201 parser, config
// resolution (JSON text -> resolved config) and the IDX and CIFAR-10
// readers. Each input must either be accepted or rejected with a nas::Error
// (a clear message); any other exception, a crash or a hang fails the run.
//
//   fuzz_runner [--seconds S] [--seed N] [--target NAME]
//
// Mutations: byte flips, insertions of structural characters, repeats of a
// slice (up to deep nesting and huge numbers), truncation, splicing two
// corpus entries, and a few targeted ones (deep brackets, 0xFFFFFFFF counts).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "experiments/config.h"
#include "search_space/darts_space.h"
#include "search_space/nb201_space.h"

namespace {

using Bytes = std::string;

struct Target {
  std::string name;
  std::vector<Bytes> corpus;
  std::function<void(const Bytes&)> run;
};

Bytes mutate(const Bytes& in, const std::vector<Bytes>& corpus, nas::core::Rng& rng) {
  Bytes s = in;
  const int64_t kind = rng.uniform_int(9);
  auto pos = [&] { return s.empty() ? 0 : static_cast<size_t>(rng.uniform_int(static_cast<int64_t>(s.size()))); };
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
      s = s.substr(0, pos()) + other.substr(other.empty() ? 0 : rng.uniform_int(static_cast<int64_t>(other.size())));
      break;
    }
    case 5:  // delete a range
      if (!s.empty()) {
        const size_t a = pos();
        s.erase(a, 1 + rng.uniform_int(16));
      }
      break;
    case 6:  // a huge or odd number
      s.insert(pos(), std::vector<std::string>{"1e400", "99999999999999999999", "-1", "0x2",
                                               "2.0", "1e12", "NaN", "4294967295"}[rng.uniform_int(8)]);
      break;
    case 7:  // deep nesting
      s.insert(pos(), std::string(1 + rng.uniform_int(50000), rng.bernoulli(0.5) ? '[' : '{'));
      break;
    default:  // overwrite 4 bytes with 0xFF (IDX counts)
      if (s.size() >= 8) {
        const size_t a = rng.uniform_int(static_cast<int64_t>(s.size() - 4));
        for (int k = 0; k < 4; ++k) s[a + k] = '\xff';
      }
      break;
  }
  return s;
}

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

std::vector<Target> targets(const std::string& tmp) {
  static const nas::search_space::DartsSpace darts(nas::search_space::DartsSpace::default_options());
  static const nas::search_space::Nb201Space nb201(nlohmann::json::object());
  std::vector<Target> out;
  out.push_back({"genotype",
                 {"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                  "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
                  "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                  "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                  "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
                  "DARTS = Genotype(normal=[[('sep_conv_3x3', 0), ('dil_conv_5x5', 1)], [('skip_connect', 0), "
                  "('dil_conv_3x3', 2)]], normal_concat=range(2, 4), reduce=[[('max_pool_3x3', 0), "
                  "('max_pool_3x3', 1)], [('max_pool_3x3', 0), ('skip_connect', 2)]], reduce_concat=range(2, 4))"},
                 [](const Bytes& t) {
                   const auto a = darts.parse(t);
                   if (darts.parse(darts.format(a)) != a) throw std::logic_error("round trip changed");
                 }});
  out.push_back({"nb201",
                 {"|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
                  "|nor_conv_3x3~0|+|nor_conv_3x3~1|+|skip_connect~0|skip_connect~2|"},
                 [](const Bytes& t) {
                   const auto a = nb201.parse(t);
                   if (nb201.parse(nb201.format(a)) != a) throw std::logic_error("round trip changed");
                 }});
  out.push_back({"config",
                 {R"({"epochs": 5, "network": {"C": 4, "layers": 5}, "data": {"batch": 32}})",
                  R"({"strategy": {"name": "gdas", "options": {"tau_max": 2.0}}, "space": {"name": "nb201"}})",
                  R"({"seed": 3, "data": {"dataset": "synthetic", "synthetic": {"size": 8}}})"},
                 [](const Bytes& t) {
                   const auto layer = nas::core::parse_json(t, "fuzz");
                   nas::experiments::resolve_config(nas::experiments::search_defaults(), {layer},
                                                    nas::experiments::builtin_registries());
                 }});
  const std::string images = tmp + "/images", labels = tmp + "/labels";
  out.push_back({"idx",
                 {idx_images(4, 3, 3) + std::string(1, '\x01') + idx_labels(4),
                  idx_images(2, 5, 4) + std::string(1, '\x01') + idx_labels(2)},
                 [images, labels](const Bytes& t) {
                   // The entry holds both files, separated at the first 0x01
                   // after the image header.
                   const auto cut = t.find('\x01', std::min<size_t>(16, t.size()));
                   write_file(images, t.substr(0, cut));
                   write_file(labels, cut == Bytes::npos ? Bytes() : t.substr(cut + 1));
                   nas::data::read_idx(images, labels, "fuzz");
                 }});
  const std::string cifar = tmp + "/cifar.bin";
  out.push_back({"cifar10",
                 {Bytes(2 * 3073, '\x03'), Bytes(3073, '\x09')},
                 [cifar](const Bytes& t) {
                   write_file(cifar, t);
                   nas::data::read_cifar10_file(cifar);
                 }});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") seconds = std::stod(argv[i + 1]);
    else if (flag == "--seed") seed = std::stoull(argv[i + 1]);
    else if (flag == "--target") only = argv[i + 1];
  }
  nas::core::set_verbosity(0);
  const auto tmp = (std::filesystem::temp_directory_path() /
                    ("naskit_fuzz_" + std::to_string(::getpid())))
                       .string();
  std::filesystem::create_directories(tmp);
  auto all = targets(tmp);
  int failures = 0;
  for (auto& target : all) {
    if (!only.empty() && target.name != only) continue;
    nas::core::Rng rng(seed);
    const auto budget = std::chrono::duration<double>(seconds / (only.empty() ? all.size() : 1));
    const auto start = std::chrono::steady_clock::now();
    int64_t cases = 0, accepted = 0, rejected = 0;
    auto pool = target.corpus;
    while (std::chrono::steady_clock::now() - start < budget) {
      Bytes input = pool[rng.uniform_int(static_cast<int64_t>(pool.size()))];
      for (int64_t m = 0, n = 1 + rng.uniform_int(4); m < n; ++m) input = mutate(input, pool, rng);
      ++cases;
      try {
        target.run(input);
        ++accepted;
        if (pool.size() < 64) pool.push_back(input);  // accepted inputs seed more cases
      } catch (const nas::Error&) {
        ++rejected;  // a clear error: the expected outcome for bad input
      } catch (const std::exception& e) {
        ++failures;
        const auto path = fmt::format("{}/../naskit_fuzz_{}_{}.bin", tmp, target.name, cases);
        write_file(path, input);
        std::cerr << fmt::format("FAIL {} case {}: {} (input saved to {})\n", target.name,
                                 cases, e.what(), path);
      }
    }
    std::cout << fmt::format("{}: {} cases, {} accepted, {} rejected with a clear error\n",
                             target.name, cases, accepted, rejected);
  }
  std::filesystem::remove_all(tmp);
  if (failures > 0) {
    std::cerr << failures << " fuzz case(s) failed\n";
    return 1;
  }
  std::cout << "no crash, no unexpected exception\n";
  return 0;
}
