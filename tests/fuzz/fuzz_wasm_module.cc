// Fuzz target: the sandbox's static module checks (wabt reader + validator + the ABI rules)
// that every capsule's logic goes through before anything runs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime-min/sandbox/sandbox.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  capsule::runtime::SandboxLimits limits;
  auto s = capsule::runtime::CheckModule(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  (void)s.ok();
  return 0;
}
