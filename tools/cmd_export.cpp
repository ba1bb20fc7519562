#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "deploy/onnx_export.h"
#include "experiments/config.h"
#include "tools/commands.h"

namespace nas::tools {

namespace {

/// The network to export: rebuilt around a finished `nas train` run's
/// weights, or fresh weights for --arch.
struct Exported {
  std::unique_ptr<search_space::SearchSpace> space;
  std::string arch;
  search_space::NetworkOptions sizes;
  search_space::Network net;
  nlohmann::json metadata = nlohmann::json::object();
};

/// A finished `nas train` run: its space, architecture, sizes and weights.
Exported from_run(const po::variables_map& vm) {
  const auto dir = vm["from-run"].as<std::string>();
  const auto config = read_run_json(dir, "config.json", "--from-run");
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/result.json")) {
    throw ConfigError(fmt::format(
        "--from-run {}: the run has not finished (no result.json); finish it with `nas train "
        "--resume {}` (or `nas search --resume {}`)",
        dir, dir, dir));
  }
  const auto result = read_run_json(dir, "result.json", "--from-run");
  if (!fs::exists(dir + "/weights.pt")) {
    throw ConfigError(fmt::format(
        "--from-run {}: no weights.pt; a search run holds no trained network. Train its "
        "answer first (`nas train --from-run {} --out runs/train`), or export fresh weights "
        "with --space and --arch",
        dir, dir));
  }
  if (!result.contains("sizes") || !result["sizes"].is_object()) {
    throw ConfigError(fmt::format(
        "--from-run {}: result.json has no \"sizes\" (a run of an older naskit); train it "
        "again with this one",
        dir));
  }
  Exported e;
  const auto space_name = string_at(config, "/space/name", dir + "/config.json");
  if (!vm["space"].defaulted() && vm["space"].as<std::string>() != space_name) {
    throw ConfigError(fmt::format("--space {}: {} is a run of the {} space",
                                  vm["space"].as<std::string>(), dir, space_name));
  }
  e.space = experiments::builtin_registries().spaces.create(space_name, config["space"]["options"]);
  e.arch = string_at(result, "/arch", dir + "/result.json");
  e.sizes = search_space::NetworkOptions::from_json(result["sizes"]);
  e.net = e.space->build_network(parse_arch(*e.space, e.arch, dir + "/result.json"), e.sizes);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(dir + "/weights.pt");
    e.net->load(archive);
  } catch (const c10::Error& err) {
    throw Error(fmt::format("--from-run {}: weights.pt does not fit the network of result.json "
                            "({})",
                            dir, err.what_without_backtrace()));
  }
  e.metadata["source"] = "nas train run " + dir;
  e.metadata["test_acc"] = fmt::format("{}", result.value("test_acc", 0.0));
  if (result.contains("input_normalization")) {
    e.metadata["input_normalization"] = result["input_normalization"].dump();
  }
  return e;
}

/// --space/--arch with fresh weights (seeded with --seed).
Exported from_arch(const po::variables_map& vm) {
  Exported e;
  e.space = experiments::builtin_registries().spaces.create(vm["space"].as<std::string>());
  e.arch = read_arch_argument(vm);
  if (e.arch.empty()) {
    throw ConfigError("nas export: give --from-run DIR (a finished `nas train` run), or --arch "
                      "TEXT / --arch-file FILE with --space");
  }
  const auto arch = parse_arch(*e.space, e.arch, arch_source(vm));
  e.arch = e.space->format(arch);
  e.sizes = network_sizes(vm, e.space->eval_defaults());
  torch::manual_seed(vm["seed"].as<uint64_t>());
  e.net = e.space->build_network(arch, e.sizes);
  e.metadata["source"] = fmt::format("fresh weights (seed {})", vm["seed"].as<uint64_t>());
  return e;
}

/// Every parameter and buffer by its module path, as a PyTorch state_dict.
void write_state_dict(const search_space::NetworkImpl& net, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& p : net.named_parameters()) dict.insert(p.key(), p.value().detach().cpu());
  for (const auto& b : net.named_buffers()) dict.insert(b.key(), b.value().detach().cpu());
  const auto bytes = torch::pickle_save(c10::IValue(dict));
  core::write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

