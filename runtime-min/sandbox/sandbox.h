// The sandbox for capsule logic (DESIGN §3.11): wabt's interpreter, run in a child process
// (fork + exec of `capsule-sandbox`) with resource limits and a seccomp filter, talking to the
// runtime over a socket and a shared-memory window (sandbox_wire.h). The runtime (parent) keeps the
// content key and serves decrypted chunks on request; the child never sees K. This header is the
// boundary: it uses only the standard library and the public status header, so C++20 runtime code
// can include it while the wabt code behind it stays C++17.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "capsule/status.h"

namespace capsule::runtime {

struct SandboxLimits {
  uint64_t max_instructions = 4'000'000'000;  // wabt interpreter instructions
  uint32_t wall_ms = 30'000;                  // guest time, excluding time blocked on output
  uint32_t max_memory_bytes = 64u << 20;      // declared memory maximum cap
  uint32_t max_table_elements = 10'000;
  uint64_t max_output_bytes = 0;  // set by the runtime: content size + slack
};

// What the guest's host calls are answered with. Implemented by the runtime in the parent.
// Methods never throw; an error Status ends the session (the guest sees a trap).
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual std::string_view Manifest() = 0;  // canonical JSON bytes
  virtual std::string_view Terms() = 0;     // canonical JSON of this session's terms
  virtual uint32_t ChunkCount() = 0;        // 0 when the payload is not granted (preview mode)
  virtual uint32_t ChunkSize(uint32_t index) = 0;  // plaintext length
  // The verified, decrypted plaintext of chunk `index`, in the host's buffer: valid until the
  // next ReadChunk (no copy on the way to the guest).
  virtual Status ReadChunk(uint32_t index, std::string_view* plain) = 0;
  virtual std::string_view Preview() = 0;  // empty when none
  virtual Status WriteOutput(std::string_view bytes) = 0;
  virtual int64_t NowMs() = 0;
  virtual void Log(uint32_t level, std::string_view sanitized) = 0;  // control sequences stripped
  // Whether the sandbox may answer calls before the guest makes them (docs/sandbox.md §3: the
  // answers with Go, chunks read ahead, same-size runs of chunk sizes): false when every call
  // must be answered as the guest makes it (`capsule-run test --trace` lists them).
  virtual bool AnswersAhead() { return true; }
};

enum class SandboxOutcome { kCompleted, kRefusedByLogic };
struct SandboxResult {
  SandboxOutcome outcome = SandboxOutcome::kCompleted;
  int32_t logic_code = 0;     // capsule_run's return value
  uint64_t instructions = 0;  // executed
  uint64_t output_bytes = 0;
};

// Static checks before anything runs: valid module (wabt reader + validator), imports only from
// `capsule_v1` with the ABI's exact signatures, one memory with a maximum ≤ the cap, tables
// bounded and ≤ the cap, no threads / multi-memory / reference types / exceptions / SIMD, and
// exports `memory` and `capsule_run: () -> i32`. Codes: ModuleInvalid, ModuleForbiddenImport,
// ModuleMemoryUnbounded, ModuleTableTooLarge, ModuleFeatureRefused, ModuleBadExports.
Status CheckModule(std::string_view module_bytes, const SandboxLimits& limits);

// Whether a module that passed CheckModule uses none of the features beyond the MVP and mutable
// globals that the sandbox also allows (sign extension, saturating float-to-int, multi-value,
// bulk memory): `capsulec logic build` then optimises it as MVP, so that its bytes do not
// depend on whether Binaryen may use those features.
bool ModuleIsMvp(std::string_view module_bytes);

// Runs `capsule_run` in a child process started from `sandbox_binary`. Errors: the Check codes
// (re-checked in the child), SandboxTrap, SandboxInstructionLimit, SandboxTimeLimit,
// SandboxMemoryLimit, SandboxOutputLimit, SandboxCrashed, or the host's own Status.
// `executed`, when given, gets the instructions the guest ran whenever the child reported its
// end itself — also a trap or the instruction, memory or wall-clock limit, which the Result does
// not carry — and stays empty when the parent stopped it (the grace deadline past the wall
// clock, a crash, the output cap) or the session never began.
Result<SandboxResult> RunSandboxed(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits, const std::string& sandbox_binary,
                                   std::optional<uint64_t>* executed = nullptr);

// A child started ahead of its session, so that its exec and loading overlap the caller's
// checks; it waits for the session's first message. Destroying it unused kills and reaps it.
class SpawnedSandbox {
 public:
  virtual ~SpawnedSandbox() = default;
};
// Errors: IoOpen (the binary is missing or not executable), SandboxCrashed.
Result<std::unique_ptr<SpawnedSandbox>> SpawnSandbox(const std::string& sandbox_binary);
// Sends the module and the limits (all but max_output_bytes) to a spawned child, which reads,
// checks and instantiates the module while the caller goes on; nothing of the guest runs before
// RunSandboxed, which must then get the same module and limits. Errors: SandboxCrashed.
Status PrepareSandbox(SpawnedSandbox& spawned, std::string_view module_bytes,
                      const SandboxLimits& limits);
// RunSandboxed with a child from SpawnSandbox (consumed: one session per child).
Result<SandboxResult> RunSandboxed(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits,
                                   std::unique_ptr<SpawnedSandbox> spawned,
                                   std::optional<uint64_t>* executed = nullptr);

// Zeroes the pages of [p, p + n) — a page-aligned shared mapping such as the window — that
// hold anything, without creating the others: a page of shared memory comes into being at its
// first touch by any process that maps it, and mincore lists them. All of it when mincore
// cannot tell.
void WipeTouchedPages(uint8_t* p, size_t n);

// Same, in this process (used by the child itself and by tests of the interpreter glue).
Result<SandboxResult> RunInProcess(std::string_view module_bytes, SessionHost& host,
                                   const SandboxLimits& limits);

}  // namespace capsule::runtime
