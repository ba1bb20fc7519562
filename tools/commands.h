#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "search_space/network.h"
#include "search_space/search_space.h"

namespace nas::tools {

/// One subcommand: its name, a one-line summary and its entry point, which
/// gets the arguments after the subcommand name and returns the exit code.
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

/// The explicit table of subcommands (main.cpp).
const std::vector<Command>& commands();

int run_search_command(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
int run_show_command(const std::vector<std::string>& args);
int run_list_command(const std::vector<std::string>& args);
int run_profile_command(const std::vector<std::string>& args);
int run_plot_command(const std::vector<std::string>& args);
int run_rank_command(const std::vector<std::string>& args);
int run_study_command(const std::vector<std::string>& args);

namespace po = boost::program_options;

/// Parses `args` against `desc`; a positional argument is an error.
po::variables_map parse_args(const std::vector<std::string>& args,
                             const po::options_description& desc);

/// --help text of a subcommand.
void print_help(const std::string& usage, const po::options_description& desc);

/// Options every run command shares (--config, --preset, --seed, --threads,
/// --device, --out, --set, --print-config, --quiet).
void add_common_run_options(po::options_description& desc);

/// Flags `search` and `train` share: --dataset, --data-dir,
/// --train-subset, --batch, --C, --layers, --cells-per-stage; and the
/// config path of each of them and of the common run options.
void add_data_and_size_options(po::options_description& desc);
std::vector<std::pair<std::string, std::string>> shared_flag_paths();

/// The layers of a run config from the command line: the preset, the
/// config file, then one object of the flags given (flag -> config path in
/// `flag_paths`), then each --set PATH=VALUE.
std::vector<nlohmann::json> config_layers(
    const po::variables_map& vm, const std::string& kind,
    const std::vector<std::pair<std::string, std::string>>& flag_paths);

/// The config layers of `--resume DIR`: DIR/config.json with `out` = DIR,
/// then --threads/--device if given (only how to compute may change, not
/// what is computed). ConfigError when DIR holds no run.
std::vector<nlohmann::json> resume_layers(const po::variables_map& vm);

/// Network size flags of `nas show` and `nas profile`: --C, --layers,
/// --cells-per-stage, --classes, --in-channels, --input-size.
void add_network_size_options(po::options_description& desc);
/// `base` (a space's defaults) with the size flags given applied.
search_space::NetworkOptions network_sizes(const po::variables_map& vm,
                                           search_space::NetworkOptions base);

/// Reads a text argument that may be given inline or as a file.
std::string read_arch_argument(const po::variables_map& vm);
/// Where read_arch_argument's text came from, for messages: "--arch",
/// "--arch-file FILE" or "--from-run DIR/result.json".
std::string arch_source(const po::variables_map& vm);
/// `space.parse(text)`; a ConfigError names `source` first.
search_space::Architecture parse_arch(const search_space::SearchSpace& space,
                                      const std::string& text, const std::string& source);

/// `name` (config.json, result.json) of the run in `dir`; ConfigError
/// naming `flag` when `dir` holds no such file (not a run directory).
nlohmann::json read_run_json(const std::string& dir, const std::string& name,
                             const std::string& flag);
/// The string at JSON `pointer` ("/space/name") of `j` read from `file`;
/// ConfigError naming the file, the key and what was found otherwise.
std::string string_at(const nlohmann::json& j, const std::string& pointer,
                      const std::string& file);

}  // namespace nas::tools
