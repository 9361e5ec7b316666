// RunSandboxed: the parent side of the sandbox (docs/sandbox.md).
//
// The child is started with posix_spawn — glibc's clone(CLONE_VM|CLONE_VFORK) + execve, i.e.
// fork + exec without copying this process — so it begins as a fresh image of `capsule-sandbox`
// and never holds a byte of this process's memory (where the content key lives, DESIGN §9.14).
// Its fds are exactly: 0/1 → /dev/null, 2 → /dev/null (inherited stderr in the ASan build),
// 3 → its end of an AF_UNIX socketpair, 4 → the shared window (a sealed memfd, which it maps and
// closes); its environment is empty.
//
// Invariants:
//  - The parent never parses the module: the child runs CheckModule under seccomp. (The runtime
//    calls CheckModule itself earlier, before it unwraps the key.)
//  - Every rule that protects the user is applied here, by a DirectAbiHost: output cap, payload
//    gate, log sanitisation. The child is only trusted to run the interpreter.
//  - The parent never blocks without a deadline: the socket is non-blocking and every wait is a
//    poll() bounded by wall_ms + grace (extended by the time spent in WriteOutput). When the
//    deadline passes the child is killed.
//  - The window is the child's to scribble on at any time: the parent copies plaintext into it
//    for a read, and hands a range of it to the output once for a write; it never checks bytes
//    there and then uses them again. It holds only what the guest was given or wrote.
//  - Every exit path kills (if needed) and reaps the child and closes the socket and the window
//    (ChildProcess's destructor): no zombies, no leaked fds or mappings. The socket uses
//    send(MSG_NOSIGNAL), so a dead child cannot raise SIGPIPE in the runtime.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "runtime-min/sandbox/host_abi.h"
#include "runtime-min/sandbox/sandbox.h"
#include "runtime-min/sandbox/sandbox_wire.h"

namespace capsule::runtime {
namespace {

using Clock = std::chrono::steady_clock;

enum class Io { kOk, kClosed, kTimeout, kError };

int MillisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count() + 1, INT32_MAX));
}

Io WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    int ms = MillisUntil(deadline);
    if (ms == 0) return Io::kTimeout;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, ms);
    if (r > 0) return Io::kOk;  // ready, or HUP/ERR: the next read/send says which
    if (r == 0) continue;       // re-check the clock
    if (errno != EINTR) return Io::kError;
  }
}

Io ReadFull(int fd, void* buf, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r > 0) {
      p += r, n -= static_cast<size_t>(r);
    } else if (r == 0) {
      return Io::kClosed;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Io w = WaitFor(fd, POLLIN, deadline);
      if (w != Io::kOk) return w;
    } else if (errno == ECONNRESET) {
      return Io::kClosed;
    } else if (errno != EINTR) {
      return Io::kError;
    }
  }
  return Io::kOk;
}

Io WriteFull(int fd, const void* buf, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<const uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r >= 0) {
      p += r, n -= static_cast<size_t>(r);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Io w = WaitFor(fd, POLLOUT, deadline);
      if (w != Io::kOk) return w;
    } else if (errno == EPIPE || errno == ECONNRESET) {
      return Io::kClosed;
    } else if (errno != EINTR) {
      return Io::kError;
    }
  }
  return Io::kOk;
}

const uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

Status Crashed(std::string detail) { return Status(Code::SandboxCrashed, std::move(detail)); }

// How far a chunk_size answer looks for chunks of the same size (a bound on the parent's work
// per request; 4,096 chunks of 64 KiB are 256 MiB).
constexpr int64_t kSizeRunMax = 4096;

