#include "secret_io.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

namespace cli {

using mesh::SecureBuffer;
using mesh::Status;

namespace {
std::string Errno() { return std::strerror(errno); }
}  // namespace

Status ReadFd(int fd, std::string_view what, size_t limit, SecureBuffer* out) {
  SecureBuffer buf;
  buf.Reserve(std::min<size_t>(limit + 1, size_t{64} * 1024));
  for (;;) {
    if (buf.size() == buf.capacity()) buf.Reserve(std::min(limit + 1, buf.capacity() * 2));
    const size_t room = buf.capacity() - buf.size();
    const size_t at = buf.size();
    buf.Resize(buf.capacity());
    const ssize_t n = ::read(fd, buf.data() + at, room);
    if (n < 0 && errno == EINTR) {
      buf.Resize(at);
      continue;
    }
    if (n < 0) return Status::IOError("cannot read " + std::string(what) + ": " + Errno());
    buf.Resize(at + static_cast<size_t>(n));
    if (n == 0) break;
    if (buf.size() > limit) {
      return Status::ResourceExhausted(std::string(what) + " is larger than the limit of " +
                                       std::to_string(limit) +
                                       " bytes (raise it with "
                                       "--max-size)");
    }
  }
  *out = std::move(buf);
  return Status::OK();
}

Status ReadPath(const std::string& path, size_t limit, SecureBuffer* out) {
  if (path == "-") return ReadFd(STDIN_FILENO, "standard input", limit, out);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + Errno());
  struct stat st {};
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Status::IOError("cannot stat " + path + ": " + Errno());
  } else if (S_ISDIR(st.st_mode)) {
    s = Status::InvalidArgument(path + " is a directory");
  } else if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > limit) {
    s = Status::ResourceExhausted(path + " is " + std::to_string(st.st_size) +
                                  " bytes, over the limit of " + std::to_string(limit) +
                                  " (raise it with --max-size)");
  } else {
    s = ReadFd(fd, path, limit, out);
  }
  ::close(fd);
  return s;
}

namespace {

// The terminal whose echo a prompt turned off, so a signal can turn it back on.
int g_tty_fd = -1;
termios g_tty_saved{};

void RestoreTerminalAndDie(int sig) {
  if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSANOW, &g_tty_saved);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

Status PromptHidden(std::string_view prompt, size_t limit, SecureBuffer* out) {
  // A terminal in canonical mode silently cuts lines at 4095 bytes: refuse to get near that.
  constexpr size_t kMaxTerminalLine = 4000;
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::IOError("no terminal to prompt on: " + Errno());
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) {
    ::close(fd);
    return Status::IOError("cannot read terminal settings: " + Errno());
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  g_tty_fd = fd;
  g_tty_saved = saved;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, RestoreTerminalAndDie);
  // Echo off before the prompt appears, so nothing typed after it can be echoed. TCSANOW,
  // not TCSAFLUSH: lines pasted ahead of the prompt stay in the input queue.
  ::tcsetattr(fd, TCSANOW, &quiet);
  (void)!::write(fd, prompt.data(), prompt.size());
  SecureBuffer line;
  line.Reserve(256);
  Status s;
  for (;;) {
    uint8_t c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    if (line.size() >= std::min(limit, kMaxTerminalLine)) {
      s = Status::ResourceExhausted(
          "the input is too long for a terminal prompt: use --in FILE or a pipe");
      break;
    }
    line.Append(std::span<const uint8_t>(&c, 1));
    sodium_memzero(&c, 1);
  }
  ::tcsetattr(fd, TCSANOW, &saved);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
  g_tty_fd = -1;
  ::close(fd);
  if (s.ok()) *out = std::move(line);
  return s;
}

bool StdinIsTerminal() { return ::isatty(STDIN_FILENO) == 1; }

Status WriteAll(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("write failed: " + Errno());
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status WriteAll(int fd, std::string_view text) {
  return WriteAll(fd, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::optional<size_t> ParseSize(std::string_view text) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  int shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else if (unit == "K" || unit == "KiB") {
    shift = 10;
  } else if (unit == "M" || unit == "MiB") {
    shift = 20;
  } else if (unit == "G" || unit == "GiB") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (value > (SIZE_MAX >> shift)) return std::nullopt;
  return value << shift;
}

void HardenProcess() {
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace cli
