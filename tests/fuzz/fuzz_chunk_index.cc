// Fuzz target: the binary chunk index. The first 12 input bytes choose chunk_size and
// payload_size (so the fuzzer explores the plausibility checks); the rest is the index content.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "format/chunk_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  uint32_t chunk_size = capsule::format::GetU32Le(data);
  uint64_t payload_size = capsule::format::GetU64Le(data + 4);
  auto r = capsule::format::ChunkIndex::Parse(capsule::format::ByteView(data + 12, size - 12),
                                              chunk_size, payload_size, "fuzz");
  if (r.ok()) {
    // Whatever parses must serialize back to the same bytes.
    capsule::format::Bytes again = r->Serialize();
    if (again.size() != size - 12 || std::memcmp(again.data(), data + 12, size - 12) != 0)
      __builtin_trap();
  }
  return 0;
}
