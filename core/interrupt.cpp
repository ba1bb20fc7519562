#include "core/interrupt.h"

#include <csignal>
#include <cstdlib>

#include <unistd.h>

namespace nas::core {

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
int64_t g_countdown = 0;

void on_signal(int) {
  if (g_interrupted != 0) {
    // A second Ctrl-C: stop now (async-signal-safe calls only).
    const char msg[] = "\ninterrupted again: exiting now\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof(msg) - 1);
    std::_Exit(130);
  }
  g_interrupted = 1;
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() {
  if (g_countdown > 0 && --g_countdown == 0) g_interrupted = 1;
  return g_interrupted != 0;
}

void request_interrupt(bool value) {
  g_interrupted = value ? 1 : 0;
  g_countdown = 0;
}

void request_interrupt_after(int64_t polls) {
  g_interrupted = 0;
  g_countdown = polls;
}

void throw_if_interrupted(const char* where) {
  if (interrupted()) throw Interrupted(where);
}

}  // namespace nas::core
