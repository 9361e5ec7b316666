// The protocol between the runtime (parent) and `capsule-sandbox` (child), over one AF_UNIX
// stream socket that the child holds as fd 3, and a shared-memory window, a sealed memfd that it
// receives as fd 4, maps and closes (docs/sandbox.md §3). Both ends are built from the same tree
// and run on the same machine, so messages are fixed-layout structs in native byte order; the
// version in Start guards against a mismatched installed binary.
//
//   parent → child   Start, then the module bytes (possibly well before the session: the child
//                    reads, checks and instantiates the module meanwhile)
//   parent → child   Go: the session begins (the guest's start function and capsule_run run);
//                    it carries answers given ahead, then the terms bytes (below)
//   child → parent   Request (+ payload for log / done)
//   parent → child   Reply, one per request except kDone
//
// Bulk data crosses through the window, not the socket, and round trips are few, because on
// these machines a round trip (two wake-ups) costs more than copying 64 KiB:
//  - the read area holds a read's data; a whole-chunk read also brings the following chunks of
//    the same size that fit (read-ahead), which the child then serves without asking;
//  - the output area collects the guest's writes; every request carries the number of bytes
//    waiting there, and the parent writes them out before it serves the request (so output and
//    every other effect stay in the guest's order);
//  - a chunk_size answer also says how many following chunks have the same size;
//  - Go answers ahead what nearly every guest asks first: the three blob sizes, the terms (sent
//    right after Go when ≤ kGoTermsMax bytes), the chunk count, chunk 0's size and same-size
//    run, and chunk 0 itself in the read area — so the guest's start needs no round trip. The
//    parent computes each answer as it would answer the request; one it cannot give (a host
//    error) is left unanswered (kUnanswered), and the guest's call then asks as usual.
// The window is shared with a process that may be compromised: the parent reads a range of it
// once (straight into write(2)) and never checks bytes in it and then uses them again.
//
// The parent trusts nothing the child says: every length is checked against the limits before
// anything is allocated, and an unknown op or an oversized payload kills the child.
#pragma once

#include <climits>
#include <cstdint>

namespace capsule::runtime::wire {

inline constexpr int kChildFd = 3;
inline constexpr int kWindowFd = 4;                     // closed by the child once mapped
inline constexpr uint32_t kReadAreaBytes = 1u << 20;    // window[0, 1 MiB)
inline constexpr uint32_t kOutputAreaBytes = 1u << 20;  // window[1 MiB, 2 MiB)
inline constexpr uint32_t kWindowBytes = kReadAreaBytes + kOutputAreaBytes;
inline constexpr uint32_t kMagic = 0x31425343;  // "CSB1"
inline constexpr uint32_t kVersion = 4;
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
  uint32_t window_bytes;  // the size of the memfd at fd 4 (kWindowBytes)
  uint32_t reserved = 0;
};

// Sent when the session starts; until then the child waits with the module instantiated.
inline constexpr uint32_t kGoMagic = 0x474f4f47;   // "GOOG"
inline constexpr int32_t kUnanswered = INT32_MIN;  // not a result any call can have
inline constexpr uint32_t kGoTermsMax = 64u << 10;
inline constexpr uint32_t kGoAnswers = 1;  // Go.flags: the answers below are given
struct Go {
  uint32_t magic;
  uint32_t flags;             // kGoAnswers, or 0: every call asks (capsule-run test --trace)
  uint64_t max_output_bytes;  // so the child sends a write that passes the cap on its own
  int32_t blob_size[3];       // BlobSize of manifest, terms, preview (or kUnanswered)
  uint32_t terms_bytes;       // the terms, whole, follow Go on the socket (0: not sent)
  int32_t chunk_count;        // ChunkCount
  int32_t chunk0_size;        // ChunkSize(0)
  int64_t chunk0_run;         // its same-size run (as a kChunkSize reply's value)
  int32_t chunk0_read;        // > 0: chunk 0, whole (this many bytes), is in the read area
  uint32_t reserved = 0;
};
static_assert(sizeof(Go) == 56, "Go is a fixed-layout message");

enum Op : uint32_t {
  kBlobSize = 1,  // a = Blob
  kBlobRead,      // a = Blob, b = offset, c = len ≤ read area → Reply, data in the read area
  kChunkCount,
  kChunkSize,    // a = index → Reply, value = how many chunks after it have the same size
  kChunkRead,    // a = index, b = offset, c = len ≤ read area → Reply, data in the read area;
                 // value = how many whole chunks of the same size follow it there when the read
                 // was the whole chunk, else −1
  kOutputWrite,  // only the pending output (below); d = bytes left of the guest's write, from
                 // this piece on (the output cap is checked against it before the first piece)
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
  uint32_t pending = 0;  // bytes waiting in the output area: written out before the op is served
  uint32_t reserved = 0;
};

struct Reply {
  int32_t result;       // count ≥ 0 or CAPSULE_E_*; for reads, the bytes in the read area
  uint32_t blocked_us;  // time the parent spent writing the pending output (not guest time)
  int64_t value;        // clock_now_ms; the read-ahead and same-size counts
};

}  // namespace capsule::runtime::wire
