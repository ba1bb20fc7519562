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
int run_export_command(const std::vector<std::string>& args);

namespace po = boost::program_options;

/// Parses `args` against `desc`; a positional argument is an error.
po::variables_map parse_args(const std::vector<std::string>& args,
                             const po::options_description& desc);

/// --help text of a subcommand.
void print_help(const std::string& usage, const po::options_description& desc);

/// Options every run command shares that set no config key (--config,
/// --preset, --set, --print-config, --quiet, --help).
void add_common_run_options(po::options_description& desc);

/// A flag that sets one config key, declared once: `--flag VALUE` puts
/// VALUE (an integer or a text) at `path` (validated there, with the rest
/// of the config, by resolve_config).
struct ConfigFlag {
  std::string flag;
  std::string path;
  enum class Type { text, integer, number } type;
  std::string help;
};

/// Declares each flag of `flags` in `desc`.
void add_config_flags(po::options_description& desc, const std::vector<ConfigFlag>& flags);

/// The config flags of every run command (search, train, rank): --seed,
/// --threads, --device, --out, --dataset, --data-dir, --train-subset,
/// --batch, --C, --layers, --cells-per-stage, --width-mult; a command appends its own.
std::vector<ConfigFlag> shared_config_flags();

/// The layers of a run config from the command line: the preset, the
/// config file, then one object of the `flags` given, then each --set
/// PATH=VALUE.
std::vector<nlohmann::json> config_layers(const po::variables_map& vm, const std::string& kind,
                                          const std::vector<ConfigFlag>& flags);

/// The config layers of `--resume DIR`: DIR/config.json with `out` = DIR,
/// then --threads/--device if given (only how to compute may change, not
/// what is computed). ConfigError when DIR holds no run.
std::vector<nlohmann::json> resume_layers(const po::variables_map& vm);

/// Whether any of add_network_size_options' flags was given.
bool network_sizes_given(const po::variables_map& vm);

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
