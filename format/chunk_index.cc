// Chunk index codec. Parse is the gate between untrusted bytes and the payload reader: after
// it, every entry's length is bounded by the chunk size and offsets cannot overflow.
#include "format/chunk_index.h"

#include <cstring>

#include "format/file.h"

namespace capsule::format {

Bytes ChunkIndex::Serialize() const {
  Bytes out{1, 0, 0, 0};
  PutU32Le(out, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    PutU32Le(out, e.length);
    out.push_back(e.flags);
    out.insert(out.end(), e.hash.begin(), e.hash.end());
  }
  return out;
}

Result<ChunkIndex> ChunkIndex::Parse(ByteView c, uint32_t chunk_size, uint64_t payload_size,
                                     const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status(Code::BadIndex, where + ": chunk index: " + why);
  };
  if (c.size() < kIndexHeaderSize) return bad("too short");
  if (c[0] != 1 || c[1] || c[2] || c[3]) return bad("unsupported version");
  uint32_t count = GetU32Le(c.data() + 4);
  if (count == 0) return bad("no chunks");
  if ((c.size() - kIndexHeaderSize) % kIndexEntrySize ||
      (c.size() - kIndexHeaderSize) / kIndexEntrySize != count)
    return bad("size does not match its entry count " + std::to_string(count));
  // One pass over the bytes, appending into storage reserved up front: no zero-fill of the
  // vectors first, no reallocation, nothing allocated per entry (strings only on an error).
  ChunkIndex idx;
  idx.entries.reserve(count);
  idx.offsets.reserve(count);
  PrefaultForWrite(idx.entries.data(), count * sizeof(IndexEntry));
  PrefaultForWrite(idx.offsets.data(), count * sizeof(uint64_t));
  const uint64_t full = uint64_t{chunk_size} + 16;
  const uint8_t* p = c.data() + kIndexHeaderSize;
  uint64_t off = 0;
  for (uint32_t i = 0; i < count; ++i, p += kIndexEntrySize) {
    IndexEntry& e = idx.entries.emplace_back();
    e.length = GetU32Le(p);
    e.flags = p[4];
    std::memcpy(e.hash.data(), p + 5, e.hash.size());
    if (e.flags & ~(kChunkCompressed | kChunkFinal))
      return bad("entry " + std::to_string(i) + " has unknown flags");
    if (e.final() != (i + 1 == count))
      return bad("the final flag must be set on exactly the last entry (entry " +
                 std::to_string(i) + ")");
    if (e.length < 16 || e.length > full)
      return bad("entry " + std::to_string(i) + " has an impossible length " +
                 std::to_string(e.length));
    if (!e.compressed() && !e.final() && e.length != full)
      return bad("uncompressed entry " + std::to_string(i) + " is not a full chunk");
    idx.offsets.push_back(off);
    off += e.length;
  }
  if (off != payload_size)
    return bad("chunk lengths add up to " + std::to_string(off) + " bytes but the payload has " +
               std::to_string(payload_size));
  return idx;
}

}  // namespace capsule::format