// The child process and our end of its socket. The destructor always leaves nothing behind.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap();
    }
    if (fd_ >= 0) close(fd_);
    if (pidfd_ >= 0) close(pidfd_);
    if (window_ != nullptr) {
      WipeWindow();
      munmap(window_, wire::kWindowBytes);
    }
  }

  // The last chunks and output the guest saw (WipeTouchedPages: zeroing the whole window
  // created its untouched pages first, ~400 page faults, 1–2 ms at the end of every session).
  void WipeWindow() { WipeTouchedPages(window_, wire::kWindowBytes); }

  Status Spawn(const std::string& binary) {
    // The window: sealed at its size, so neither side can shrink it under the other's mapping
    // (which would turn an access into SIGBUS).
    int window_fd = memfd_create("capsule-sandbox-window", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (window_fd < 0)
      return Crashed(std::string("cannot create the sandbox window: ") + strerror(errno));
    // Above 4 for the same reason as child_fd below.
    int high = fcntl(window_fd, F_DUPFD_CLOEXEC, 10);
    close(window_fd);
    window_fd = high;
    if (window_fd < 0 || ftruncate(window_fd, wire::kWindowBytes) != 0 ||
        fcntl(window_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      const int err = errno;
      if (window_fd >= 0) close(window_fd);
      if (err == EFBIG) {  // a memfd's size counts against RLIMIT_FSIZE like a file's
        return Status(Code::IoWrite, "cannot create the sandbox's " +
                                         std::to_string(wire::kWindowBytes >> 20) +
                                         " MiB shared window: " + strerror(err) +
                                         " (the file-size limit, ulimit -f, is below it)");
      }
      return Crashed(std::string("cannot set up the sandbox window: ") + strerror(err));
    }
    void* map = mmap(nullptr, wire::kWindowBytes, PROT_READ | PROT_WRITE, MAP_SHARED, window_fd, 0);
    if (map == MAP_FAILED) {
      std::string why = strerror(errno);
      close(window_fd);
      return Crashed("cannot map the sandbox window: " + why);
    }
    window_ = static_cast<uint8_t*>(map);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return Crashed(std::string("cannot create the sandbox channel: ") + strerror(errno));
    }
    fd_ = sv[0];
    // Above 3 so that dup2(child_fd, 3) in the child never meets itself (dup2 onto itself would
    // keep FD_CLOEXEC and the exec would close it).
    int child_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    if (child_fd < 0) {
      close(window_fd);
      return Crashed(std::string("cannot set up the channel: ") + strerror(errno));
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (!wire::kAsanBuild) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, child_fd, wire::kChildFd);
    posix_spawn_file_actions_adddup2(&actions, window_fd, wire::kWindowFd);
    posix_spawn_file_actions_addclosefrom_np(&actions, wire::kWindowFd + 1);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char* argv[] = {const_cast<char*>("capsule-sandbox"), nullptr};
    char* envp[] = {nullptr};
    pid_t pid = -1;
    int err = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(child_fd);
    close(window_fd);  // the mapping stays
    if (err != 0) {
      return Status(Code::IoOpen, "cannot start the sandbox " + binary + ": " + strerror(err));
    }
    pid_ = pid;
    // glibc 2.36's <sys/pidfd.h> lacks extern "C"; the raw call is the same thing. It fails
    // before Linux 5.3, and ReapAfterEof then falls back to short bounded waits.
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd_ >= 0) fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
    int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
      return Crashed(std::string("cannot set up the channel: ") + strerror(errno));
    }
    return Status::Ok();
  }

  int fd() const { return fd_; }
  uint8_t* window() const { return window_; }

  void Kill() {
    if (pid_ > 0) kill(pid_, SIGKILL);
  }

  // Waits for the child to end (the caller has seen EOF or killed it).
  void Reap() {
    if (pid_ <= 0) return;
    for (;;) {
      pid_t r = wait4(pid_, &status_, 0, &usage_);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
    }
    pid_ = -1;
  }

  // After EOF on the socket: a dead child, or one that closed fd 3 and lives on. Kill it if it
  // does not exit within `grace`.
  void ReapAfterEof(std::chrono::milliseconds grace) {
    auto deadline = Clock::now() + grace;
    while (pid_ > 0) {
      pid_t r = wait4(pid_, &status_, WNOHANG, &usage_);
      if (r == pid_) {
        pid_ = -1;
        return;
      }
      if (r < 0 && errno != EINTR) return;
      if (Clock::now() >= deadline) {
        Kill();
        Reap();
        return;
      }
      if (pidfd_ >= 0) {
        WaitFor(pidfd_, POLLIN, deadline);  // readable once the child has exited
      } else {
        poll(nullptr, 0, 5);  // kernels without pidfd_open: a short bounded wait
      }
    }
  }

  // Why a child that did not report an outcome ended.
  Status Classify(uint32_t wall_ms) const {
    if (WIFEXITED(status_)) {
      int code = WEXITSTATUS(status_);
      if (code == wire::kExitMemoryLimit) {
        return Status(Code::SandboxMemoryLimit,
                      "the sandbox ran out of its address-space limit (RLIMIT_AS)");
      }
      if (code == wire::kExitSetup) {
        return Crashed("the sandbox could not install its resource limits or seccomp filter");
      }
      return Crashed("the sandbox exited with status " + std::to_string(code) +
                     " without reporting an outcome");
    }
    if (WIFSIGNALED(status_)) {
      int sig = WTERMSIG(status_);
      double cpu = static_cast<double>(usage_.ru_utime.tv_sec + usage_.ru_stime.tv_sec) +
                   (usage_.ru_utime.tv_usec + usage_.ru_stime.tv_usec) / 1e6;
      if (sig == SIGXCPU ||
          (sig == SIGKILL && cpu >= static_cast<double>(wire::CpuLimitSeconds(wall_ms)))) {
        return Status(Code::SandboxTimeLimit, "the sandbox hit its CPU-time limit (RLIMIT_CPU)");
      }
      if (sig == SIGSYS) {
        return Crashed("the sandbox was killed by its seccomp filter (a forbidden system call)");
      }
      return Crashed(std::string("the sandbox was killed by signal ") + std::to_string(sig) + " (" +
                     strsignal(sig) + ")");
    }
    return Crashed("the sandbox ended in an unknown way");
  }

  int exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int pidfd_ = -1;
  uint8_t* window_ = nullptr;  // kWindowBytes, shared with the child
  int status_ = 0;
  rusage usage_{};
};

