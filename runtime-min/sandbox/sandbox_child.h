// The sandbox child's entry point (`capsule-sandbox`, started by RunSandboxed with the channel
// on fd 3). Kept in the library so the executable's main() is one line.
#pragma once

namespace capsule::runtime {

// Reads the limits from fd 3, locks itself down (rlimits, seccomp), then reads the module, runs
// it with every host call forwarded to the parent, reports the outcome and returns the exit code.
int SandboxChildMain();

}  // namespace capsule::runtime
