#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "experiments/config.h"
#include "core/runtime.h"
#include "hardware/cost.h"
#include "hardware/profile.h"
#include "hardware/published.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

/// --latency (predicted from a table) and --measure-latency (measured here).
void add_latency(const po::variables_map& vm, const search_space::SearchSpace& space,
                 const search_space::Architecture& arch, const search_space::NetworkOptions& o,
                 nlohmann::json& out) {
  if (vm.count("latency") != 0) {
    const auto table = hardware::load_latency_table(
        space, vm["latency"].as<std::string>(),
        vm.count("latency-data") != 0 ? vm["latency-data"].as<std::string>() : "");
    out["latency_ms"] = table.predict(space, arch);
    out["latency_source"] = table.source;
  }
  if (vm["measure-latency"].as<bool>()) {
    hardware::ProfileOptions p;
    p.sizes = o;
    p.threads = core::set_threads(vm["threads"].as<int>());
    p.batch = vm["batch"].as<int64_t>();
    if (p.batch < 1 || p.batch > 4096) {
      throw ConfigError(fmt::format("--batch: expected 1..4096, found {}", p.batch));
    }
    const auto t = hardware::measure_network_latency(space, arch, p);
    out["measured_latency_ms"] = t.median_ms;
    out["measured"] = t.to_json();
    out["measured"]["device"] = hardware::device_info(p.device, p.threads, p.batch);
  }
}

/// The space to show: --space, or the run's own with --from-run (unless
/// --space is given).
std::string space_to_show(const po::variables_map& vm) {
  if (vm.count("from-run") == 0 || !vm["space"].defaulted()) return vm["space"].as<std::string>();
  const auto dir = vm["from-run"].as<std::string>();
  return string_at(read_run_json(dir, "config.json", "--from-run"), "/space/name",
                   dir + "/config.json");
}

void describe_supernet(const search_space::SearchSpace& space,
                       const search_space::NetworkOptions& o, nlohmann::json& out) {
  const auto net = space.build_supernet(o);
  const auto decisions = space.decisions();
  out["params"] = hardware::count_parameters(*net);
  out["arch_params"] = static_cast<int64_t>(decisions.size()) * space.num_candidates();
  out["decisions"] = decisions.size();
  out["candidates"] = decisions.front().candidates;
}

/// The architecture of --arch/--arch-file/--from-run: parameters, latency,
/// the --dot file; its cells printed unless --json.
void describe_network(const po::variables_map& vm, const search_space::SearchSpace& space,
                      const search_space::NetworkOptions& o, nlohmann::json& out) {
  const auto text = read_arch_argument(vm);
  if (text.empty()) {
    throw ConfigError("nas show: give --arch TEXT, --arch-file FILE, --from-run DIR or --supernet");
  }
  const auto arch = parse_arch(space, text, arch_source(vm));
  const auto net = space.build_network(arch, o);
  out["arch"] = space.format(arch);
  out["params"] = hardware::count_parameters(*net, net->auxiliary_prefix());
  out["params_total"] = hardware::count_parameters(*net);
  add_latency(vm, space, arch, o, out);
  if (vm.count("dot") != 0) core::write_text_file(vm["dot"].as<std::string>(), space.to_dot(arch));
  if (!vm["json"].as<bool>()) fmt::print("{}", space.describe(arch, o));
}

void print_network_summary(const search_space::NetworkOptions& o, const nlohmann::json& out) {
  fmt::print("network: {} weights ({:.3f} M){}\n", out["params"].get<int64_t>(),
             out["params"].get<int64_t>() / 1e6,
             o.auxiliary
                 ? fmt::format(", {} with the auxiliary head", out["params_total"].get<int64_t>())
                 : "");
  if (out.contains("latency_ms")) {
    fmt::print("latency: {:.4f} ms ({})\n", out["latency_ms"].get<double>(),
               out["latency_source"].get<std::string>());
  }
  if (out.contains("measured_latency_ms")) {
    fmt::print("measured latency: {:.4f} ms (median of {} samples, batch {}, {} thread(s))\n",
               out["measured_latency_ms"].get<double>(), out["measured"]["samples"].get<int64_t>(),
               out["measured"]["device"]["batch"].get<int64_t>(),
               out["measured"]["device"]["threads"].get<int>());
  }
}

}  // namespace

int run_show_command(const std::vector<std::string>& args) {
  po::options_description desc("nas show options");
  desc.add_options()
      ("space", po::value<std::string>()->default_value("darts"), "search space")
      ("arch", po::value<std::string>(), "architecture text")
      ("arch-file", po::value<std::string>(), "file holding the architecture text")
      ("from-run", po::value<std::string>(), "the result of the run in DIR")
      ("supernet", po::bool_switch(), "the space's supernet instead of an architecture")
      ("latency", po::value<std::string>(), "predicted latency from a table FILE (at its sizes unless size flags are given) or "
                                              "published:DEVICE (NB201)")
      ("latency-data", po::value<std::string>(), "the published latency CSV")
      ("measure-latency", po::bool_switch(), "measure the network's inference latency here")
      ("threads", po::value<int>()->default_value(1), "threads for --measure-latency")
      ("batch", po::value<int64_t>()->default_value(1), "batch for --measure-latency")
      ("auxiliary", po::bool_switch(), "build the auxiliary head (counted in params_total only)")
      ("imagenet", po::bool_switch(), "DARTS ImageNet stems")
      ("json", po::bool_switch(), "print JSON")
      ("dot", po::value<std::string>(), "write a Graphviz diagram of the cells to FILE")
      ("help,h", "this help");
  add_network_size_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas show --space S (--arch TEXT | --supernet) [sizes] [--json] [--dot FILE]", desc);
    return 0;
  }
  const auto space = experiments::builtin_registries().spaces.create(space_to_show(vm));
  const bool supernet = vm["supernet"].as<bool>();
  auto o = supernet ? space->search_defaults() : space->eval_defaults();
  o.auxiliary = vm["auxiliary"].as<bool>();
  o.imagenet = vm["imagenet"].as<bool>();
  o = network_sizes(vm, o);
  if (!supernet && vm.count("latency") != 0 && !network_sizes_given(vm)) {
    // The prediction is for the table's sizes: show and measure those.
    const auto table = hardware::load_latency_table(
        *space, vm["latency"].as<std::string>(),
        vm.count("latency-data") != 0 ? vm["latency-data"].as<std::string>() : "");
    if (!table.sizes.empty()) o = search_space::NetworkOptions::from_json(table.sizes);
  }
  nlohmann::json out = {{"space", space->name()}, {"sizes", o.to_json()}};
  if (supernet) {
    describe_supernet(*space, o, out);
  } else {
    describe_network(vm, *space, o, out);
  }
  if (vm["json"].as<bool>()) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  fmt::print("space {} | {} | {} classes, {}x{}x{} input\n", space->name(),
             space->describe_sizes(o), o.num_classes, o.in_channels, o.input_size, o.input_size);
  if (supernet) {
    fmt::print("supernet: {} weights, {} architecture parameters ({} decisions x {} ops)\n",
               out["params"].get<int64_t>(), out["arch_params"].get<int64_t>(),
               out["decisions"].get<int64_t>(), space->num_candidates());
  } else {
    print_network_summary(o, out);
  }
  return 0;
}

}  // namespace nas::tools