// Codes a child may report. Anything else means it is confused or compromised.
bool ChildMayReport(Code code) {
  switch (code) {
    case Code::Ok:
    case Code::ModuleInvalid:
    case Code::ModuleForbiddenImport:
    case Code::ModuleMemoryUnbounded:
    case Code::ModuleTableTooLarge:
    case Code::ModuleFeatureRefused:
    case Code::ModuleBadExports:
    case Code::SandboxTrap:
    case Code::SandboxInstructionLimit:
    case Code::SandboxTimeLimit:
    case Code::SandboxMemoryLimit:
    case Code::SandboxOutputLimit:
    case Code::Internal:
      return true;
    default:
      return false;
  }
}

// Start and the module. kClosed is left to the caller: the child may have refused the module
// (its Done is then in the socket).
Io SendStart(ChildProcess& child, std::string_view module, const SandboxLimits& limits,
             Clock::time_point deadline) {
  wire::Start start{wire::kMagic,
                    wire::kVersion,
                    limits.max_instructions,
                    limits.wall_ms,
                    limits.max_memory_bytes,
                    limits.max_table_elements,
                    static_cast<uint32_t>(getpid()),
                    module.size(),
                    wire::kWindowBytes,
                    0};
  Io io = WriteFull(child.fd(), &start, sizeof start, deadline);
  return io == Io::kOk ? WriteFull(child.fd(), module.data(), module.size(), deadline) : io;
}

class Session {
 public:
  Session(ChildProcess& child, SessionHost& host, const SandboxLimits& limits,
          std::optional<uint64_t>* executed)
      : child_(child), host_(host), abi_(host, limits), limits_(limits), executed_(executed) {}

