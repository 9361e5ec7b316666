// POSIX file access for the format library. Errors name the file and the OS reason.
#include "format/file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace capsule::format {
namespace {
std::string Errno() { return std::strerror(errno); }
std::string DirOf(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}
}  // namespace

InputFile::~InputFile() {
  if (fd_ >= 0) close(fd_);
}
InputFile::InputFile(InputFile&& o) noexcept : fd_(o.fd_), size_(o.size_), path_(o.path_) {
  o.fd_ = -1;
}
InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    size_ = o.size_;
    path_ = o.path_;
    o.fd_ = -1;
  }
  return *this;
}

Result<InputFile> InputFile::Open(const std::string& path) {
  InputFile f;
  f.path_ = path;
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer before it could be refused
  // below (no effect on the regular files that are accepted).
  f.fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd_ < 0) return Status(Code::IoOpen, path + ": cannot open: " + Errno());
  struct stat st;
  if (fstat(f.fd_, &st) != 0) return Status(Code::IoRead, path + ": " + Errno());
  if (!S_ISREG(st.st_mode)) return Status(Code::IoOpen, path + ": not a regular file");
  f.size_ = static_cast<uint64_t>(st.st_size);
  return f;
}

Status InputFile::ReadAt(uint64_t offset, void* buf, size_t n) const {
  if (offset > size_ || n > size_ - offset)
    return Status(Code::Truncated, path_ + ": file ends at byte " + std::to_string(size_) +
                                       ", needed " + std::to_string(offset + n));
  auto* p = static_cast<uint8_t*>(buf);
  while (n) {
    ssize_t got = pread(fd_, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status(Code::IoRead, path_ + ": read failed: " + Errno());
    }
    if (got == 0) return Status(Code::Truncated, path_ + ": file shrank while reading");
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return Status::Ok();
}

Result<Bytes> InputFile::ReadRange(uint64_t offset, size_t n) const {
  Bytes b(n);
  CAPSULE_RETURN_IF_ERROR(ReadAt(offset, b.data(), n));
  return b;
}

void PrefaultForWrite(void* p, size_t n) {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; glibc 2.36's headers may lack it
#endif
  constexpr size_t kMin = 128 * 1024;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (n < kMin || end <= begin) return;
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

Result<ReadBuffer> InputFile::ReadBufferAt(uint64_t offset, size_t n) const {
  ReadBuffer b(n);
  PrefaultForWrite(b.data(), n);
  CAPSULE_RETURN_IF_ERROR(ReadAt(offset, b.data(), n));
  return b;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_size,
                                  const std::function<Status(uint64_t size)>& too_large) {
  CAPSULE_ASSIGN_OR_RETURN(InputFile f, InputFile::Open(path));
  if (f.size() > max_size && too_large) return too_large(f.size());
  if (f.size() > max_size)
    return Status(Code::IoRead, path + ": file too large (" + std::to_string(f.size()) +
                                    " bytes; at most " + std::to_string(max_size) + ")");
  std::string s(f.size(), '\0');
  CAPSULE_RETURN_IF_ERROR(f.ReadAt(0, s.data(), s.size()));
  return s;
}

// The temporaries a signal handler may have to remove: fixed slots (a handler may neither
// allocate nor take a lock), each claimed with a compare-and-swap. A path is copied in while its
// slot is kWriting and only read by the handler while kActive.
namespace {
constexpr int kTempSlots = 256;  // more outputs open at once (--jobs is ≤ 256) go unregistered
enum : int { kFree, kWriting, kActive };
// Constant-initialized and apart from the paths: an array of structs holding atomics got a
// dynamic initializer that wrote every slot at start-up — 256 page faults (0.4 ms) on every run.
// The paths (1 MiB of zero pages) are touched only when used.
constinit std::atomic<int> temp_state[kTempSlots] = {};
char temp_path[kTempSlots][PATH_MAX];

int RegisterTemporary(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kTempSlots; ++i) {
    int expected = kFree;
    if (!temp_state[i].compare_exchange_strong(expected, kWriting)) continue;
    std::memcpy(temp_path[i], path.c_str(), path.size() + 1);
    temp_state[i].store(kActive);
    return i;
  }
  return -1;
}

void UnregisterTemporary(int slot) {
  if (slot >= 0) temp_state[slot].store(kFree);
}

extern "C" void RemoveTemporariesAndDie(int sig) {
  const int saved = errno;
  for (int i = 0; i < kTempSlots; ++i)
    if (temp_state[i].load() == kActive) unlink(temp_path[i]);
  errno = saved;
  raise(sig);  // SA_RESETHAND restored the default action: delivered when the handler returns
}
}  // namespace

void RemoveTemporariesOnSignals() {
  struct sigaction sa {};
  sa.sa_handler = RemoveTemporariesAndDie;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal ignored at start (nohup, a shell's background job) stays ignored.
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

AtomicOutput::~AtomicOutput() { Abandon(); }
AtomicOutput::AtomicOutput(AtomicOutput&& o) noexcept
    : fd_(o.fd_),
      slot_(o.slot_),
      pos_(o.pos_),
      overwrite_(o.overwrite_),
      path_(o.path_),
      temp_(o.temp_) {
  o.fd_ = -1;
  o.slot_ = -1;
  o.temp_.clear();
}
AtomicOutput& AtomicOutput::operator=(AtomicOutput&& o) noexcept {
  if (this != &o) {
    Abandon();
    fd_ = o.fd_;
    slot_ = o.slot_;
    pos_ = o.pos_;
    overwrite_ = o.overwrite_;
    path_ = o.path_;
    temp_ = o.temp_;
    o.fd_ = -1;
    o.slot_ = -1;
    o.temp_.clear();
  }
  return *this;
}

Result<AtomicOutput> AtomicOutput::Create(const std::string& path, bool overwrite, unsigned mode) {
  // Commands that stream (unpack, open) handle "-" and devices before they get here.
  if (path == "-" || path.empty())
    return Status(Code::Usage,
                  "-o '" + path + "': this command writes a file, not to stdout; give a file name");
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))  // never rename over /dev/null
    return Status(Code::Usage, path + ": not a regular file; give the name of a file to write");
  if (!overwrite && FileExists(path))
    return Status(Code::OutputExists, path + ": exists; pass --force to replace it");
  AtomicOutput out;
  out.path_ = path;
  out.overwrite_ = overwrite;
  std::string tmpl = TemporaryTemplate(path);
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  out.fd_ = mkostemp(buf.data(), O_CLOEXEC);
  if (out.fd_ < 0)
    return Status(Code::IoWrite,
                  path + ": cannot create a temporary file in " + DirOf(path) + ": " + Errno());
  out.temp_ = buf.data();
  out.slot_ = RegisterTemporary(out.temp_);
  if (fchmod(out.fd_, mode) != 0) return Status(Code::IoWrite, out.temp_ + ": " + Errno());
  return out;
}

Status AtomicOutput::Write(const void* p, size_t n) {
  CAPSULE_RETURN_IF_ERROR(WriteAt(pos_, p, n));
  pos_ += n;
  return Status::Ok();
}

Status AtomicOutput::WriteAt(uint64_t offset, const void* p, size_t n) {
  const auto* c = static_cast<const uint8_t*>(p);
  while (n) {
    ssize_t w = pwrite(fd_, c, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status(Code::IoWrite, path_ + ": write failed: " + Errno());
    }
    c += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status AtomicOutput::ReadAt(uint64_t offset, void* p, size_t n) const {
  auto* c = static_cast<uint8_t*>(p);
  while (n) {
    ssize_t r = pread(fd_, c, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status(Code::IoRead, temp_ + ": read back failed: " + Errno());
    c += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status AtomicOutput::Commit() {
  if (fd_ < 0) return Status(Code::Internal, path_ + ": output already closed");
  if (close(fd_) != 0) {
    fd_ = -1;
    return Status(Code::IoWrite, path_ + ": close failed: " + Errno());
  }
  fd_ = -1;
  int rc;
  if (overwrite_) {
    rc = rename(temp_.c_str(), path_.c_str());
  } else {
    // link() fails with EEXIST instead of replacing: no window where an existing file is lost.
    rc = link(temp_.c_str(), path_.c_str());
    if (rc == 0) unlink(temp_.c_str());
  }
  if (rc != 0) {
    Status s = errno == EEXIST ? Status(Code::OutputExists, path_ + ": exists; pass --force")
                               : Status(Code::IoRename, path_ + ": " + Errno());
    unlink(temp_.c_str());
    temp_.clear();
    UnregisterTemporary(std::exchange(slot_, -1));
    return s;
  }
  temp_.clear();
  UnregisterTemporary(std::exchange(slot_, -1));
  return Status::Ok();
}

void AtomicOutput::Abandon() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temp_.empty()) unlink(temp_.c_str());
  temp_.clear();
  UnregisterTemporary(std::exchange(slot_, -1));
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
bool FileExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Status CheckOutputIsNoInput(const std::string& output, const std::vector<std::string>& inputs,
                            const std::vector<std::string>& input_dirs) {
  if (output.empty() || output == "-") return Status::Ok();
  for (const auto& in : inputs) {
    if (in.empty() || in == "-") continue;
    if (SameFile(output, in))
      return Status(Code::SameInputOutput, output + ": is " + in +
                                               ", which this command reads; "
                                               "write the output elsewhere");
  }
  if (input_dirs.empty()) return Status::Ok();
  // The directory the output would be created in, resolved (the file itself may not exist).
  char* parent = realpath(DirOf(output).c_str(), nullptr);
  if (!parent) return Status::Ok();  // creating the output will report it
  const std::string where = parent;
  free(parent);
  for (const auto& d : input_dirs) {
    if (d.empty()) continue;
    char* r = realpath(d.c_str(), nullptr);
    if (!r) continue;
    const std::string dir = r;
    free(r);
    if (where == dir || where.compare(0, dir.size() + 1, dir + "/") == 0)
      return Status(Code::SameInputOutput, output + ": is inside " + d +
                                               ", which this command reads; write the output "
                                               "elsewhere");
  }
  return Status::Ok();
}

namespace {
bool stdout_was_closed = false;
}

void ReserveStandardDescriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == STDOUT_FILENO) stdout_was_closed = true;
    // open() returns the lowest free number: this one (the lower ones are open by now). A closed
    // stdout becomes /dev/full, where every write fails: a report written to it is not lost in
    // silence (FinishStdout says so).
    int got = -1;
    if (fd == STDOUT_FILENO) got = open("/dev/full", O_WRONLY);
    if (got < 0) got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got >= 0 && got != fd) close(got);
  }
}

Status StdoutUsable() {
  return stdout_was_closed ? Status(Code::IoWrite, "stdout: closed (-o - has nowhere to go)")
                           : Status::Ok();
}

int FinishStdout(int rc, std::string_view tool) {
  // stdio alone (std::cout writes through stdout while synchronised with stdio, as the CLIs
  // leave it): no <iostream> here, whose static initialiser every start-up would pay for.
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  if (!failed) return rc;
  const int err = errno;
  std::string why = stdout_was_closed ? std::string("closed")
                    : err == EPIPE    ? std::string("the reader closed the pipe")
                    : err != 0        ? std::string("write failed: ") + strerror(err)
                                      : std::string("write failed");
  std::fprintf(stderr, "%.*s: stdout: %s; the report written there is lost [io-write]\n",
               static_cast<int>(tool.size()), tool.data(), why.c_str());
  return rc == 0 ? ExitCode(Code::IoWrite) : rc;
}

std::string TemporaryTemplate(const std::string& path) {
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  // "." + base + ".tmp-XXXXXX" must fit a file name (NAME_MAX, 255 bytes) when `path` does:
  // a long base is cut, on a UTF-8 character boundary.
  constexpr size_t kExtra = 12, kNameMax = 255;
  if (base.size() + kExtra > kNameMax) {
    size_t keep = kNameMax - kExtra;
    while (keep > 0 && (static_cast<unsigned char>(base[keep]) & 0xC0) == 0x80) --keep;
    base.resize(keep);
  }
  return DirOf(path) + "/." + base + ".tmp-XXXXXX";
}

Status WriteStdout(const void* p, size_t n, size_t* written) {
  if (written) *written = 0;
  CAPSULE_RETURN_IF_ERROR(StdoutUsable());
  const auto* c = static_cast<const uint8_t*>(p);
  while (n) {
    ssize_t w = write(STDOUT_FILENO, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EPIPE)
      return Status(Code::IoWrite, "stdout: the reader closed the pipe; the output is truncated");
    if (w <= 0) return Status(Code::IoWrite, "stdout: write failed: " + Errno());
    c += w;
    n -= static_cast<size_t>(w);
    if (written) *written += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status MakeDirs(const std::string& dir, unsigned mode) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (mkdir(part.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return Status(Code::IoWrite, part + ": cannot create the directory: " + std::strerror(errno));
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status(Code::IoOpen, dir + ": not a directory");
  return Status::Ok();
}

}  // namespace capsule::format
