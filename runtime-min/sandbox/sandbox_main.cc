// `capsule-sandbox`: the child process that runs capsule logic (docs/sandbox.md). Started only
// by RunSandboxed with the channel on fd 3; started by hand it prints a note and exits 2.
#include "runtime-min/sandbox/sandbox_child.h"
#include "runtime-min/sandbox/sandbox_wire.h"

#if CAPSULE_ASAN_BUILD
// LeakSanitizer needs ptrace and threads at exit, which the seccomp filter forbids; a leak in a
// process that ends right after would not matter anyway. The environment is empty, so the
// options are compiled in.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

int main() { return capsule::runtime::SandboxChildMain(); }