  // Start and the module (unless `started`: SendStart did it before), then Go, then the
  // session's requests until Done.
  Result<SandboxResult> Run(std::string_view module, bool started) {
    deadline_ = Clock::now() + std::chrono::milliseconds(limits_.wall_ms) +
                std::chrono::milliseconds(wire::GraceMs(limits_.wall_ms));
    if (!started) {
      Io io = SendStart(child_, module, limits_, deadline_);
      if (io != Io::kOk && io != Io::kClosed) return IoFailure(io);
    }
    // A child that refused the module has reported it and exited without waiting for Go: a
    // closed socket here is not the outcome; the Done waiting in it is.
    wire::Go go{};
    go.magic = wire::kGoMagic;
    go.max_output_bytes = limits_.max_output_bytes;
    std::string_view terms;
    if (host_.AnswersAhead()) AnswerAhead(&go, &terms);
    Io io = WriteFull(child_.fd(), &go, sizeof go, deadline_);
    if (io == Io::kOk && !terms.empty())
      io = WriteFull(child_.fd(), terms.data(), terms.size(), deadline_);
    if (io != Io::kOk && io != Io::kClosed) return IoFailure(io);
    for (;;) {
      wire::Request request;
      CAPSULE_RETURN_IF_ERROR(Receive(&request, sizeof request));
      // The guest's output so far goes out first, so it keeps its place among the effects.
      if (request.pending > 0) {
        bool split = request.op == wire::kOutputWrite && request.d != 0;
        CAPSULE_RETURN_IF_ERROR(WriteOut(request.pending, split ? request.d : request.pending));
      }
      if (request.op == wire::kDone) return Finish(request);
      CAPSULE_RETURN_IF_ERROR(Serve(request));
    }
  }

 private:
  // Non-OK when the session must end: the child is killed and reaped first.
  Status Fail(Status status) {
    child_.Kill();
    child_.Reap();
    return status;
  }
  Status IoFailure(Io io) {
    if (io == Io::kTimeout) {
      return Fail(Status(Code::SandboxTimeLimit, "the sandbox did not finish within " +
                                                     std::to_string(limits_.wall_ms) +
                                                     " ms (+ grace); it was killed"));
    }
    if (io == Io::kClosed) {
      child_.ReapAfterEof(std::chrono::milliseconds(2000));
      return child_.Classify(limits_.wall_ms);
    }
    return Fail(Crashed(std::string("the sandbox channel failed: ") + strerror(errno)));
  }
  Status Send(const void* data, size_t n) {
    Io io = WriteFull(child_.fd(), data, n, deadline_);
    return io == Io::kOk ? Status::Ok() : IoFailure(io);
  }
  Status Receive(void* data, size_t n) {
    Io io = ReadFull(child_.fd(), data, n, deadline_);
    return io == Io::kOk ? Status::Ok() : IoFailure(io);
  }
  Status Violation(const std::string& what) {
    return Fail(Crashed("the sandbox broke the protocol: " + what));
  }
  Status Reply(int32_t result, int64_t value = 0) {
    wire::Reply reply{result, blocked_us_, value};
    blocked_us_ = 0;
    return Send(&reply, sizeof reply);
  }
  uint8_t* ReadArea() { return child_.window(); }
  const uint8_t* OutputArea() { return child_.window() + wire::kReadAreaBytes; }
  // A read's answer: the data goes to the read area, the count on the socket.
  Status ReplyData(int32_t result, std::string_view data, int64_t value = 0) {
    if (!data.empty()) memcpy(ReadArea(), data.data(), data.size());
    return Reply(result, value);
  }
  // A host Status that ends the session.
  Status Checked(Status status) { return status.ok() ? status : Fail(std::move(status)); }

