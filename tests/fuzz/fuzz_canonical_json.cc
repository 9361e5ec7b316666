// Fuzz target: canonical JSON (RFC 8785 subset). Anything ParseCanonicalJson accepts is
// canonical, so re-encoding it must give back exactly the input bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/canonical_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = capsule::format::ParseCanonicalJson(in, "fuzz");
  if (!r.ok()) return 0;
  auto again = capsule::format::CanonicalJson(*r);
  if (!again.ok() || *again != in) __builtin_trap();
  return 0;
}
