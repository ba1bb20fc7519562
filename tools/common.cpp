#include <cctype>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/log.h"
#include "core/text.h"
#include "experiments/config.h"
#include "experiments/run_dir.h"
#include "tools/commands.h"

namespace nas::tools {

po::variables_map parse_args(const std::vector<std::string>& args,
                             const po::options_description& desc) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional({}).run(),
            vm);
  po::notify(vm);
  if (vm.count("quiet") != 0 && vm["quiet"].as<bool>()) core::set_verbosity(0);
  return vm;
}

void print_help(const std::string& usage, const po::options_description& desc) {
  std::cout << "usage: " << usage << "\n\n" << desc << "\n";
}

void add_common_run_options(po::options_description& desc) {
  desc.add_options()
      ("config", po::value<std::string>(), "JSON config file (see configs/)")
      ("preset", po::value<std::string>(), "a ready config: quick, darts-paper (`nas list presets`)")
      ("set", po::value<std::vector<std::string>>()->composing(),
       "PATH=VALUE override of any config key, e.g. strategy.options.order=2 (repeatable)")
      ("print-config", po::bool_switch(), "print the resolved config and exit")
      ("quiet,q", po::bool_switch(), "no progress output")
      ("help,h", "this help");
}

void add_config_flags(po::options_description& desc, const std::vector<ConfigFlag>& flags) {
  for (const auto& f : flags) {
    if (f.type == ConfigFlag::Type::integer) {
      desc.add_options()(f.flag.c_str(), po::value<int64_t>(), f.help.c_str());
    } else if (f.type == ConfigFlag::Type::number) {
      desc.add_options()(f.flag.c_str(), po::value<double>(), f.help.c_str());
    } else {
      desc.add_options()(f.flag.c_str(), po::value<std::string>(), f.help.c_str());
    }
  }
}

std::vector<ConfigFlag> shared_config_flags() {
  using T = ConfigFlag::Type;
  return {
      {"seed", "seed", T::integer, "seed of every random number generator"},
      {"threads", "threads", T::integer, "intra-op threads (default 0: all cores)"},
      {"device", "device", T::text, "cpu | cuda | cuda:N"},
      {"out", "out", T::text, "run directory to write"},
      {"dataset", "data.dataset", T::text, "fashion-mnist | mnist | cifar10 | synthetic"},
      {"data-dir", "data.dir", T::text, "directory of the dataset's files"},
      {"train-subset", "data.train_subset", T::integer, "use the first N training images (0: all)"},
      {"batch", "data.batch", T::integer, "batch size"},
      {"C", "network.C", T::integer, "initial channels"},
      {"layers", "network.layers", T::integer, "cells (DARTS space)"},
      {"cells-per-stage", "network.cells_per_stage", T::integer, "cells per stage (NB201 space)"},
      {"width-mult", "network.width_mult", T::number,
       "width multiplier (chain spaces; 0: the table's)"},
  };
}

std::vector<nlohmann::json> config_layers(const po::variables_map& vm, const std::string& kind,
                                          const std::vector<ConfigFlag>& flags) {
  std::vector<nlohmann::json> layers;
  if (vm.count("config") != 0) {
    layers.push_back(core::read_json_file(vm["config"].as<std::string>()));
  }
  nlohmann::json given = nlohmann::json::object();
  for (const auto& f : flags) {
    if (vm.count(f.flag) == 0) continue;
    const auto& v = vm[f.flag];
    nlohmann::json value;
    switch (f.type) {
      case ConfigFlag::Type::integer: value = v.as<int64_t>(); break;
      case ConfigFlag::Type::number: value = v.as<double>(); break;
      case ConfigFlag::Type::text: value = v.as<std::string>(); break;
    }
    experiments::set_path(given, f.path, value);
  }
  layers.push_back(given);
  if (vm.count("set") != 0) {
    nlohmann::json sets = nlohmann::json::object();
    for (const auto& item : vm["set"].as<std::vector<std::string>>()) {
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ConfigError(fmt::format(
            "--set: expected PATH=VALUE (e.g. strategy.options.order=2), "
            "found '{}'",
            item));
      }
      experiments::set_path(sets, item.substr(0, eq),
                            experiments::parse_value(item.substr(eq + 1),
                                                     "--set " + item.substr(0, eq)));
    }
    layers.push_back(sets);
  }
  if (vm.count("preset") != 0) {
    // Under everything else, with the overlay of the space the rest selects.
    const auto space = experiments::space_of(layers, "");
    layers.insert(layers.begin(), experiments::preset(kind, vm["preset"].as<std::string>(), space));
  }
  return layers;
}

