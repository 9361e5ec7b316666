// The protocol between the runtime (parent) and `capsule-sandbox` (child), over one AF_UNIX
// stream socket that the child holds as fd 3 (docs/sandbox.md §3). Both ends are built from the
// same tree and run on the same machine, so messages are fixed-layout structs in native byte
// order; the version in Start guards against a mismatched installed binary.
//
//   parent → child   Start, then the module bytes
//   child → parent   Request (+ payload for output_write / log / done)
//   parent → child   Reply (+ data for the *_read calls), one per request except kDone
//
// The parent trusts nothing the child says: every length is checked against the limits before
// anything is allocated, and an unknown op or an oversized payload kills the child.
#pragma once

#include <cstdint>

namespace capsule::runtime::wire {

inline constexpr int kChildFd = 3;
inline constexpr uint32_t kMagic = 0x31425343;  // "CSB1"
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kMaxDetailBytes = 512;

// The parent's own guard fires at wall_ms + GraceMs(wall_ms) (plus time it spent writing
// output): the child enforces wall_ms itself and normally reports first; the grace covers exec,
// parsing and the child's last slice. RLIMIT_CPU is set from the same sum.
inline constexpr uint64_t GraceMs(uint32_t wall_ms) { return 2000 + wall_ms / 4; }
inline constexpr uint64_t CpuLimitSeconds(uint32_t wall_ms) {
  return (wall_ms + GraceMs(wall_ms)) / 1000 + 2;
}

// ASan reserves terabytes of address space and needs a few more system calls: the sanitizer
// build relaxes RLIMIT_AS and the seccomp list (docs/sandbox.md §5).
#if defined(__SANITIZE_ADDRESS__)
#define CAPSULE_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CAPSULE_ASAN_BUILD 1
#endif
#endif
#ifndef CAPSULE_ASAN_BUILD
#define CAPSULE_ASAN_BUILD 0
#endif
inline constexpr bool kAsanBuild = CAPSULE_ASAN_BUILD == 1;

// Child exit codes (anything else, or a signal, is sandbox-crashed).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;         // not started by a runtime
inline constexpr int kExitChannel = 3;       // the socket broke or spoke nonsense
inline constexpr int kExitSetup = 4;         // rlimits or seccomp could not be installed
inline constexpr int kExitMemoryLimit = 86;  // operator new failed (RLIMIT_AS)

struct Start {
  uint32_t magic;
  uint32_t version;
  uint64_t max_instructions;
  uint32_t wall_ms;
  uint32_t max_memory_bytes;
  uint32_t max_table_elements;
  uint32_t parent_pid;
  uint64_t module_size;
};

enum Op : uint32_t {
  kBlobSize = 1,  // a = Blob
  kBlobRead,      // a = Blob, b = offset, c = len → Reply + data
  kChunkCount,
  kChunkSize,    // a = index
  kChunkRead,    // a = index, b = offset, c = len → Reply + data
  kOutputWrite,  // c = len, then len bytes
  kClockNowMs,   // → Reply.value
  kLog,          // a = level, c = len (≤ kMaxLogLineBytes), then len bytes
  kDone,         // a = Code, b = logic_code, c = detail len, d = instructions; then detail
};

struct Request {
  uint32_t op;
  uint32_t a;
  uint32_t b;
  uint32_t c;
  uint64_t d;
};

struct Reply {
  int32_t result;  // count ≥ 0 or CAPSULE_E_*; for reads, the number of data bytes following
  uint32_t reserved;
  int64_t value;  // clock_now_ms
};

}  // namespace capsule::runtime::wire
