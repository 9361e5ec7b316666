// The sandbox child (docs/sandbox.md). Order matters:
//   1. check that fd 3 is a socket (else this binary was started by hand: usage error);
//   2. die with the parent (PR_SET_PDEATHSIG), turn allocation failure into a distinct exit code;
//   3. read the fixed-size Start message (limits and module size);
//   4. map the shared window (fd 4) and close its fd; set rlimits and install the seccomp filter —
//      before a byte of the module is read, so the wabt reader, validator and interpreter all run
//      confined;
//   5. read the module, run it (wasm_run.cc) with every host call forwarded to the parent, send
//      the outcome, exit.
// Invariant: this process never holds the content key. It is exec'd fresh (never a bare fork of
// the runtime), with an empty environment, and it asks the parent for plaintext chunk by chunk.
// A broken channel means the parent is gone or misbehaving: the child exits at once.
#include "runtime-min/sandbox/sandbox_child.h"

#include <errno.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <initializer_list>
#include <new>
#include <string>

#include "runtime-min/sandbox/host_abi.h"
#include "runtime-min/sandbox/sandbox_wire.h"
#include "runtime-min/sandbox/wasm_run.h"

namespace capsule::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFd = wire::kChildFd;

// Address space the child may use besides guest memory: the binary and its libraries, the
// stack, malloc overhead, wabt's module description and the interpreter's stacks (the value
// stack alone may reach ~107 MB in one slice before it is checked; see wasm_run.h).
constexpr uint64_t kBaseAddressSpace = 320ull << 20;
// The sanitizer build lets the child hold a few pipe fds (see InstallSeccomp).
constexpr int kAsanMaxFds = 8;

[[noreturn]] void ChannelBroken() { _exit(wire::kExitChannel); }

void ReadExact(void* buf, size_t n) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = read(kFd, p, n);
    if (r > 0) {
      p += r, n -= static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      ChannelBroken();
    }
  }
}

void WriteExact(const void* buf, size_t n) {
  auto* p = static_cast<const uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = write(kFd, p, n);
    if (r > 0) {
      p += r, n -= static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      ChannelBroken();
    }
  }
}

// Forwards every host call to the parent, which applies the capsule_v1 rules (DirectAbiHost).
// Guest pointers were checked by the glue; the parent never sends more than was asked for.
// Round trips are what costs (sandbox_wire.h), so this proxy makes few, and the guest sees the
// same results as in process:
//  - writes collect in the output area and go out with the next request (any request: output
//    keeps its place among the guest's effects); a write that would pass the output cap is sent
//    on its own, after what came before it, so the parent refuses exactly that write;
//  - a whole-chunk read brings the following chunks of that size (read-ahead), served from the
//    read area until a read it does not cover;
//  - chunk_size answers come with how many following chunks share the size.
// Reads and writes longer than an area are split into area-sized pieces.
class PipeAbiHost final : public AbiHost {
 public:
  explicit PipeAbiHost(uint8_t* window)
      : read_area_(window), output_area_(window + wire::kReadAreaBytes) {}
  void set_max_output_bytes(uint64_t n) { max_output_bytes_ = n; }

  // The answers Go carried (sandbox_wire.h), and the terms that followed it.
  void TakeAnswers(const wire::Go& go, std::string terms) {
    if (!(go.flags & wire::kGoAnswers)) return;
    for (int b = 0; b < 3; ++b) blob_size_[b] = go.blob_size[b];
    if (go.terms_bytes > 0) {
      terms_ = std::move(terms);
      have_terms_ = true;
    }
    chunk_count_ = go.chunk_count;
    if (go.chunk0_size > 0 && go.chunk0_run >= 0 && go.chunk0_run < UINT32_MAX) {
      size_first_ = 0, size_run_ = static_cast<uint32_t>(go.chunk0_run), size_ = go.chunk0_size;
    }
    if (go.chunk0_read > 0 && go.chunk0_read == go.chunk0_size &&
        static_cast<uint32_t>(go.chunk0_read) <= wire::kReadAreaBytes) {
      ahead_first_ = 0, ahead_count_ = 0, ahead_size_ = static_cast<uint32_t>(go.chunk0_read);
    }
  }

