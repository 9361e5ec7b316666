// `capsule.index`: the binary chunk index (DESIGN §3.4). Content bytes:
//   u8 version (1) ‖ 3 zero bytes ‖ u32le count ‖ count × entry
//   entry = u32le ciphertext length (incl. 16-byte tag) ‖ u8 flags ‖ SHA-256(ciphertext)
//   flags: bit 0 compressed, bit 1 final; other bits MUST be zero.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/crypto.h"
#include "format/file.h"

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

class ParsedIndex;

// Building an index (pack): entries in chunk order, then Serialize.
struct ChunkIndex {
  std::vector<IndexEntry> entries;

  Bytes Serialize() const;
  static size_t SerializedSize(size_t count) { return kIndexHeaderSize + count * kIndexEntrySize; }
  // Checks framing, flags, the final flag on exactly the last entry, and that lengths are
  // plausible for `chunk_size` and add up to `payload_size`. The first form copies `content`,
  // the second keeps the buffer it is given (a reader's: no copy of a big index).
  static Result<ParsedIndex> Parse(ByteView content, uint32_t chunk_size, uint64_t payload_size,
                                   const std::string& where);
  static Result<ParsedIndex> Parse(ReadBuffer content, uint32_t chunk_size, uint64_t payload_size,
                                   const std::string& where);
};

// A checked index, kept as the bytes it was parsed from: entries are decoded when asked for,
// not copied into structures first (a 1 GiB capsule's 600 KB index would otherwise be written
// out again, 800 KB of fresh memory, on the way to the first byte). Copies share the bytes.
class ParsedIndex {
 public:
  ParsedIndex() = default;
  size_t size() const { return count_; }
  IndexEntry operator[](size_t i) const;  // i < size()
  // Where chunk i starts within the payload content; offset(size()) is its end.
  uint64_t offset(size_t i) const;
  Bytes Serialize() const;  // re-encoded from the decoded entries

 private:
  friend struct ChunkIndex;
  static constexpr unsigned kStrideLog2 = 6;  // one stored offset per 64 entries
  const uint8_t* Entry(size_t i) const { return entries_ + i * kIndexEntrySize; }

  std::shared_ptr<const ReadBuffer> bytes_;  // the index content
  const uint8_t* entries_ = nullptr;         // its first entry
  size_t count_ = 0;
  uint64_t total_ = 0;           // payload content size (the sum of the lengths)
  uint64_t full_ = 0;            // chunk size + tag: every entry but the last when regular_
  bool regular_ = false;         // then offset(i) = i × full_
  std::vector<uint64_t> every_;  // else: offset of entries 0, 64, 128, …
};

}  // namespace capsule::format
