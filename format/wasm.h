// WebAssembly binary framing: LEB128, section headers, custom-section names. Only what the
// capsule layer needs; code sections are validated by real engines (wabt, V8), not here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/file.h"

namespace capsule::format {

inline constexpr uint8_t kWasmPreamble[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
inline constexpr std::string_view kSignatureSection = "signature";
inline constexpr std::string_view kDelimiterSection = "signature_delimiter";
inline constexpr std::string_view kManifestSection = "capsule.manifest";
inline constexpr std::string_view kIndexSection = "capsule.index";
inline constexpr std::string_view kPreviewSection = "capsule.preview";
inline constexpr std::string_view kPayloadSection = "capsule.payload";
inline constexpr size_t kDelimiterSize = 16;

void PutLeb128(Bytes& out, uint64_t v);
// Padded to exactly `width` bytes (valid LEB128: continuation bits on all but the last).
void PutLeb128Padded(Bytes& out, uint64_t v, size_t width);
size_t Leb128Size(uint64_t v);
// Decodes an unsigned LEB128 of at most 32 bits (5 bytes). Returns bytes consumed or 0.
size_t GetLeb128U32(ByteView in, uint32_t* out);

struct SectionRef {
  uint8_t id = 0;
  uint64_t offset = 0;          // of the id byte
  uint64_t payload_offset = 0;  // first byte after the size field
  uint32_t payload_size = 0;
  std::string name;             // custom sections only
  uint64_t content_offset = 0;  // custom: first byte after the name; else == payload_offset
  uint64_t end() const { return payload_offset + payload_size; }
  uint64_t content_size() const { return end() - content_offset; }
  bool is_custom() const { return id == 0; }
};

// Reads the preamble and every section header (never section contents, except custom names).
// NotWasm, Truncated, BadLeb128, BadSectionName, BadLayout (unknown section id) on failure.
Result<std::vector<SectionRef>> ScanSections(const InputFile& file);

// Encodes a whole custom section: id 0, size, name, content.
Bytes CustomSection(std::string_view name, ByteView content);
// Header of a custom section whose content will follow (size covers name + content_size).
// `size_width` 0 = minimal LEB128; otherwise padded to that many bytes.
Bytes CustomSectionHeader(std::string_view name, uint64_t content_size, size_t size_width = 0);

// Splits a plain module (preamble + sections) into its non-custom sections, dropping custom
// sections (names, producers). BadTemplate on malformed framing.
Result<Bytes> StripCustomSections(ByteView module);

}  // namespace capsule::format
