// The host side of `capsule_v1` (docs/spec/host-abi.md), split from the interpreter so the same
// rules hold whether the guest runs in this process or in the sandbox child:
//
//   guest ─► interpreter glue (interp.cc: guest-memory bounds checks, clamps)
//          ─► AbiHost ─► DirectAbiHost (these rules) ─► SessionHost (the runtime)
//
// In a sandboxed run the child's AbiHost is a proxy over the socket (child.cc) and the parent
// answers every request with a DirectAbiHost (sandboxed.cc), so every rule that protects the
// user — the output cap, log sanitisation, the payload gate — is enforced in the parent, never
// trusted to the child. No wabt types here: tests (C++20) include this header.
//
// Invariants: nothing here throws or traps on guest input; a bad request becomes a negative
// CAPSULE_E_* result, and a non-OK Status means "end the session with this outcome".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "capsule/status.h"
#include "runtime-min/sandbox/sandbox.h"

namespace capsule::runtime {

// CAPSULE_E_* (templates/capsule_v1.h).
inline constexpr int32_t kAbiBounds = -1;
inline constexpr int32_t kAbiRange = -2;
inline constexpr int32_t kAbiDenied = -3;
inline constexpr int32_t kAbiLimit = -4;  // reserved; this host ends the session instead

// Log limits (docs/spec/host-abi.md §2.7): a line keeps at most the first kMaxLogLineBytes bytes
// the guest passed; after kMaxLogLines lines one notice is emitted and the rest are dropped.
inline constexpr uint32_t kMaxLogLineBytes = 1024;
inline constexpr uint32_t kMaxLogLines = 1000;
inline constexpr uint32_t kMaxLogLevel = 2;  // CAPSULE_LOG_ERROR; higher levels are clamped

// Module bytes the sandbox accepts at all (larger → module-invalid). Bounds parser work and the
// child's address-space limit.
inline constexpr uint64_t kMaxModuleBytes = 64ull << 20;

enum class Blob : uint32_t { kManifest = 0, kTerms = 1, kPreview = 2 };

// The part of a blob or chunk a read gets: the min(len, size − offset) bytes of `object` from
// `offset` (the count), or RANGE past its end. The one rule, also for the sandbox child's
// read-ahead.
int32_t AbiPart(std::string_view object, uint32_t offset, uint32_t len, std::string_view* part);
// Whether `len` more output bytes after `so_far` would pass `cap` (the output cap's one rule).
inline bool PassesOutputCap(uint64_t so_far, uint64_t len, uint64_t cap) {
  return len > cap || so_far > cap - len;
}

// What the guest's host calls reach after the glue has checked guest pointers. `dst`/`src` point
// into guest memory and `len` is already inside it (and ≤ INT32_MAX). i32 results go to *out:
// a count ≥ 0 or a CAPSULE_E_* code. A non-OK Status ends the session (the guest traps and the
// run reports that Status).
class AbiHost {
 public:
  virtual ~AbiHost() = default;
  virtual Status BlobSize(Blob blob, int32_t* out) = 0;
  virtual Status BlobRead(Blob blob, uint32_t offset, uint8_t* dst, uint32_t len, int32_t* out) = 0;
  virtual Status ChunkCount(int32_t* out) = 0;
  virtual Status ChunkSize(uint32_t index, int32_t* out) = 0;
  virtual Status ChunkRead(uint32_t index, uint32_t offset, uint8_t* dst, uint32_t len,
                           int32_t* out) = 0;
  virtual Status OutputWrite(const uint8_t* src, uint32_t len, int32_t* out) = 0;
  virtual Status ClockNowMs(int64_t* out) = 0;
  virtual Status Log(uint32_t level, const uint8_t* msg, uint32_t len) = 0;
  // Time spent blocked on output so far; it does not count against wall_ms.
  virtual std::chrono::nanoseconds blocked() const = 0;
};

// The rules of docs/spec/host-abi.md over a SessionHost. Payload calls answer CAPSULE_E_DENIED
// when host.ChunkCount() is 0 (preview mode). The last chunk read is cached, so a guest reading a
// chunk in pieces costs one ReadChunk.
class DirectAbiHost final : public AbiHost {
 public:
  DirectAbiHost(SessionHost& host, const SandboxLimits& limits);
  ~DirectAbiHost() override;
  DirectAbiHost(const DirectAbiHost&) = delete;
  DirectAbiHost& operator=(const DirectAbiHost&) = delete;

  Status BlobSize(Blob blob, int32_t* out) override;
  Status BlobRead(Blob blob, uint32_t offset, uint8_t* dst, uint32_t len, int32_t* out) override;
  Status ChunkCount(int32_t* out) override;
  Status ChunkSize(uint32_t index, int32_t* out) override;
  Status ChunkRead(uint32_t index, uint32_t offset, uint8_t* dst, uint32_t len,
                   int32_t* out) override;
  Status OutputWrite(const uint8_t* src, uint32_t len, int32_t* out) override;
  Status ClockNowMs(int64_t* out) override;
  Status Log(uint32_t level, const uint8_t* msg, uint32_t len) override;
  std::chrono::nanoseconds blocked() const override { return blocked_; }

  uint64_t output_bytes() const { return output_bytes_; }
  // SandboxOutputLimit when `len` more bytes would pass the output cap. OutputWrite checks its
  // own length; the sandbox parent also checks a whole guest write before its first piece.
  Status CheckOutputRoom(uint64_t len) const;

  // The *_read calls without the copy: *part is what BlobRead/ChunkRead would copy (valid until
  // the next call). The sandbox parent copies it into the shared window.
  Status BlobView(Blob blob, uint32_t offset, uint32_t len, std::string_view* part, int32_t* out);
  Status ChunkView(uint32_t index, uint32_t offset, uint32_t len, std::string_view* part,
                   int32_t* out);

 private:
  std::string_view BlobOf(Blob blob);

  SessionHost& host_;
  uint64_t max_output_bytes_;
  uint64_t output_bytes_ = 0;
  uint32_t log_lines_ = 0;
  std::chrono::nanoseconds blocked_{0};
  bool have_cached_chunk_ = false;
  uint32_t cached_index_ = 0;
  std::string_view cached_chunk_;  // in the SessionHost's buffer
};

// Text the guest logs, made safe for a terminal: ESC sequences (CSI `ESC [ … final`, OSC
// `ESC ] … BEL|ST`, DCS/SOS/PM/APC `… ST`, two-byte `ESC x`) are removed whole; every other
// C0 control (0x00–0x1F except TAB), DEL, C1 control (U+0080–U+009F) and Unicode bidi control
// (U+202A–U+202E, U+2066–U+2069) is removed; bytes that are not well-formed UTF-8 become '?'.
std::string SanitizeLogText(std::string_view raw);

// `text` for an error detail: printable ASCII kept, anything else as \xNN, at most `max` bytes of
// input (module-chosen names and wabt messages end up on the user's terminal).
std::string Printable(std::string_view text, size_t max = 200);

}  // namespace capsule::runtime
