#include "hardware/profile.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/stats.h"
#include "hardware/cost.h"
#include "hardware/snas_cost.h"

namespace nas::hardware {

namespace {

using search_space::Architecture;
using search_space::NetworkOptions;
using search_space::SearchSpace;

const search_space::OpFamily& family_of(const SearchSpace& space) {
  const auto* family = space.op_family();
  if (family == nullptr) {
    throw ConfigError(fmt::format(
        "the '{}' space names no op family, so its ops cannot be built alone for a cost "
        "table",
        space.name()));
  }
  return *family;
}

/// The stand-alone op `name` at a site (affine BatchNorm, no search variant).
search_space::CandidateOp make_op(const search_space::OpFamily& family, const std::string& name,
                                  const OpSite& site) {
  search_space::OpArgs args;
  args.c_in = site.input_shape.at(1);
  args.c_out = site.c_out > 0 ? site.c_out : args.c_in;
  args.stride = site.stride;
  args.affine = true;
  args.track_running_stats = true;
  args.search = false;
  return family.make(name, args);
}

/// A table of `space` with every cost 0, for `kind` in `unit`.
CostTable empty_table(const SearchSpace& space, const NetworkOptions& sizes,
                      const std::string& kind, const std::string& unit,
                      const std::string& source) {
  CostTable t;
  t.kind = kind;
  t.unit = unit;
  t.space = space.name();
  t.source = source;
  t.sizes = sizes.to_json();
  const auto decisions = space.decisions();
  t.candidates = decisions.front().candidates;
  for (const auto& d : decisions) {
    t.decisions.push_back(d.name);
    t.cost.emplace_back(t.candidates.size(), 0.0);
  }
  return t;
}

/// The names of the op that never runs: the cells' `none`, the chains'
/// `zero`.
bool never_runs(const std::string& op) { return op == "none" || op == "zero"; }

/// The network every architecture of the space shares, for a table's fixed
/// part: nothing wherever a decision allows it, the first allowed op
/// elsewhere (a chain's blocks that change width or stride), and the column
/// each decision takes. A table's fixed part is the reference's cost minus
/// the costs of those columns.
struct Reference {
  Architecture arch;
  std::vector<int64_t> columns;
};

Reference fixed_reference(const SearchSpace& space) {
  const auto decisions = space.decisions();
  Reference r;
  bool empty = true;
  for (const auto& d : decisions) {
    const auto choices = d.choices();
    auto it = std::find_if(choices.begin(), choices.end(),
                           [&](int64_t k) { return never_runs(d.candidates[k]); });
    r.columns.push_back(it != choices.end() ? *it : choices.front());
    empty = empty && it != choices.end();
  }
  if (empty) {
    r.arch = empty_architecture(space);
    return r;
  }
  auto w = torch::zeros({static_cast<int64_t>(decisions.size()),
                         static_cast<int64_t>(decisions.front().candidates.size())},
                        torch::kFloat64);
  for (size_t d = 0; d < decisions.size(); ++d) w[d][r.columns[d]] = 1.0;
  r.arch = space.derive(w);
  const auto path = space.path_of(r.arch);  // what derive chose, exactly
  for (size_t d = 0; d < decisions.size(); ++d) {
    if (!path.edges[d].ops.empty()) r.columns[d] = path.edges[d].ops.front();
  }
  return r;
}

/// The table's cost of the reference's columns.
double reference_cost(const CostTable& t, const Reference& r) {
  double sum = 0;
  for (size_t d = 0; d < r.columns.size(); ++d) sum += t.cost[d][r.columns[d]];
  return sum;
}

std::vector<int64_t> with_batch(std::vector<int64_t> shape, int64_t batch) {
  shape.at(0) = batch;
  return shape;
}

}  // namespace

std::vector<OpSite> find_op_sites(search_space::SupernetImpl& net, const torch::Tensor& x) {
  torch::NoGradGuard guard;
  const bool training = net.is_training();
  net.eval();
  const auto decisions = net.num_decisions();
  const auto& mixed = net.mixed_ops();
  const int64_t k = mixed.empty() ? 0 : mixed.front().second->size();
  net.forward(x, search_space::PathSpec::weighted_all(
                     torch::full({decisions, k}, 1.0 / static_cast<double>(k), x.options())));
  std::vector<OpSite> sites;
  for (const auto& [decision, op] : mixed) {
    OpSite site;
    site.decision = decision;
    site.input_shape = op->last_input_shape();  // [N, C, H, W]
    for (int64_t j = 0; j < op->size(); ++j) site.zero.push_back(op->op(j).is_zero());
    for (int64_t j = 0; j < op->size(); ++j) {
      if (op->op(j).is_zero()) continue;
      const auto out = op->op(j).forward(torch::zeros(site.input_shape, x.options()));
      site.stride = out.size(2) < site.input_shape[2] ? 2 : 1;
      site.c_out = out.size(1);
      break;
    }
    sites.push_back(std::move(site));
  }
  net.train(training);
  return sites;
}

NetworkOptions standalone_sizes(NetworkOptions sizes) {
  sizes.auxiliary = false;
  sizes.affine = true;
  sizes.track_running_stats = true;
  sizes.drop_path_prob = 0.0;
  return sizes;
}

std::vector<OpSite> space_op_sites(const SearchSpace& space, const NetworkOptions& sizes) {
  auto o = sizes;
  o.affine = false;  // a supernet of the same shapes; its ops' own flags do not matter
  const auto net = space.build_supernet(o);
  return find_op_sites(*net, torch::zeros({1, sizes.in_channels, sizes.input_size,
                                           sizes.input_size}));
}

Architecture empty_architecture(const SearchSpace& space) {
  core::Rng rng(0);
  auto arch = space.sample(rng, false);
  for (auto& cell : arch.cells) {
    for (auto& node : cell.nodes) {
      for (auto& edge : node) edge.op = "none";
    }
  }
  return arch;
}

CostTable profile_latency(const SearchSpace& space, const ProfileOptions& o) {
  if (o.method == "network") return profile_latency_in_context(space, o);
  if (o.method != "ops") {
    throw ConfigError(fmt::format("--method: expected ops or network, found '{}'", o.method));
  }
  const auto& family = family_of(space);
  const auto sizes = standalone_sizes(o.sizes);
  const auto start = std::chrono::steady_clock::now();
  auto table = empty_table(space, sizes, "latency", "ms", "profiled");
  const auto sites = space_op_sites(space, sizes);

  // The distinct (op, shape, stride, output channels) to measure, and how
  // many sites use them.
  using Key = std::tuple<std::string, std::vector<int64_t>, int64_t, int64_t>;
  std::map<Key, int64_t> uses;
  for (const auto& site : sites) {
    for (size_t k = 0; k < table.candidates.size(); ++k) {
      if (site.zero[k]) continue;
      ++uses[{table.candidates[k], site.input_shape, site.stride, site.c_out}];
    }
  }
  struct Entry {
    Key key;
    int64_t sites;
    search_space::CandidateOp op;
    torch::Tensor x, sum;
  };
  std::vector<Entry> work;
  std::vector<std::function<void()>> fns;
  torch::NoGradGuard guard;
  for (const auto& [key, count] : uses) {
    const auto& [name, shape, stride, c_out] = key;
    Entry e{key, count, make_op(family, name, {0, shape, stride, c_out, {}}), {}, {}};
    e.op->to(o.device);
    e.op->eval();
    e.x = torch::randn(with_batch(shape, o.batch), torch::TensorOptions(o.device));
    e.sum = e.op->forward(e.x).clone();
    work.push_back(std::move(e));
  }
  for (auto& e : work) {
    // The op and its addition into the node's sum, as the cell runs it.
    fns.emplace_back([&e] { (void)(e.op->forward(e.x) + e.sum); });
  }
  // The fixed part: the reference network, timed in the same passes.
  const auto reference = fixed_reference(space);
  auto empty = network_runner(space, reference.arch, o);
  fns.push_back(empty.run);
  const int64_t passes = std::max<int64_t>(o.passes, 1);
  core::Progress progress(fmt::format("profiling {} ops", space.name()),
                          passes * static_cast<int64_t>(fns.size()));
  int64_t done = 0;
  const auto timings_list = time_interleaved(
      fns, o.device, o.timing, passes, [&](size_t i, int64_t pass, const Timing& t) {
        const auto what = i < work.size() ? fmt::format("{} {}x{}x{} s{}", std::get<0>(work[i].key),
                                                        std::get<1>(work[i].key)[1],
                                                        std::get<1>(work[i].key)[2],
                                                        std::get<1>(work[i].key)[3],
                                                        std::get<2>(work[i].key))
                                          : std::string("fixed part");
        progress.update(++done, fmt::format("pass {}/{}: {}: {:.4f} ms", pass + 1, passes, what,
                                            t.median_ms));
      });
  std::map<Key, Timing> timings;
  nlohmann::json entries = nlohmann::json::array();
  for (size_t i = 0; i < work.size(); ++i) {
    const auto& e = work[i];
    timings[e.key] = timings_list[i];
    auto j = timings_list[i].to_json();
    const auto& [name, shape, stride, c_out] = e.key;
    j["op"] = name;
    j["input"] = with_batch(shape, o.batch);
    j["stride"] = stride;
    j["c_out"] = c_out;
    j["sites"] = e.sites;
    entries.push_back(j);
  }
  const auto fixed = timings_list.back();
  for (const auto& site : sites) {
    for (size_t k = 0; k < table.candidates.size(); ++k) {
      if (site.zero[k]) continue;  // not measured: never runs here
      table.cost[site.decision][k] +=
          timings.at({table.candidates[k], site.input_shape, site.stride, site.c_out}).median_ms;
    }
  }
  table.fixed = fixed.median_ms - reference_cost(table, reference);
  progress.finish(fmt::format("{} entries, fixed part {:.3f} ms", entries.size(), table.fixed));
  table.meta["device"] = device_info(o.device, o.threads, o.batch);
  table.meta["mode"] = "inference (eval mode, no gradients)";
  table.meta["method"] = "ops: each op alone at its shapes, with its addition into the node sum";
  table.meta["fixed_part"] = fixed.to_json();  // of the reference network
  table.meta["fixed_reference"] = space.format(reference.arch);
  table.meta["entries"] = entries;
  table.meta["profile_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return table;
}

CostTable profile_latency_in_context(const SearchSpace& space, const ProfileOptions& o) {
  const auto sizes = standalone_sizes(o.sizes);
  const auto start = std::chrono::steady_clock::now();
  auto table = empty_table(space, sizes, "latency", "ms", "profiled");
  const auto d_count = static_cast<int64_t>(table.decisions.size());
  const auto k_count = static_cast<int64_t>(table.candidates.size());
  const auto none = std::find(table.candidates.begin(), table.candidates.end(), "none") -
                    table.candidates.begin();
  if (none == k_count) {
    throw ConfigError(fmt::format(
        "--method network needs a `none` candidate on every decision (an empty network); the {} "
        "space has none (use --method ops)",
        space.name()));
  }
  // Op k on decision d alone: the space's "all" rule on weights whose argmax
  // is `none` everywhere but there.
  std::vector<std::pair<int64_t, int64_t>> cells;
  std::vector<NetworkRunner> runners{network_runner(space, empty_architecture(space), o)};
  for (int64_t d = 0; d < d_count; ++d) {
    for (int64_t k = 0; k < k_count; ++k) {
      if (k == none) continue;
      auto w = torch::zeros({d_count, k_count}, torch::kFloat64);
      w.select(1, none).fill_(1.0);
      w[d][none] = 0.0;
      w[d][k] = 1.0;
      runners.push_back(network_runner(space, space.derive(w, "all"), o));
      cells.emplace_back(d, k);
    }
  }
  std::vector<std::function<void()>> fns;
  for (const auto& r : runners) fns.push_back(r.run);
  const int64_t passes = std::max<int64_t>(o.passes, 1);
  core::Progress progress(fmt::format("profiling {} networks", space.name()),
                          passes * static_cast<int64_t>(fns.size()));
  int64_t done = 0;
  const auto t = time_interleaved(fns, o.device, o.timing, passes,
                                  [&](size_t, int64_t pass, const Timing& timing) {
                                    progress.update(++done, fmt::format("pass {}/{}: {:.4f} ms",
                                                                        pass + 1, passes,
                                                                        timing.median_ms));
                                  });
  table.fixed = t[0].median_ms;
  nlohmann::json entries = nlohmann::json::array();
  for (size_t i = 0; i < cells.size(); ++i) {
    const auto [d, k] = cells[i];
    table.cost[d][k] = t[i + 1].median_ms - table.fixed;
    auto j = t[i + 1].to_json();
    j["decision"] = table.decisions[d];
    j["op"] = table.candidates[k];
    entries.push_back(j);
  }
  progress.finish(fmt::format("{} networks, fixed part {:.3f} ms", fns.size(), table.fixed));
  table.meta["device"] = device_info(o.device, o.threads, o.batch);
  table.meta["mode"] = "inference (eval mode, no gradients)";
  table.meta["method"] = "network: whole network with one op minus the empty network";
  table.meta["fixed_part"] = t[0].to_json();
  table.meta["entries"] = entries;
  table.meta["profile_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return table;
}

NetworkRunner network_runner(const SearchSpace& space, const Architecture& arch,
                             const ProfileOptions& o) {
  NetworkRunner r;
  r.net = space.build_network(arch, standalone_sizes(o.sizes));
  r.net->to(o.device);
  r.net->eval();
  r.x = torch::randn({o.batch, o.sizes.in_channels, o.sizes.input_size, o.sizes.input_size},
                     torch::TensorOptions(o.device));
  r.run = [net = r.net, x = r.x] {
    torch::NoGradGuard guard;
    (void)net->forward(x);
  };
  return r;
}

Timing measure_network_latency(const SearchSpace& space, const Architecture& arch,
                               const ProfileOptions& o) {
  const auto r = network_runner(space, arch, o);
  return time_interleaved({r.run}, o.device, o.timing, o.passes, nullptr).front();
}

nlohmann::json validate_latency(const SearchSpace& space, const CostTable& table, int64_t n,
                                uint64_t seed, const ProfileOptions& o) {
  if (n < 2) throw ConfigError(fmt::format("--validate: expected 2 or more architectures, found {}", n));
  table.check_space(space, "the latency table");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto d = static_cast<int64_t>(table.decisions.size());
  const auto k = static_cast<int64_t>(table.candidates.size());
  std::vector<Architecture> list;
  std::vector<NetworkRunner> runners;
  std::vector<std::function<void()>> fns;
  for (int64_t i = 0; i < n; ++i) {
    list.push_back(space.derive(torch::softmax(torch::randn({d, k}, gen), 1)));
    runners.push_back(network_runner(space, list.back(), o));
    fns.push_back(runners.back().run);
  }
  const int64_t passes = std::max<int64_t>(o.passes, 1);
  core::Progress progress(fmt::format("validating on {} architectures", n), passes * n);
  int64_t done = 0;
  const auto timings = time_interleaved(fns, o.device, o.timing, passes,
                                        [&](size_t, int64_t pass, const Timing& t) {
                                          progress.update(++done, fmt::format(
                                              "pass {}/{}: {:.3f} ms", pass + 1, passes,
                                              t.median_ms));
                                        });
  std::vector<double> predicted, measured;
  nlohmann::json archs = nlohmann::json::array();
  for (int64_t i = 0; i < n; ++i) {
    predicted.push_back(table.predict(space, list[i]));
    measured.push_back(timings[i].median_ms);
    archs.push_back({{"arch", space.format(list[i])}, {"predicted_ms", predicted.back()},
                     {"measured_ms", measured.back()}, {"spread", timings[i].spread()}});
  }
  const auto uniform = torch::full({d, k}, 1.0 / static_cast<double>(k), torch::kFloat64);
  double mean_measured = 0;
  for (double m : measured) mean_measured += m / static_cast<double>(n);
  nlohmann::json v = {
      {"architectures", n},
      {"seed", seed},
      {"rmse_ms", core::rmse(predicted, measured)},
      {"mape_pct", core::mean_abs_pct_error(predicted, measured)},
      {"spearman", core::spearman(predicted, measured)},
      {"kendall", core::kendall_tau(predicted, measured)},
      {"mean_measured_ms", mean_measured},
      {"expected_uniform_ms", table.expected(uniform).item<double>()},
      {"device", device_info(o.device, o.threads, o.batch)},
      {"results", archs},
  };
  progress.finish(fmt::format("Spearman {:.3f}, Kendall {:.3f}, MAPE {:.1f}%",
                              v["spearman"].get<double>(), v["kendall"].get<double>(),
                              v["mape_pct"].get<double>()));
  return v;
}

CostTable params_table(const SearchSpace& space, const NetworkOptions& sizes) {
  const auto& family = family_of(space);
  const auto o = standalone_sizes(sizes);
  auto table = empty_table(space, o, "params", "M", "analytic");
  for (const auto& site : space_op_sites(space, o)) {
    for (size_t k = 0; k < table.candidates.size(); ++k) {
      if (site.zero[k]) continue;
      const auto op = make_op(family, table.candidates[k], site);
      table.cost[site.decision][k] += static_cast<double>(count_parameters(*op)) / 1e6;
    }
  }
  const auto reference = fixed_reference(space);
  const auto net = space.build_network(reference.arch, o);
  table.fixed = static_cast<double>(count_parameters(*net, net->auxiliary_prefix())) / 1e6 -
                reference_cost(table, reference);
  table.meta["note"] = "exact weight counts of the stand-alone network";
  return table;
}

CostTable flops_table(const SearchSpace& space, const NetworkOptions& sizes) {
  const auto o = standalone_sizes(sizes);
  auto table = empty_table(space, o, "flops", "M", "analytic");
  for (const auto& site : space_op_sites(space, o)) {
    for (size_t k = 0; k < table.candidates.size(); ++k) {
      const auto c = snas_op_cost(table.candidates[k], site.input_shape[1],
                                  site.input_shape[2], site.stride, site.c_out);
      table.cost[site.decision][k] += c.flops / 1e6;
    }
  }
  table.meta["note"] = "multiply-adds of the searchable ops per image (SNAS's formulas); "
                       "the fixed part is left at 0";
  return table;
}

}  // namespace nas::hardware