  Status BlobSize(Blob blob, int32_t* out) override {
    const auto b = static_cast<uint32_t>(blob);
    if (b < 3 && blob_size_[b] != wire::kUnanswered) {
      *out = blob_size_[b];
      return Status::Ok();
    }
    *out = Call({wire::kBlobSize, b, 0, 0, 0}).result;
    return Status::Ok();
  }
  Status BlobRead(Blob blob, uint32_t offset, uint8_t* dst, uint32_t len, int32_t* out) override {
    if (blob == Blob::kTerms && have_terms_) {  // by the parent's rule, as chunks ahead are
      std::string_view part;
      *out = AbiPart(terms_, offset, len, &part);
      if (!part.empty()) memcpy(dst, part.data(), part.size());
      return Status::Ok();
    }
    *out = CallRead({wire::kBlobRead, static_cast<uint32_t>(blob), offset, len, 0}, dst, len);
    return Status::Ok();
  }
  Status ChunkCount(int32_t* out) override {
    if (chunk_count_ != wire::kUnanswered) {
      *out = chunk_count_;
      return Status::Ok();
    }
    *out = Call({wire::kChunkCount, 0, 0, 0, 0}).result;
    return Status::Ok();
  }
  Status ChunkSize(uint32_t index, int32_t* out) override {
    if (size_ > 0 && index >= size_first_ && index - size_first_ <= size_run_) {
      *out = size_;
      return Status::Ok();
    }
    wire::Reply reply = Call({wire::kChunkSize, index, 0, 0, 0});
    *out = reply.result;
    if (reply.result > 0 && reply.value >= 0 && reply.value < UINT32_MAX) {
      size_first_ = index, size_run_ = static_cast<uint32_t>(reply.value), size_ = reply.result;
    }
    return Status::Ok();
  }
  Status ChunkRead(uint32_t index, uint32_t offset, uint8_t* dst, uint32_t len,
                   int32_t* out) override {
    if (ahead_size_ > 0 && index >= ahead_first_ && index - ahead_first_ <= ahead_count_) {
      // Served from the read area, by the parent's rule.
      std::string_view chunk(
          reinterpret_cast<const char*>(read_area_) + uint64_t{index - ahead_first_} * ahead_size_,
          ahead_size_);
      std::string_view part;
      *out = AbiPart(chunk, offset, len, &part);
      if (!part.empty()) memcpy(dst, part.data(), part.size());
      return Status::Ok();
    }
    wire::Reply reply;
    *out = CallRead({wire::kChunkRead, index, offset, len, 0}, dst, len, &reply);
    if (reply.result > 0 && reply.value >= 0 &&
        (static_cast<uint64_t>(reply.value) + 1) * static_cast<uint32_t>(reply.result) <=
            wire::kReadAreaBytes) {
      ahead_first_ = index, ahead_count_ = static_cast<uint32_t>(reply.value);
      ahead_size_ = static_cast<uint32_t>(reply.result);
    }
    return Status::Ok();
  }
  Status OutputWrite(const uint8_t* src, uint32_t len, int32_t* out) override {
    *out = 0;  // also for len == 0, as in process
    if (len == 0) return Status::Ok();
    const bool passes_cap = PassesOutputCap(accepted_, len, max_output_bytes_);
    if (!passes_cap && len <= wire::kOutputAreaBytes - pending_) {
      memcpy(output_area_ + pending_, src, len);  // goes out with the next request
      pending_ += len, accepted_ += len;
      *out = static_cast<int32_t>(len);
      return Status::Ok();
    }
    if (pending_ > 0) Call({wire::kOutputWrite, 0, 0, 0, 0});  // what came before, first
    if (!passes_cap && len <= wire::kOutputAreaBytes) {
      memcpy(output_area_, src, len);
      pending_ = len, accepted_ += len;
      *out = static_cast<int32_t>(len);
      return Status::Ok();
    }
    // Longer than the area, or past the cap (the parent then ends the session): in pieces, each
    // with what is left of the write, so the parent checks the whole write before the first.
    for (uint32_t done = 0; done < len;) {
      uint32_t piece = std::min(len - done, wire::kOutputAreaBytes);
      memcpy(output_area_, src + done, piece);
      pending_ = piece;
      Call({wire::kOutputWrite, 0, 0, 0, len - done});
      done += piece, accepted_ += piece;
    }
    *out = static_cast<int32_t>(len);
    return Status::Ok();
  }
  Status ClockNowMs(int64_t* out) override {
    *out = Call({wire::kClockNowMs, 0, 0, 0, 0}).value;
    return Status::Ok();
  }
  Status Log(uint32_t level, const uint8_t* msg, uint32_t len) override {
    Call({wire::kLog, level, 0, len, 0}, msg, len);
    return Status::Ok();
  }
  std::chrono::nanoseconds blocked() const override { return blocked_; }

  // The Done message; it carries the output still pending.
  void SendDone(wire::Request done, const std::string& detail) {
    done.pending = pending_;
    WriteExact(&done, sizeof done);
    WriteExact(detail.data(), detail.size());
  }

