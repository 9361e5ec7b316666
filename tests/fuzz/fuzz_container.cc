// Fuzz target: the whole capsule reader (section walk, layout, signature section, hashes,
// signature check, manifest, index) and the payload stream (check_payload = true).
#include <cstddef>
#include <cstdint>

#include "format/container.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static capsule_fuzz::ScratchFile file("container", ".capsule.wasm");
  if (!file.Write(data, size)) return 0;
  capsule::format::VerifyOptions opts;
  opts.check_payload = true;
  auto c = capsule::format::OpenCapsule(file.path(), opts);
  (void)c.ok();
  return 0;
}
