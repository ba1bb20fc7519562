#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "experiments/config.h"
#include "hardware/profile.h"
#include "hardware/published.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

void print_table(const hardware::CostTable& t) {
  fmt::print("{} table of the {} space ({}), sizes {}; fixed part {:.4f} {}\n", t.kind,
             t.space, t.source, t.sizes.dump(), t.fixed, t.unit);
  fmt::print("  {:<16}", "decision");
  for (const auto& c : t.candidates) fmt::print(" {:>13}", c.substr(0, 13));
  fmt::print("\n");
  for (size_t d = 0; d < t.decisions.size(); ++d) {
    fmt::print("  {:<16}", t.decisions[d].substr(0, 16));
    for (double v : t.cost[d]) fmt::print(" {:>13.4f}", v);
    fmt::print("\n");
  }
}

void print_fit(const nlohmann::json& fit) {
  for (const char* part : {"train", "held_out"}) {
    const auto& f = fit.at(part);
    if (!f.contains("r2")) {  // too few architectures for statistics
      fmt::print("additive model, {} ({} architectures): too few for statistics\n", part,
                 f["architectures"].get<int64_t>());
      continue;
    }
    fmt::print("additive model, {} ({} architectures): R^2 {:.4f}, Spearman {:.4f}, Kendall "
               "{:.4f}, RMSE {:.4f} ms, MAPE {:.2f}%\n",
               part, f["architectures"].get<int64_t>(), f["r2"].get<double>(),
               f["spearman"].get<double>(), f["kendall"].get<double>(),
               f["rmse_ms"].get<double>(), f["mape_pct"].get<double>());
  }
}

/// The timing options of the flags, each checked.
hardware::ProfileOptions profile_options(const po::variables_map& vm) {
  hardware::ProfileOptions o;
  o.device = core::parse_device(vm["device"].as<std::string>());
  o.threads = core::set_threads(vm["threads"].as<int>());
  o.batch = vm["batch"].as<int64_t>();
  if (o.batch < 1 || o.batch > 4096) {
    throw ConfigError(fmt::format("--batch: expected 1..4096, found {}", o.batch));
  }
  o.passes = vm["passes"].as<int64_t>();
  o.method = vm["method"].as<std::string>();
  if (o.passes < 1 || o.passes > 100) {
    throw ConfigError(fmt::format("--passes: expected 1..100, found {}", o.passes));
  }
  if (vm["quick"].as<bool>()) {
    o.timing = hardware::TimingOptions::quick();
    o.passes = 1;
  }
  return o;
}

/// Profiles the space's ops into a new table written to `out`.
hardware::CostTable profile_new_table(const po::variables_map& vm,
                                      const search_space::SearchSpace& space,
                                      hardware::ProfileOptions& o, const std::string& out) {
  if (out.empty()) {
    throw ConfigError("nas profile: give --out FILE for the table (or --table FILE "
                      "--validate N to check one)");
  }
  o.sizes = network_sizes(vm, space.eval_defaults());
  core::info("profiling the {} space: {}, {}x{}x{} input, batch {}, {} thread(s) on {}",
             space.name(), space.describe_sizes(o.sizes), o.sizes.in_channels, o.sizes.input_size, o.sizes.input_size, o.batch, o.threads,
             o.device.str());
  auto table = hardware::profile_latency(space, o);
  hardware::write_cost_table(out, table);
  core::info("wrote {}", out);
  return table;
}

/// Measures `n` random architectures against the table's predictions and
/// records the validation in the table file.
void validate_table(const po::variables_map& vm, const search_space::SearchSpace& space,
                    hardware::CostTable& table, int64_t n, const hardware::ProfileOptions& o,
                    const std::string& out) {
  const auto v = hardware::validate_latency(space, table, n, vm["seed"].as<uint64_t>(), o);
  table.meta["validation"] = v;
  hardware::write_cost_table(out, table);
  fmt::print("validation on {} architectures ({}): RMSE {:.4f} ms, MAPE {:.2f}%, Spearman "
             "{:.4f}, Kendall {:.4f}; E[lat] of uniform probabilities {:.4f} ms vs mean "
             "measured {:.4f} ms\n",
             n, out, v["rmse_ms"].get<double>(), v["mape_pct"].get<double>(),
             v["spearman"].get<double>(), v["kendall"].get<double>(),
             v["expected_uniform_ms"].get<double>(), v["mean_measured_ms"].get<double>());
}

}  // namespace

int run_profile_command(const std::vector<std::string>& args) {
  po::options_description desc("nas profile options");
  desc.add_options()
      ("space", po::value<std::string>()->default_value("darts"), "search space")
      ("batch", po::value<int64_t>()->default_value(1), "images per forward pass")
      ("threads", po::value<int>()->default_value(1), "intra-op threads (0: all cores)")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu | cuda | cuda:N")
      ("out", po::value<std::string>(), "write the latency table to FILE")
      ("validate", po::value<int64_t>(), "measure N random architectures end to end and report "
                                         "the table's predictions (Spearman, Kendall, MAPE)")
      ("table", po::value<std::string>(), "validate this table FILE instead of profiling "
                                          "(published:DEVICE prints the published fit)")
      ("latency-data", po::value<std::string>(), "the published latency CSV")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the validation architectures")
      ("passes", po::value<int64_t>()->default_value(5), "interleaved timing passes (median of "
                                                         "the pass medians)")
      ("method", po::value<std::string>()->default_value("ops"),
       "ops: each op alone (fast) | network: each op in the whole network (in context)")
      ("quick", po::bool_switch(), "few timing samples (smoke tests; noisy numbers)")
      ("json", po::bool_switch(), "print the table as JSON")
      ("help,h", "this help");
  add_network_size_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas profile --space S [sizes] [--batch 1] [--threads N] --out table.json "
               "[--validate N]\n       nas profile --table table.json --validate N",
               desc);
    return 0;
  }
  const auto& registries = experiments::builtin_registries();
  const auto space = registries.spaces.create(vm["space"].as<std::string>());
  auto o = profile_options(vm);
  const int64_t validate = vm.count("validate") != 0 ? vm["validate"].as<int64_t>() : 0;
  if (validate < 0 || validate > 100000) {
    throw ConfigError(fmt::format("--validate: expected 2..100000 architectures, found {}", validate));
  }

  hardware::CostTable table;
  std::string out = vm.count("out") != 0 ? vm["out"].as<std::string>() : "";
  if (vm.count("table") != 0) {
    const auto spec = vm["table"].as<std::string>();
    const auto data = vm.count("latency-data") != 0 ? vm["latency-data"].as<std::string>() : "";
    table = hardware::load_latency_table(*space, spec, data);
    if (spec.rfind("published:", 0) == 0) {
      print_table(table);
      print_fit(table.meta.at("fit"));
      if (validate > 0) {
        core::info("a published table is not of this device: --validate measures nothing");
      }
      if (!out.empty()) hardware::write_cost_table(out, table);
      return 0;
    }
    if (out.empty()) out = spec;  // the validation goes into the table file
    o.sizes = search_space::NetworkOptions::from_json(table.sizes);
  } else {
    table = profile_new_table(vm, *space, o, out);
  }
  if (validate > 0) validate_table(vm, *space, table, validate, o, out);
  if (vm["json"].as<bool>()) {
    std::cout << table.to_json().dump(2) << "\n";
  } else {
    print_table(table);
  }
  return 0;
}

}  // namespace nas::tools
