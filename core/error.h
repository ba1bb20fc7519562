#pragma once

#include <stdexcept>
#include <string>

namespace nas {

/// A failure the user can act on: a bad file, a NaN loss, a killed run.
/// `nas` prints `error: <what()>` and exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A usage or configuration mistake: unknown flag, unknown name, unknown
/// option key, a value of the wrong type or out of range. `nas` exits 2.
/// Messages say what was expected, what was found and where.
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace nas