 private:
  wire::Reply Call(wire::Request request, const uint8_t* payload = nullptr, uint32_t len = 0) {
    request.pending = pending_;
    WriteExact(&request, sizeof request);
    if (len > 0) WriteExact(payload, len);
    wire::Reply reply;
    ReadExact(&reply, sizeof reply);
    pending_ = 0;
    blocked_ += std::chrono::microseconds(reply.blocked_us);
    return reply;
  }
  // A read in area-sized pieces; a piece that comes back short is the end of the object.
  int32_t CallRead(wire::Request request, uint8_t* dst, uint32_t len,
                   wire::Reply* first = nullptr) {
    const uint32_t offset = request.b;
    uint32_t done = 0;
    ahead_size_ = 0;  // the area is about to be reused
    for (;;) {
      uint32_t piece = std::min(len - done, wire::kReadAreaBytes);
      request.b = offset + done;
      request.c = piece;
      wire::Reply reply = Call(request);
      if (first != nullptr && done == 0) *first = reply;
      if (reply.result < 0) return done > 0 ? static_cast<int32_t>(done) : reply.result;
      if (static_cast<uint32_t>(reply.result) > piece) ChannelBroken();
      memcpy(dst + done, read_area_, static_cast<uint32_t>(reply.result));
      done += static_cast<uint32_t>(reply.result);
      if (static_cast<uint32_t>(reply.result) < piece || done == len) {
        if (first != nullptr && done != static_cast<uint32_t>(first->result)) first->value = -1;
        return static_cast<int32_t>(done);
      }
    }
  }

  uint8_t* read_area_;
  uint8_t* output_area_;
  // Answers given ahead with Go (kUnanswered: ask).
  int32_t blob_size_[3] = {wire::kUnanswered, wire::kUnanswered, wire::kUnanswered};
  int32_t chunk_count_ = wire::kUnanswered;
  std::string terms_;
  bool have_terms_ = false;
  uint64_t max_output_bytes_ = 0;  // from Go
  uint64_t accepted_ = 0;          // output bytes taken from the guest, pending ones included
  uint32_t pending_ = 0;           // bytes waiting at the start of the output area
  // Chunks ahead_first_ … ahead_first_ + ahead_count_, each ahead_size_ bytes, in the read area.
  uint32_t ahead_first_ = 0, ahead_count_ = 0, ahead_size_ = 0;
  // Chunks size_first_ … size_first_ + size_run_ are size_ bytes each (0: none known).
  uint32_t size_first_ = 0, size_run_ = 0;
  int32_t size_ = 0;
  std::chrono::nanoseconds blocked_{0};
};

bool SetLimit(int resource, rlim_t soft, rlim_t hard) {
  rlimit limit{soft, hard};
  return setrlimit(resource, &limit) == 0;
}

bool ApplyRlimits(const wire::Start& start) {
  rlim_t cpu = wire::CpuLimitSeconds(start.wall_ms);
  rlim_t max_fds = wire::kAsanBuild ? kAsanMaxFds : kFd + 1;
  bool ok = SetLimit(RLIMIT_CPU, cpu, cpu + 1) &&         // SIGXCPU, then SIGKILL a second later
            SetLimit(RLIMIT_NOFILE, max_fds, max_fds) &&  // fds 0–3 only; no new ones
            SetLimit(RLIMIT_FSIZE, 0, 0) && SetLimit(RLIMIT_NPROC, 0, 0) &&
            SetLimit(RLIMIT_CORE, 0, 0) && SetLimit(RLIMIT_MEMLOCK, 0, 0);
  if (!wire::kAsanBuild) {
    rlim_t as = kBaseAddressSpace + 2ull * start.max_memory_bytes + 3ull * start.module_size;
    ok = ok && SetLimit(RLIMIT_AS, as, as);
  }
  return ok && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
}

scmp_arg_cmp Arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp cmp;
  cmp.arg = index;
  cmp.op = op;
  cmp.datum_a = a;
  cmp.datum_b = b;
  return cmp;
}

