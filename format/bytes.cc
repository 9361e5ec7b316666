// Hex, base64, base58 and EVM address encodings. Base64 uses OpenSSL's codec; base58 is
// written here (20 lines; no packaged C/C++ library is worth a dependency for it).
#include "format/bytes.h"

#include <nettle/base64.h>

#include <cctype>

#include "format/keccak.h"

namespace capsule::format {

std::string HexEncode(ByteView b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t c : b) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

static int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> HexDecode(std::string_view s) {
  if (s.size() % 2) return std::nullopt;
  Bytes out;
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = HexVal(s[i]), lo = HexVal(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string Base64Encode(ByteView b) {
  std::string out(BASE64_ENCODE_RAW_LENGTH(b.size()), '\0');  // with padding
  base64_encode_raw(out.data(), b.size(), b.data());
  return out;
}

std::optional<Bytes> Base64Decode(std::string_view s) {
  if (s.size() % 4) return std::nullopt;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      return std::nullopt;
  }
  Bytes out(BASE64_DECODE_LENGTH(s.size()));
  base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  size_t n = out.size();
  if (!base64_decode_update(&ctx, &n, out.data(), s.size(), s.data()) || !base64_decode_final(&ctx))
    return std::nullopt;
  out.resize(n);
  // Reject non-canonical encodings: re-encode and compare.
  if (Base64Encode(out) != s) return std::nullopt;
  return out;
}

std::string Base58Encode(ByteView b) {
  static const char* kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  size_t zeros = 0;
  while (zeros < b.size() && b[zeros] == 0) ++zeros;
  std::vector<uint8_t> digits;  // base58 digits, little-endian
  for (size_t i = zeros; i < b.size(); ++i) {
    int carry = b[i];
    for (auto& d : digits) {
      carry += d << 8;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

bool IsValidUtf8(std::string_view s, size_t* bad_offset) {
  size_t ignored = 0;
  if (!bad_offset) bad_offset = &ignored;
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      *bad_offset = i;
      return false;
    }
    if (i + len > s.size()) {
      *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

std::string EvmAddressLower(ByteView addr20) { return "0x" + HexEncode(addr20); }

std::string EvmAddressChecksum(ByteView addr20) {
  std::string hex = HexEncode(addr20);
  auto h = Keccak256(hex);
  for (size_t i = 0; i < hex.size(); ++i) {
    int nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 15);
    if (hex[i] >= 'a' && nibble >= 8) hex[i] = static_cast<char>(hex[i] - 'a' + 'A');
  }
  return "0x" + hex;
}

std::optional<Bytes> ParseEvmAddress(std::string_view s) {
  if (s.size() != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return std::nullopt;
  std::string_view hex = s.substr(2);
  auto bytes = HexDecode(hex);
  if (!bytes) return std::nullopt;
  bool has_lower = false, has_upper = false;
  for (char c : hex) {
    if (c >= 'a' && c <= 'f') has_lower = true;
    if (c >= 'A' && c <= 'F') has_upper = true;
  }
  if (has_lower && has_upper && EvmAddressChecksum(*bytes) != "0x" + std::string(hex))
    return std::nullopt;
  return bytes;
}

}  // namespace capsule::format
