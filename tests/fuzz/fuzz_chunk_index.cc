// Fuzz target: the binary chunk index. The first 12 input bytes choose chunk_size and
// payload_size (so the fuzzer explores the plausibility checks); the rest is the index content.
// Whatever parses must round-trip and give consistent offsets (ParsedIndex computes them).
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
    // Whatever parses must serialize back to the same bytes (decoded, then encoded again).
    capsule::format::Bytes again = r->Serialize();
    if (again.size() != size - 12 || std::memcmp(again.data(), data + 12, size - 12) != 0)
      __builtin_trap();
    // Offsets (computed or from the stored ones) are the running sum of the lengths, bounded
    // by the chunk size, and end at the payload size.
    uint64_t off = 0;
    for (size_t i = 0; i < r->size(); ++i) {
      if (r->offset(i) != off) __builtin_trap();
      const uint32_t length = (*r)[i].length;
      if (length < 16 || length > uint64_t{chunk_size} + 16) __builtin_trap();
      off += length;
    }
    if (off != payload_size || r->offset(r->size()) != payload_size) __builtin_trap();
  }
  return 0;
}
