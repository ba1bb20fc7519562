// `nas`: the command line of naskit. A thin layer over the libraries: one
// file per subcommand, wired by the table below.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/runtime.h"
#include "core/text.h"
#include "experiments/run_dir.h"
#include "tools/commands.h"

namespace nas::tools {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"search", "run a search strategy on a space; writes a run directory",
       run_search_command},
      {"train", "train an architecture from scratch and report test accuracy",
       run_train_command},
      {"show", "parameter counts, a summary or a Graphviz diagram of an "
               "architecture or supernet",
       run_show_command},
      {"list", "registered spaces, strategies, estimators, presets and objectives",
       run_list_command},
      {"profile", "measure a latency table of a space on this device; check its predictions",
       run_profile_command},
      {"rank", "estimate architectures with two estimators; Kendall tau and Spearman between them",
       run_rank_command},
      {"study", "several strategies x seeds on one space and budget; statistics and a report",
       run_study_command},
      {"plot", "an SVG scatter plot of result.json values over run directories",
       run_plot_command},
      {"export", "write a trained network as ONNX (or a PyTorch state_dict) for other runtimes",
       run_export_command},
  };
  return table;
}

namespace {

void print_usage() {
  fmt::print("naskit {} — neural architecture search on LibTorch\n\n",
             core::toolkit_version());
  fmt::print("usage: nas <command> [options]\n       nas --version | --help\n\n"
             "commands:\n");
  for (const auto& c : commands()) fmt::print("  {:<8} {}\n", c.name, c.summary);
  fmt::print("\n`nas <command> --help` lists a command's options.\n");
}

void print_version() {
  const int threads = core::set_threads(0);
  fmt::print("naskit {} (git {})\n", core::toolkit_version(), core::git_commit());
  fmt::print("LibTorch {}\n", core::torch_version());
  fmt::print("device: cpu{}\n",
             torch::cuda::is_available()
                 ? fmt::format(", cuda ({} devices)", torch::cuda::device_count())
                 : (core::torch_has_cuda() ? " (LibTorch has CUDA; no CUDA device seen)"
                                           : " (CPU LibTorch: no CUDA in this build)"));
  fmt::print("threads: {} (default: all cores; set with --threads)\n", threads);
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_usage();
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage();
    return 0;
  }
  if (first == "--version" || first == "version") {
    print_version();
    return 0;
  }
  for (const auto& c : commands()) {
    if (first == c.name) {
      return c.run(std::vector<std::string>(argv + 2, argv + argc));
    }
  }
  std::vector<std::string> names;
  for (const auto& c : commands()) names.emplace_back(c.name);
  throw ConfigError(fmt::format("unknown command '{}'; valid commands: {}",
                                first, fmt::join(names, ", ")));
}

}  // namespace
}  // namespace nas::tools

int main(int argc, char** argv) {
  // First of all, so a signal during start-up or data loading is seen by
  // the run (which then stops cleanly) instead of killing it half-way.
  nas::core::install_interrupt_handlers();
  nas::core::keep_freed_memory();
  nas::experiments::set_command_line(argc, argv);
  try {
    return nas::tools::dispatch(argc, argv);
  } catch (const boost::program_options::error& e) {
    fmt::print(stderr, "error: {}\n(see `nas {} --help`)\n", e.what(),
               argc > 1 ? argv[1] : "");
    return 2;
  } catch (const nas::core::Interrupted& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 130;
  } catch (const nas::ConfigError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const nas::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error: LibTorch: {}\n",
               nas::core::printable(e.what_without_backtrace(), 400));
    return 1;
  } catch (const nlohmann::json::exception& e) {
    // A JSON file of an unexpected shape (e.g. --from-run on a directory
    // that is not a search run): say so without the library's prefix.
    std::string what = e.what();
    if (const auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    fmt::print(stderr, "error: unexpected content in a JSON file or value: {}\n",
               nas::core::printable(what, 200));
    return 2;
  } catch (const std::logic_error& e) {
    fmt::print(stderr, "error: invalid value ({})\n", nas::core::printable(e.what(), 200));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
