// Byte helpers shared by every stage: views, hex, base64, fixed-width integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace capsule::format {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsChars(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string HexEncode(ByteView b);
// Lowercase or uppercase hex, even length; nullopt otherwise.
std::optional<Bytes> HexDecode(std::string_view s);
std::string Base64Encode(ByteView b);  // standard alphabet, padded
std::optional<Bytes> Base64Decode(std::string_view s);
// base58btc (Bitcoin alphabet), for did:key and CIDv0.
std::string Base58Encode(ByteView b);

inline void PutU32Le(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU64Le(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU32Be(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU64Be(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint32_t GetU32Le(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t GetU64Le(const uint8_t* p) {
  return uint64_t(GetU32Le(p)) | uint64_t(GetU32Le(p + 4)) << 32;
}
inline uint16_t GetU16Le(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t GetU32Be(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. On failure the byte
// offset of the first bad sequence goes to *bad_offset (when given).
bool IsValidUtf8(std::string_view s, size_t* bad_offset = nullptr);

// Lowercase EVM address "0x…" for 20 bytes; EIP-55 checksummed form.
std::string EvmAddressLower(ByteView addr20);
std::string EvmAddressChecksum(ByteView addr20);
// Parses "0x" + 40 hex digits. All-lowercase or all-uppercase is accepted; mixed case must carry
// a valid EIP-55 checksum. Returns the 20 bytes or nullopt.
std::optional<Bytes> ParseEvmAddress(std::string_view s);

}  // namespace capsule::format