  // The answers Go carries (sandbox_wire.h): each computed as the request would be served, so
  // the child's answer is the one it would have got by asking. A host error is not raised
  // here — the guest may never make that call; the answer is left out and the call asks.
  void AnswerAhead(wire::Go* go, std::string_view* terms) {
    go->flags = wire::kGoAnswers;
    for (uint32_t b = 0; b < 3; ++b) {
      int32_t n = 0;
      go->blob_size[b] = abi_.BlobSize(static_cast<Blob>(b), &n).ok() ? n : wire::kUnanswered;
    }
    const int32_t terms_size = go->blob_size[static_cast<uint32_t>(Blob::kTerms)];
    if (terms_size >= 0 && static_cast<uint32_t>(terms_size) <= wire::kGoTermsMax) {
      int32_t n = 0;
      if (abi_.BlobView(Blob::kTerms, 0, static_cast<uint32_t>(terms_size), terms, &n).ok() &&
          n == terms_size) {
        go->terms_bytes = static_cast<uint32_t>(terms_size);
      } else {
        *terms = {};
      }
    }
    int32_t n = 0;
    go->chunk_count = abi_.ChunkCount(&n).ok() ? n : wire::kUnanswered;
    go->chunk0_size = abi_.ChunkSize(0, &n).ok() ? n : wire::kUnanswered;
    go->chunk0_run = go->chunk0_size > 0 ? SameSizeRun(0, go->chunk0_size) : 0;
    go->chunk0_read = 0;
    std::string_view part;
    if (go->chunk0_size > 0 && static_cast<uint32_t>(go->chunk0_size) <= wire::kReadAreaBytes &&
        abi_.ChunkView(0, 0, static_cast<uint32_t>(go->chunk0_size), &part, &n).ok() &&
        n == go->chunk0_size && part.size() == static_cast<size_t>(n)) {
      memcpy(ReadArea(), part.data(), part.size());
      go->chunk0_read = n;
      ahead_ramp_ = 1;  // as after a first whole-chunk read
    }
  }

