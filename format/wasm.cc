// WebAssembly framing. Limits: section sizes are u32 (the binary format's own limit), so a
// capsule's payload section holds at most 4 GiB - 1 bytes.
#include "format/wasm.h"

#include <cstring>

namespace capsule::format {

void PutLeb128(Bytes& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(b);
  } while (v);
}

void PutLeb128Padded(Bytes& out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (i + 1 < width) b |= 0x80;
    out.push_back(b);
  }
}

size_t Leb128Size(uint64_t v) {
  size_t n = 1;
  while (v >>= 7) ++n;
  return n;
}

size_t GetLeb128U32(ByteView in, uint32_t* out) {
  uint64_t v = 0;
  for (size_t i = 0; i < 5 && i < in.size(); ++i) {
    v |= uint64_t(in[i] & 0x7f) << (7 * i);
    if (!(in[i] & 0x80)) {
      if (i == 4 && (in[i] & 0x70)) return 0;  // more than 32 bits
      *out = static_cast<uint32_t>(v);
      return i + 1;
    }
  }
  return 0;
}

Result<std::vector<SectionRef>> ScanSections(const InputFile& file) {
  const std::string& path = file.path();
  uint8_t pre[8];
  if (file.size() < 8 || !file.ReadAt(0, pre, 8).ok() || std::memcmp(pre, kWasmPreamble, 8) != 0)
    return Status(Code::NotWasm, path + ": not a WebAssembly module (bad magic or version)");
  std::vector<SectionRef> out;
  uint64_t off = 8;
  while (off < file.size()) {
    SectionRef s;
    s.offset = off;
    uint8_t head[6] = {0};
    size_t avail = static_cast<size_t>(std::min<uint64_t>(6, file.size() - off));
    CAPSULE_RETURN_IF_ERROR(file.ReadAt(off, head, avail));
    s.id = head[0];
    if (s.id > 13)
      return Status(Code::BadLayout, path + ": unknown section id " + std::to_string(s.id) +
                                         " at byte " + std::to_string(off));
    uint32_t size = 0;
    size_t n = GetLeb128U32(ByteView(head + 1, avail - 1), &size);
    if (n == 0)
      return Status(avail < 6 ? Code::Truncated : Code::BadLeb128,
                    path + ": malformed section size at byte " + std::to_string(off + 1));
    if (n != Leb128Size(size))  // wasmsign2 re-encodes sizes in shortest form when hashing
      return Status(Code::BadLeb128, path + ": section size at byte " + std::to_string(off + 1) +
                                         " is not in shortest LEB128 form");
    s.payload_offset = off + 1 + n;
    s.payload_size = size;
    if (s.end() > file.size())
      return Status(Code::Truncated, path + ": section at byte " + std::to_string(off) +
                                         " declares " + std::to_string(size) +
                                         " bytes but the file ends at " +
                                         std::to_string(file.size()));
    s.content_offset = s.payload_offset;
    if (s.id == 0) {
      uint8_t lenbuf[5] = {0};
      size_t la = static_cast<size_t>(std::min<uint64_t>(5, size));
      CAPSULE_RETURN_IF_ERROR(file.ReadAt(s.payload_offset, lenbuf, la));
      uint32_t name_len = 0;
      size_t ln = GetLeb128U32(ByteView(lenbuf, la), &name_len);
      if (ln == 0 || ln != Leb128Size(name_len) || name_len > size - ln || name_len > 256)
        return Status(Code::BadSectionName, path + ": custom section at byte " +
                                                std::to_string(off) + " has a malformed name");
      s.name.resize(name_len);
      CAPSULE_RETURN_IF_ERROR(file.ReadAt(s.payload_offset + ln, s.name.data(), name_len));
      if (!IsValidUtf8(s.name))
        return Status(Code::BadSectionName, path + ": custom section name at byte " +
                                                std::to_string(off) + " is not UTF-8");
      s.content_offset = s.payload_offset + ln + name_len;
    }
    out.push_back(std::move(s));
    off = out.back().end();
  }
  return out;
}

Bytes CustomSectionHeader(std::string_view name, uint64_t content_size, size_t size_width) {
  Bytes name_enc;
  PutLeb128(name_enc, name.size());
  name_enc.insert(name_enc.end(), name.begin(), name.end());
  Bytes out{0x00};
  uint64_t payload = name_enc.size() + content_size;
  if (size_width)
    PutLeb128Padded(out, payload, size_width);
  else
    PutLeb128(out, payload);
  out.insert(out.end(), name_enc.begin(), name_enc.end());
  return out;
}

Bytes CustomSection(std::string_view name, ByteView content) {
  Bytes out = CustomSectionHeader(name, content.size());
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Result<Bytes> StripCustomSections(ByteView m) {
  if (m.size() < 8 || std::memcmp(m.data(), kWasmPreamble, 8) != 0)
    return Status(Code::BadTemplate, "template: not a WebAssembly module");
  Bytes out(m.begin(), m.begin() + 8);
  size_t off = 8;
  while (off < m.size()) {
    uint8_t id = m[off];
    uint32_t size = 0;
    size_t n = GetLeb128U32(m.subspan(off + 1), &size);
    if (n == 0 || off + 1 + n + size > m.size())
      return Status(Code::BadTemplate, "template: malformed section framing");
    size_t end = off + 1 + n + size;
    if (id != 0) out.insert(out.end(), m.begin() + off, m.begin() + end);
    off = end;
  }
  if (out.size() == 8) return Status(Code::BadTemplate, "template: no code sections");
  return out;
}

}  // namespace capsule::format