/// --sample FILE: a seeded input batch and the network's logits on it, for
/// checking a runtime's predictions against naskit's.
void write_sample(search_space::NetworkImpl& net, const search_space::NetworkOptions& o,
                  int64_t batch, uint64_t seed, const std::string& path) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  const auto x = torch::randn({batch, o.in_channels, o.input_size, o.input_size});
  const auto logits = net.forward(x).contiguous();
  auto flat = [](const torch::Tensor& t) {
    const auto c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  core::write_json_file(path, {{"input_shape", x.sizes().vec()},
                               {"input", flat(x)},
                               {"logits_shape", logits.sizes().vec()},
                               {"logits", flat(logits)}});
}

}  // namespace

int run_export_command(const std::vector<std::string>& args) {
  po::options_description desc("nas export options");
  desc.add_options()
      ("from-run", po::value<std::string>(), "a finished `nas train` run: its network and trained weights")
      ("space", po::value<std::string>()->default_value("darts"), "space of --arch")
      ("arch", po::value<std::string>(), "architecture text (fresh weights)")
      ("arch-file", po::value<std::string>(), "file holding the architecture text (fresh weights)")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of fresh weights and of --sample")
      ("out", po::value<std::string>(), "the file to write")
      ("format", po::value<std::string>()->default_value("onnx"), "onnx or state_dict")
      ("sample", po::value<std::string>(), "also write a seeded input batch and naskit's logits on it to FILE (JSON)")
      ("sample-batch", po::value<int64_t>()->default_value(7), "the batch of --sample")
      ("help,h", "this help");
  add_network_size_options(desc);
  const auto vm = parse_args(args, desc);
  if (vm.count("help") != 0) {
    print_help("nas export (--from-run DIR | --space S --arch TEXT [sizes]) --out FILE "
               "[--format onnx|state_dict] [--sample FILE]",
               desc);
    return 0;
  }
  const auto format = vm["format"].as<std::string>();
  if (format != "onnx" && format != "state_dict") {
    throw ConfigError(fmt::format("--format: expected onnx or state_dict, found '{}'", format));
  }
  if (vm.count("out") == 0) throw ConfigError("nas export: expected --out FILE");
  const auto batch = vm["sample-batch"].as<int64_t>();
  if (batch < 1 || batch > 1024) {
    throw ConfigError(fmt::format("--sample-batch: expected 1..1024, found {}", batch));
  }
  if (vm.count("from-run") != 0 && (vm.count("arch") != 0 || vm.count("arch-file") != 0)) {
    throw ConfigError("nas export: --from-run and --arch/--arch-file exclude each other");
  }
  auto e = vm.count("from-run") != 0 ? from_run(vm) : from_arch(vm);
  e.net->eval();
  const auto out = vm["out"].as<std::string>();
  if (format == "state_dict") {
    write_state_dict(*e.net, out);
  } else {
    deploy::OnnxModelInfo info;
    info.in_channels = e.sizes.in_channels;
    info.input_size = e.sizes.input_size;
    info.num_classes = e.sizes.num_classes;
    info.metadata = {{"arch", e.arch},
                     {"space", e.space->name()},
                     {"naskit_version", core::toolkit_version()},
                     {"naskit_commit", core::git_commit()},
                     {"sizes", e.sizes.to_json().dump()}};
    for (const auto& [k, v] : e.metadata.items()) info.metadata[k] = v.get<std::string>();
    try {
      deploy::export_onnx(*e.net, info, out);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& err) {
      throw Error(fmt::format("nas export: a {} network: {}", e.space->name(), err.what()));
    }
  }
  if (vm.count("sample") != 0) {
    write_sample(*e.net, e.sizes, batch, vm["seed"].as<uint64_t>(), vm["sample"].as<std::string>());
  }
  std::cout << fmt::format("{} ({}): {} | {} classes, {}x{}x{} input\n", out, format, e.arch,
                           e.sizes.num_classes, e.sizes.in_channels, e.sizes.input_size,
                           e.sizes.input_size);
  return 0;
}

}  // namespace nas::tools