  // `len` bytes of the output area, of a guest write of `whole` bytes (the cap is checked
  // against `whole` first, so a write that passes the cap writes nothing, as in process).
  Status WriteOut(uint32_t len, uint64_t whole) {
    // The guest's memory is at most max_memory_bytes, so a longer write is a lie.
    if (len > wire::kOutputAreaBytes || len > whole || whole > limits_.max_memory_bytes) {
      return Violation("oversized write");
    }
    CAPSULE_RETURN_IF_ERROR(Checked(abi_.CheckOutputRoom(whole)));
    int32_t out = 0;
    auto start = Clock::now();
    Status status = abi_.OutputWrite(OutputArea(), len, &out);
    auto spent = Clock::now() - start;
    deadline_ += spent;  // time blocked on output is not the guest's
    blocked_us_ += static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(spent).count(), UINT32_MAX / 2));
    return Checked(std::move(status));
  }

  // Whole chunks index+1, … of `size` bytes that follow chunk `index` in the read area (which
  // already holds it): as many as fit, up to the first chunk of another size or one the host
  // cannot serve. That one is not an error here: the guest meets it when it asks for it.
  // The amount ramps up (0, 1, 3, 7, … chunks), so the first reads — and the first byte of
  // output, which leaves with the next request — do not wait for a megabyte to be decrypted.
  int64_t ReadAhead(uint32_t index, uint32_t size) {
    int32_t count = 0;
    if (!abi_.ChunkCount(&count).ok() || count <= 0) return 0;
    const int64_t most = ahead_ramp_;
    ahead_ramp_ = std::min<int64_t>(2 * ahead_ramp_ + 1, wire::kReadAreaBytes);
    int64_t ahead = 0;
    for (uint64_t j = uint64_t{index} + 1; ahead < most && j < static_cast<uint64_t>(count) &&
                                           (ahead + 2) * uint64_t{size} <= wire::kReadAreaBytes;
         ++j, ++ahead) {
      int32_t n = 0;
      std::string_view part;
      if (!abi_.ChunkSize(static_cast<uint32_t>(j), &n).ok() || n != static_cast<int32_t>(size))
        break;
      if (!abi_.ChunkView(static_cast<uint32_t>(j), 0, size, &part, &n).ok() || part.size() != size)
        break;
      memcpy(ReadArea() + (ahead + 1) * uint64_t{size}, part.data(), size);
    }
    return ahead;
  }
  // How many chunks after `index` have its size (bounded: the scan runs for every request).
  int64_t SameSizeRun(uint32_t index, int32_t size) {
    int32_t count = 0;
    if (size <= 0 || !abi_.ChunkCount(&count).ok()) return 0;
    int64_t run = 0;
    for (uint64_t j = uint64_t{index} + 1; j < static_cast<uint64_t>(count) && run < kSizeRunMax;
         ++j, ++run) {
      int32_t n = 0;
      if (!abi_.ChunkSize(static_cast<uint32_t>(j), &n).ok() || n != size) break;
    }
    return run;
  }

  Status Serve(const wire::Request& r) {
    int32_t out = 0;
    std::string_view part;
    switch (r.op) {
      case wire::kBlobSize:
        if (r.a > static_cast<uint32_t>(Blob::kPreview)) return Violation("unknown object");
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.BlobSize(static_cast<Blob>(r.a), &out)));
        return Reply(out);
      case wire::kBlobRead:
        if (r.a > static_cast<uint32_t>(Blob::kPreview)) return Violation("unknown object");
        if (r.c > wire::kReadAreaBytes) return Violation("a read larger than the read area");
        CAPSULE_RETURN_IF_ERROR(
            Checked(abi_.BlobView(static_cast<Blob>(r.a), r.b, r.c, &part, &out)));
        return ReplyData(out, part);
      case wire::kChunkCount:
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.ChunkCount(&out)));
        return Reply(out);
      case wire::kChunkSize:
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.ChunkSize(r.a, &out)));
        return Reply(out, host_.AnswersAhead() ? SameSizeRun(r.a, out) : 0);
      case wire::kChunkRead: {
        if (r.c > wire::kReadAreaBytes) return Violation("a read larger than the read area");
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.ChunkView(r.a, r.b, r.c, &part, &out)));
        if (!part.empty()) memcpy(ReadArea(), part.data(), part.size());
        int32_t size = 0;
        bool whole = out > 0 && r.b == 0 && abi_.ChunkSize(r.a, &size).ok() && size == out;
        // A host that lists calls as the guest makes them gets none ahead (the chunk itself
        // stays for the guest's further reads of it, as DirectAbiHost keeps it in process).
        if (!whole) return Reply(out, -1);
        return Reply(out, host_.AnswersAhead() ? ReadAhead(r.a, static_cast<uint32_t>(out)) : 0);
      }
      case wire::kOutputWrite:  // the pending output, written by Run(), was the point
        return Reply(0);
      case wire::kClockNowMs: {
        int64_t now = 0;
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.ClockNowMs(&now)));
        return Reply(0, now);
      }
      case wire::kLog:
        if (r.c > kMaxLogLineBytes) return Violation("oversized log line");
        buffer_.resize(r.c);
        CAPSULE_RETURN_IF_ERROR(Receive(buffer_.data(), buffer_.size()));
        CAPSULE_RETURN_IF_ERROR(Checked(abi_.Log(r.a, Bytes(buffer_), r.c)));
        return Reply(0);
      default:
        return Violation("unknown request " + std::to_string(r.op));
    }
  }

  Result<SandboxResult> Finish(const wire::Request& done) {
    if (done.c > wire::kMaxDetailBytes) return Violation("oversized detail");
    std::string detail(done.c, '\0');
    CAPSULE_RETURN_IF_ERROR(Receive(detail.data(), detail.size()));
    size_t count = 0;
    const Code* codes = AllCodes(&count);
    if (done.a >= count || !ChildMayReport(codes[done.a])) {
      return Violation("unknown outcome " + std::to_string(done.a));
    }
    Code code = codes[done.a];
    // Let the child exit by itself, so that a sanitizer report at exit is not lost.
    child_.ReapAfterEof(std::chrono::milliseconds(2000));
    int st = child_.exit_status();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != wire::kExitOk) {
      return child_.Classify(limits_.wall_ms);
    }
    if (executed_) *executed_ = done.d;  // the child's own count (a diagnostic, not a limit)
    if (code != Code::Ok) return Status(code, Printable(detail, wire::kMaxDetailBytes));
    SandboxResult result;
    result.logic_code = static_cast<int32_t>(done.b);
    result.outcome =
        result.logic_code == 0 ? SandboxOutcome::kCompleted : SandboxOutcome::kRefusedByLogic;
    result.instructions = done.d;
    result.output_bytes = abi_.output_bytes();
    return result;
  }

  ChildProcess& child_;
  SessionHost& host_;
  DirectAbiHost abi_;
  SandboxLimits limits_;
  Clock::time_point deadline_;
  uint32_t blocked_us_ = 0;  // spent writing output since the last reply
  int64_t ahead_ramp_ = 0;   // chunks the next read-ahead may bring
  std::string buffer_;
  std::optional<uint64_t>* executed_;
};