std::vector<nlohmann::json> resume_layers(const po::variables_map& vm) {
  const auto dir = vm["resume"].as<std::string>();
  // A resumed run computes exactly what it started to: only how and where
  // to compute may change.
  std::vector<std::string> refused;
  for (const auto& [name, value] : vm) {
    if (value.defaulted() || name == "resume" || name == "threads" || name == "device" ||
        name == "quiet" || name == "nproc") {  // --nproc: checked against the checkpoint
      continue;
    }
    refused.push_back("--" + name);
  }
  if (!refused.empty()) {
    throw ConfigError(fmt::format(
        "--resume {}: {} cannot be given with --resume (a run resumes with the config it "
        "started with; only --threads, --device, --nproc and -q may change). Start a new run with "
        "another --out to change it",
        dir, fmt::join(refused, ", ")));
  }
  experiments::RunDir(dir).check(true);
  auto saved = core::read_json_file(dir + "/config.json");
  saved["out"] = dir;
  nlohmann::json runtime = nlohmann::json::object();
  if (vm.count("threads") != 0) runtime["threads"] = vm["threads"].as<int64_t>();
  if (vm.count("device") != 0) runtime["device"] = vm["device"].as<std::string>();
  return {saved, runtime};
}

void add_network_size_options(po::options_description& desc) {
  desc.add_options()
      ("C", po::value<int64_t>(), "initial channels (default: the space's)")
      ("layers", po::value<int64_t>(), "cells (DARTS)")
      ("cells-per-stage", po::value<int64_t>(), "cells per stage (NB201)")
      ("width-mult", po::value<double>(), "width multiplier (chain spaces; default: the table's)")
      ("classes", po::value<int64_t>()->default_value(10), "classes")
      ("in-channels", po::value<int64_t>()->default_value(3), "input channels")
      ("input-size", po::value<int64_t>()->default_value(32), "input height = width");
}

bool network_sizes_given(const po::variables_map& vm) {
  for (const char* flag : {"C", "layers", "cells-per-stage", "width-mult", "classes",
                           "in-channels", "input-size"}) {
    if (vm.count(flag) != 0 && !vm[flag].defaulted()) return true;
  }
  return false;
}

search_space::NetworkOptions network_sizes(const po::variables_map& vm,
                                           search_space::NetworkOptions o) {
  if (vm.count("C") != 0) o.C = vm["C"].as<int64_t>();
  if (vm.count("layers") != 0) o.layers = vm["layers"].as<int64_t>();
  if (vm.count("cells-per-stage") != 0) o.cells_per_stage = vm["cells-per-stage"].as<int64_t>();
  if (vm.count("width-mult") != 0) o.width_mult = vm["width-mult"].as<double>();
  o.num_classes = vm["classes"].as<int64_t>();
  o.in_channels = vm["in-channels"].as<int64_t>();
  o.input_size = vm["input-size"].as<int64_t>();
  return o;
}

std::string read_arch_argument(const po::variables_map& vm) {
  if (vm.count("arch") != 0) return vm["arch"].as<std::string>();
  if (vm.count("arch-file") != 0) {
    const auto path = vm["arch-file"].as<std::string>();
    auto text = core::read_text_file(path);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
      text.pop_back();
    }
    if (text.empty()) {
      throw ConfigError(fmt::format(
          "--arch-file {}: the file is empty; expected an architecture (a DARTS genotype or "
          "an NB201 string), or give it with --arch TEXT",
          path));
    }
    return text;
  }
  if (vm.count("from-run") != 0) {
    const auto dir = vm["from-run"].as<std::string>();
    return string_at(read_run_json(dir, "result.json", "--from-run"), "/arch",
                     dir + "/result.json");
  }
  return "";
}

std::string arch_source(const po::variables_map& vm) {
  if (vm.count("arch") != 0) return "--arch";
  if (vm.count("arch-file") != 0) return "--arch-file " + vm["arch-file"].as<std::string>();
  if (vm.count("from-run") != 0) return "--from-run " + vm["from-run"].as<std::string>() + "/result.json";
  return "the architecture";
}

search_space::Architecture parse_arch(const search_space::SearchSpace& space,
                                      const std::string& text, const std::string& source) {
  try {
    return space.parse(text);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", source, e.what()));
  }
}

nlohmann::json read_run_json(const std::string& dir, const std::string& name,
                             const std::string& flag) {
  const auto path = dir + "/" + name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError(fmt::format("{} {}: not a run directory (no {}{})", flag, dir, name,
                                  std::filesystem::is_directory(dir, ec) ? "" : "; no such directory"));
  }
  return core::read_json_file(path);
}

std::string string_at(const nlohmann::json& j, const std::string& pointer,
                      const std::string& file) {
  const nlohmann::json::json_pointer p(pointer);
  if (!j.is_object() || !j.contains(p) || !j.at(p).is_string()) {
    throw ConfigError(fmt::format("{}: expected a string at \"{}\", found {}", file,
                                  pointer.substr(1),
                                  j.is_object() && j.contains(p) ? core::printable(j.at(p).dump(), 60)
                                                                 : "none"));
  }
  return j.at(p).get<std::string>();
}

}  // namespace nas::tools
