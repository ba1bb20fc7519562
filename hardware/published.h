#pragma once

#include <string>
#include <vector>

#include "hardware/cost_table.h"
#include "search_space/search_space.h"

namespace nas::hardware {

/// The published NAS-Bench-201 latencies (shared/data/nb201-latency,
/// HELP + HW-NAS-Bench): all 15,625 architectures on 27 devices, in ms per
/// image of the NB201 network at C=16, N=5, 32x32x3 input.
struct PublishedLatencies {
  std::string file;
  std::vector<std::string> devices;       ///< without the lat_ms_ prefix
  std::vector<std::string> archs;         ///< NB201 strings, row order
  std::vector<int64_t> lines;             ///< each row's line in the file
  std::vector<std::vector<double>> values; ///< [device][row]
};

/// The data file used when none is given: $NASKIT_LATENCY_DATA, else
/// <source dir>/../shared/data/nb201-latency/nb201_latency.csv.gz, else
/// ../shared/data/nb201-latency/nb201_latency.csv.gz from the working
/// directory (the first that exists; the second when none does).
std::string default_latency_data();

/// Reads (once per file, then cached) and checks the CSV (gzip or plain):
/// ConfigError naming the file and line for a missing file, a bad header,
/// a short row or a value that is not a finite number.
const PublishedLatencies& read_published_latencies(const std::string& file);

/// A latency table for `device` of the NB201 space from the published
/// data: `exact` holds every architecture's published value, and the
/// additive model (intercept + one coefficient per (edge, op), `none` the
/// reference at 0) is fitted by least squares on 80% of the architectures;
/// meta.fit reports R^2, Spearman, Kendall, RMSE and MAPE on the held-out
/// 20% (every fifth row). ConfigError for another space or an unknown
/// device (listing the devices). `file` empty: `default_latency_data()`.
CostTable published_table(const search_space::SearchSpace& space, const std::string& device,
                          const std::string& file);

/// A table from a spec: "published:DEVICE" or a table file; checked
/// against `space`.
CostTable load_latency_table(const search_space::SearchSpace& space, const std::string& spec,
                             const std::string& data_file);

}  // namespace nas::hardware
