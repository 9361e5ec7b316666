// `capsule.index`: the binary chunk index (DESIGN §3.4). Content bytes:
//   u8 version (1) ‖ 3 zero bytes ‖ u32le count ‖ count × entry
//   entry = u32le ciphertext length (incl. 16-byte tag) ‖ u8 flags ‖ SHA-256(ciphertext)
//   flags: bit 0 compressed, bit 1 final; other bits MUST be zero.
#pragma once

#include <cstdint>
#include <vector>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/crypto.h"

namespace capsule::format {

inline constexpr uint8_t kChunkCompressed = 1;
inline constexpr uint8_t kChunkFinal = 2;
inline constexpr size_t kIndexHeaderSize = 8;
inline constexpr size_t kIndexEntrySize = 37;

struct IndexEntry {
  uint32_t length = 0;
  uint8_t flags = 0;
  Hash32 hash{};
  bool compressed() const { return flags & kChunkCompressed; }
  bool final() const { return flags & kChunkFinal; }
};

struct ChunkIndex {
  std::vector<IndexEntry> entries;
  std::vector<uint64_t> offsets;  // of each chunk within the payload content (filled by Parse)

  Bytes Serialize() const;
  static size_t SerializedSize(size_t count) { return kIndexHeaderSize + count * kIndexEntrySize; }
  // Checks framing, flags, the final flag on exactly the last entry, and that lengths are
  // plausible for `chunk_size` and add up to `payload_size`.
  static Result<ChunkIndex> Parse(ByteView content, uint32_t chunk_size, uint64_t payload_size,
                                  const std::string& where);
};

}  // namespace capsule::format
