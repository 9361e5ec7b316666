// The wabt side of the sandbox: reading and checking a module, and running `capsule_run` under
// an instruction budget and a wall clock. Used by RunInProcess (with a DirectAbiHost) and by
// the sandbox child (with the socket proxy). No wabt types in this header.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "capsule/status.h"
#include "runtime-min/sandbox/host_abi.h"
#include "runtime-min/sandbox/sandbox.h"

namespace capsule::runtime {

// Interpreter instructions per Thread::Run slice. Between slices the run checks the budget, the
// wall clock, the memory size and the value stack. Small enough that one slice of the costliest
// instructions (memory.fill/copy over a 64 MiB memory, a few ms each) stays within seconds;
// large enough that the per-slice cost (a RefPtr and a clock read) is under 1 %.
inline constexpr int kSliceInstructions = 1000;
// Values on the interpreter's value stack (16 bytes each) before the run ends with
// sandbox-memory-limit. wabt 1.0.32 grows this stack without bound (locals, operands).
inline constexpr uint64_t kMaxValueStackValues = 1u << 20;
// Parameters + locals of one function. wabt allocates all of a function's locals with one
// instruction, so this bounds how far one slice can overshoot the value-stack check: wabt's call
// stack holds 1638 frames, × 4096 locals × 16 bytes ≈ 107 MB worst case.
inline constexpr uint64_t kMaxFunctionLocals = 4096;

struct RunStats {
  int32_t logic_code = 0;     // capsule_run's return value
  uint64_t instructions = 0;  // executed, counted per slice (the last slice in full)
};

// CheckModule's checks, then instantiate and run (a start function first, then capsule_run).
// `before_run`, when given, is called between instantiation and the start function (the
// sandbox child waits there for its session); the guest clock then starts after it, otherwise
// at instantiation. Time `abi` spent blocked on output is not counted. `executed`, when given,
// gets the instructions run also when the run fails (a trap, a limit): 0 when nothing ran.
Result<RunStats> RunModule(std::string_view module_bytes, AbiHost& abi, const SandboxLimits& limits,
                           const std::function<Status()>& before_run = nullptr,
                           uint64_t* executed = nullptr);

}  // namespace capsule::runtime
