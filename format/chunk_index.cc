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

Result<ParsedIndex> ChunkIndex::Parse(ByteView content, uint32_t chunk_size, uint64_t payload_size,
                                      const std::string& where) {
  ReadBuffer copy(content.size());
  if (!content.empty()) std::memcpy(copy.data(), content.data(), content.size());
  return Parse(std::move(copy), chunk_size, payload_size, where);
}

Result<ParsedIndex> ChunkIndex::Parse(ReadBuffer content, uint32_t chunk_size,
                                      uint64_t payload_size, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status(Code::BadIndex, where + ": chunk index: " + why);
  };
  const ByteView c = content.view();
  if (c.size() < kIndexHeaderSize) return bad("too short");
  if (c[0] != 1 || c[1] || c[2] || c[3]) return bad("unsupported version");
  uint32_t count = GetU32Le(c.data() + 4);
  if (count == 0) return bad("no chunks");
  if ((c.size() - kIndexHeaderSize) % kIndexEntrySize ||
      (c.size() - kIndexHeaderSize) / kIndexEntrySize != count)
    return bad("size does not match its entry count " + std::to_string(count));
  // One pass over the bytes, reading only: they are kept as they are (ParsedIndex), with one
  // stored offset per 64 entries for chunk sizes that vary (nothing allocated per entry).
  ParsedIndex idx;
  idx.every_.reserve((count >> ParsedIndex::kStrideLog2) + 1);
  const uint64_t full = uint64_t{chunk_size} + 16;
  const uint8_t* p = c.data() + kIndexHeaderSize;
  uint64_t off = 0;
  bool regular = true;
  for (uint32_t i = 0; i < count; ++i, p += kIndexEntrySize) {
    const uint32_t length = GetU32Le(p);
    const uint8_t flags = p[4];
    const bool final = flags & kChunkFinal;
    if (flags & ~(kChunkCompressed | kChunkFinal))
      return bad("entry " + std::to_string(i) + " has unknown flags");
    if (final != (i + 1 == count))
      return bad("the final flag must be set on exactly the last entry (entry " +
                 std::to_string(i) + ")");
    if (length < 16 || length > full)
      return bad("entry " + std::to_string(i) + " has an impossible length " +
                 std::to_string(length));
    if (!(flags & kChunkCompressed) && !final && length != full)
      return bad("uncompressed entry " + std::to_string(i) + " is not a full chunk");
    if ((i & ((1u << ParsedIndex::kStrideLog2) - 1)) == 0) idx.every_.push_back(off);
    if (!final && length != full) regular = false;
    off += length;
  }
  if (off != payload_size)
    return bad("chunk lengths add up to " + std::to_string(off) + " bytes but the payload has " +
               std::to_string(payload_size));
  idx.bytes_ = std::make_shared<const ReadBuffer>(std::move(content));
  idx.entries_ = idx.bytes_->data() + kIndexHeaderSize;
  idx.count_ = count;
  idx.total_ = off;
  idx.full_ = full;
  idx.regular_ = regular;
  if (regular) idx.every_ = {};
  return idx;
}

IndexEntry ParsedIndex::operator[](size_t i) const {
  const uint8_t* p = Entry(i);
  IndexEntry e;
  e.length = GetU32Le(p);
  e.flags = p[4];
  std::memcpy(e.hash.data(), p + 5, e.hash.size());
  return e;
}

uint64_t ParsedIndex::offset(size_t i) const {
  if (i >= count_) return total_;
  if (regular_) return i * full_;
  const size_t first = (i >> kStrideLog2) << kStrideLog2;
  uint64_t off = every_[i >> kStrideLog2];
  for (size_t k = first; k < i; ++k) off += GetU32Le(Entry(k));
  return off;
}

Bytes ParsedIndex::Serialize() const {
  ChunkIndex b;
  b.entries.reserve(count_);
  for (size_t i = 0; i < count_; ++i) b.entries.push_back((*this)[i]);
  return b.Serialize();
}

}  // namespace capsule::format