// The system calls the interpreter needs once set up (docs/sandbox.md §4); anything else kills
// the process (SIGSYS). No open, no socket, no fork/clone, no exec, no ptrace, no PROT_EXEC.
bool InstallSeccomp() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) return false;
  bool ok = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0;
  auto allow = [&](int nr, std::initializer_list<scmp_arg_cmp> args = {}) {
    ok = ok && seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(args.size()),
                                      args.begin()) == 0;
  };
  const scmp_arg_cmp no_exec = Arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  allow(SCMP_SYS(read), {Arg(0, SCMP_CMP_EQ, kFd)});
  allow(SCMP_SYS(write), {Arg(0, SCMP_CMP_EQ, kFd)});
  allow(SCMP_SYS(brk));
  allow(SCMP_SYS(mmap), {no_exec});
  allow(SCMP_SYS(mprotect), {no_exec});
  allow(SCMP_SYS(munmap));
  allow(SCMP_SYS(mremap));
  allow(SCMP_SYS(madvise));
  allow(SCMP_SYS(clock_gettime));  // normally answered by the vDSO without a system call
  allow(SCMP_SYS(futex));
  allow(SCMP_SYS(rt_sigreturn));
  allow(SCMP_SYS(exit));
  allow(SCMP_SYS(exit_group));
  // abort() (a failed check in wabt or libstdc++) raises SIGABRT on itself.
  allow(SCMP_SYS(rt_sigprocmask));
  allow(SCMP_SYS(getpid));
  allow(SCMP_SYS(gettid));
  allow(SCMP_SYS(tgkill), {Arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid()))});
  if (wire::kAsanBuild) {
    // Sanitizer reports go to the inherited stderr. UBSan's vptr check probes memory by
    // writing it into a fresh pipe (sanitizer_common IsAccessibleMemoryRange). docs/sandbox.md §5.
    allow(SCMP_SYS(write), {Arg(0, SCMP_CMP_EQ, 2)});
    for (int fd = kFd + 1; fd < kAsanMaxFds; ++fd) {
      allow(SCMP_SYS(write), {Arg(0, SCMP_CMP_EQ, fd)});
    }
    allow(SCMP_SYS(pipe2));
    allow(SCMP_SYS(close));
  }
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// Maps the window the parent passed as fd 4 (a memfd sealed at kWindowBytes) and closes the fd,
// so that the process again holds fds 0–3 only. nullptr when it is not what the parent sends.
uint8_t* MapWindow() {
  struct stat st;
  if (fstat(wire::kWindowFd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size != static_cast<off_t>(wire::kWindowBytes)) {
    return nullptr;
  }
  void* map =
      mmap(nullptr, wire::kWindowBytes, PROT_READ | PROT_WRITE, MAP_SHARED, wire::kWindowFd, 0);
  close(wire::kWindowFd);
  return map == MAP_FAILED ? nullptr : static_cast<uint8_t*>(map);
}

}  // namespace

int SandboxChildMain() {
  struct stat st;
  if (fstat(kFd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    static const char kUsage[] =
        "capsule-sandbox: runs capsule logic for capsule-run; it is not started by hand\n";
    ssize_t ignored = write(2, kUsage, sizeof kUsage - 1);
    (void)ignored;
    return wire::kExitUsage;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return wire::kExitSetup;
  std::set_new_handler([] { _exit(wire::kExitMemoryLimit); });

  wire::Start start;
  ReadExact(&start, sizeof start);
  if (start.magic != wire::kMagic || start.version != wire::kVersion ||
      start.module_size > kMaxModuleBytes) {
    return wire::kExitChannel;
  }
  if (getppid() != static_cast<pid_t>(start.parent_pid)) return wire::kExitChannel;
  if (start.window_bytes != wire::kWindowBytes) return wire::kExitChannel;
  uint8_t* window = MapWindow();
  if (window == nullptr) return wire::kExitSetup;
  if (!ApplyRlimits(start) || !InstallSeccomp()) return wire::kExitSetup;

  std::string module(start.module_size, '\0');
  ReadExact(module.data(), module.size());
  SandboxLimits limits;
  limits.max_instructions = start.max_instructions;
  limits.wall_ms = start.wall_ms;
  limits.max_memory_bytes = start.max_memory_bytes;
  limits.max_table_elements = start.max_table_elements;
  PipeAbiHost abi(window);  // the output cap is enforced by the parent
  // Checked and instantiated: wait for the session (the parent may still be checking the
  // licence; nothing of the guest has run).
  auto wait_for_go = [&abi]() -> Status {
    wire::Go go;
    ReadExact(&go, sizeof go);
    if (go.magic != wire::kGoMagic || go.terms_bytes > wire::kGoTermsMax) ChannelBroken();
    abi.set_max_output_bytes(go.max_output_bytes);
    std::string terms(go.terms_bytes, '\0');
    ReadExact(terms.data(), terms.size());
    abi.TakeAnswers(go, std::move(terms));
    return Status::Ok();
  };
  uint64_t executed = 0;
  Result<RunStats> run = RunModule(module, abi, limits, wait_for_go, &executed);

  std::string detail = run.ok() ? "" : run.status().detail();
  detail.resize(std::min<size_t>(detail.size(), wire::kMaxDetailBytes));
  wire::Request done{wire::kDone, static_cast<uint32_t>(run.status().code()),
                     run.ok() ? static_cast<uint32_t>(run->logic_code) : 0u,
                     static_cast<uint32_t>(detail.size()), executed};
  abi.SendDone(done, detail);
  return wire::kExitOk;
}

}  // namespace capsule::runtime
