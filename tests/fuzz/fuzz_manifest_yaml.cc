// Fuzz target: manifest.yaml (yaml-cpp + the authored-manifest checks).
#include <cstddef>
#include <cstdint>
#include <string>

#include "packager/manifest_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // yaml-cpp recurses per nesting level; bound the input like a real manifest (a few KB).
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = capsule::packager::ParseManifestYaml(text, "fuzz.yaml");
  (void)r.ok();
  return 0;
}
