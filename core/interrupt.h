#pragma once

#include <cstdint>

#include "core/error.h"

namespace nas::core {

/// SIGINT/SIGTERM set a flag that every long phase polls (training steps,
/// scoring, evaluation, profiling): the run saves what it can and stops,
/// so an interrupted run loses nothing. A second signal exits at once
/// (status 130).
void install_interrupt_handlers();
bool interrupted();
/// Test hook: request an interrupt as if a signal arrived (false: clear the
/// flag and any pending request_interrupt_after).
void request_interrupt(bool value = true);
/// Test hook: act as if a signal arrived at the `polls`-th poll from now.
void request_interrupt_after(int64_t polls);

/// Thrown by a long phase that saw the interrupt flag and has nothing to
/// save itself; the run's loop turns it into exit status 130.
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& where)
      : Error("interrupted during " + where) {}
};

/// Throws Interrupted when the flag is set.
void throw_if_interrupted(const char* where);

}  // namespace nas::core
