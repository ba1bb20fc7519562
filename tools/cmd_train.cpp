#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_io.h"
#include "experiments/run_dir.h"
#include "experiments/train.h"
#include "tools/commands.h"

namespace nas::tools {

int run_train_command(const std::vector<std::string>& args) {
  po::options_description desc("nas train options");
  desc.add_options()
      ("arch", po::value<std::string>(), "architecture text (a DARTS genotype, an NB201 string)")
      ("arch-file", po::value<std::string>(), "file holding the architecture text")
      ("from-run", po::value<std::string>(), "train the result of the search run in DIR")
      ("resume", po::value<std::string>(), "continue the training run in DIR from its checkpoint");
  using T = ConfigFlag::Type;
  auto flags = shared_config_flags();
  flags.insert(flags.end(),
               {{"space", "space.name", T::text, "space of the architecture (default darts)"},
                {"test-subset", "data.test_subset", T::integer,
                 "use the first N test images (0: all)"},
                {"epochs", "train.epochs", T::integer, "training epochs"}});
  add_config_flags(desc, flags);
  add_common_run_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas train (--arch TEXT | --arch-file FILE | --from-run DIR) [options]", desc);
    return 0;
  }
  auto layers = config_layers(vm, "train", flags);
  if (vm.count("resume") != 0) {
    const auto config = experiments::resolve_config(
        experiments::train_defaults(), resume_layers(vm),
        experiments::builtin_registries());
    const auto result =
        experiments::run_train(config, experiments::builtin_registries(), true);
    if (result.value("interrupted", false)) return 130;
    std::cout << fmt::format("test accuracy {:.2f}%\n",
                             100 * result["test_acc"].get<double>());
    return 0;
  }
  const auto arch = read_arch_argument(vm);
  nlohmann::json from_arch = nlohmann::json::object();
  if (!arch.empty()) from_arch["arch"] = arch;
  if (vm.count("from-run") != 0) {
    // The search's space and data come along unless given again.
    const auto dir = vm["from-run"].as<std::string>();
    const auto searched = read_run_json(dir, "config.json", "--from-run");
    if (!searched.is_object() || !searched.contains("space") || !searched.contains("data") ||
        !searched["data"].is_object() || !searched["data"].contains("dataset") ||
        !searched["data"].contains("dir")) {
      throw ConfigError(fmt::format(
          "--from-run {}: {}/config.json is not the config of a search run (expected "
          "\"space\" and \"data\" with \"dataset\" and \"dir\")",
          dir, dir));
    }
    nlohmann::json inherited = {{"space", searched.at("space")}};
    for (const char* key : {"dataset", "dir"}) {
      inherited["data"][key] = searched.at("data").at(key);
    }
    layers.insert(layers.begin(), inherited);
  }
  layers.push_back(from_arch);
  layers.insert(layers.begin(),
                experiments::train_space_recipe(experiments::space_of(layers, "darts")));
  const auto config = experiments::resolve_config(
      experiments::train_defaults(), layers, experiments::builtin_registries());
  if (vm["print-config"].as<bool>()) {
    std::cout << config.dump(2) << "\n";
    return 0;
  }
  const auto result = experiments::run_train(config, experiments::builtin_registries());
  if (result.value("interrupted", false)) return 130;
  std::cout << fmt::format("test accuracy {:.2f}%\n",
                           100 * result["test_acc"].get<double>());
  return 0;
}

}  // namespace nas::tools