class Spawned final : public SpawnedSandbox {
 public:
  ChildProcess child;
  bool started = false;  // Start and the module sent (PrepareSandbox)
  SandboxLimits limits;  // those sent
  size_t module_size = 0;
};

bool SameStartLimits(const SandboxLimits& a, const SandboxLimits& b) {
  return a.max_instructions == b.max_instructions && a.wall_ms == b.wall_ms &&
         a.max_memory_bytes == b.max_memory_bytes && a.max_table_elements == b.max_table_elements;
}

Status CheckModuleSize(std::string_view module_bytes) {
  if (module_bytes.size() <= kMaxModuleBytes) return Status::Ok();
  return Status(Code::ModuleInvalid, "the module is " + std::to_string(module_bytes.size()) +
                                         " bytes; the sandbox accepts at most " +
                                         std::to_string(kMaxModuleBytes));
}

}  // namespace

void WipeTouchedPages(uint8_t* p, size_t n) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((n + page - 1) / page);
  if (mincore(p, n, resident.data()) != 0) {
    explicit_bzero(p, n);  // cannot tell: all of it
    return;
  }
  for (size_t i = 0; i < resident.size(); ++i)
    if (resident[i] & 1) explicit_bzero(p + i * page, std::min(page, n - i * page));
}

Result<std::unique_ptr<SpawnedSandbox>> SpawnSandbox(const std::string& sandbox_binary) {
  auto spawned = std::make_unique<Spawned>();
  CAPSULE_RETURN_IF_ERROR(spawned->child.Spawn(sandbox_binary));
  return std::unique_ptr<SpawnedSandbox>(std::move(spawned));
}

Result<SandboxResult> RunSandboxed(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits,
                                   std::unique_ptr<SpawnedSandbox> spawned,
                                   std::optional<uint64_t>* executed) {
  if (executed) executed->reset();
  CAPSULE_RETURN_IF_ERROR(CheckModuleSize(module_bytes));
  auto* s = dynamic_cast<Spawned*>(spawned.get());
  if (s == nullptr) return Status(Code::Internal, "RunSandboxed: no spawned sandbox child");
  if (s->started && (!SameStartLimits(s->limits, limits) || s->module_size != module_bytes.size()))
    return Status(Code::Internal, "RunSandboxed: the child was prepared for other limits or code");
  Session session(s->child, host, limits, executed);
  return session.Run(module_bytes, s->started);
}

Status PrepareSandbox(SpawnedSandbox& spawned, std::string_view module_bytes,
                      const SandboxLimits& limits) {
  CAPSULE_RETURN_IF_ERROR(CheckModuleSize(module_bytes));
  auto* s = dynamic_cast<Spawned*>(&spawned);
  if (s == nullptr || s->started)
    return Status(Code::Internal, "PrepareSandbox: not a fresh child");
  auto deadline = Clock::now() + std::chrono::milliseconds(limits.wall_ms) +
                  std::chrono::milliseconds(wire::GraceMs(limits.wall_ms));
  Io io = SendStart(s->child, module_bytes, limits, deadline);
  if (io == Io::kTimeout || io == Io::kError) {
    return Crashed("the sandbox did not take its module: " +
                   std::string(io == Io::kTimeout ? "timed out" : strerror(errno)));
  }
  s->started = true;  // kClosed too: the session reads what the child said
  s->limits = limits;
  s->module_size = module_bytes.size();
  return Status::Ok();
}

Result<SandboxResult> RunSandboxed(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits, const std::string& sandbox_binary,
                                   std::optional<uint64_t>* executed) {
  if (executed) executed->reset();
  CAPSULE_RETURN_IF_ERROR(CheckModuleSize(module_bytes));
  CAPSULE_ASSIGN_OR_RETURN(std::unique_ptr<SpawnedSandbox> spawned, SpawnSandbox(sandbox_binary));
  return RunSandboxed(module_bytes, host, limits, std::move(spawned), executed);
}

}  // namespace capsule::runtime
