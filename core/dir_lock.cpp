#include "core/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/error.h"

namespace nas::core {

DirLock::DirLock(const std::string& dir, const std::string& what) {
  const auto path = dir + "/" + kFile;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(fmt::format("cannot lock the {} {}: {}: {}", what, dir, path,
                            std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw ConfigError(fmt::format(
        "{}: another nas process{} is writing this {}; wait for it to finish (or stop it), "
        "or choose another directory",
        dir, n > 0 ? fmt::format(" (pid {})", std::string(pid, static_cast<size_t>(n))) : "",
        what));
  }
  const auto text = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace nas::core
