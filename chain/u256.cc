// U256 conversions. Decimal ↔ binary is schoolbook arithmetic on the 32 big-endian bytes
// (multiply-by-10-and-add, divide-by-10): a few hundred byte operations per number, which is
// all the SDK ever needs, and no bignum dependency.
#include "chain/u256.h"

#include <algorithm>

namespace capsule::chain {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

U256 U256::FromU64(uint64_t v) {
  U256 u;
  for (int i = 0; i < 8; ++i) u.be[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  return u;
}

std::optional<U256> U256::FromBigEndian(format::ByteView b) {
  if (b.size() > 32) return std::nullopt;
  U256 u;
  std::copy(b.begin(), b.end(), u.be.begin() + (32 - b.size()));
  return u;
}

std::optional<U256> U256::FromDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  U256 u;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    // u = u * 10 + digit; a carry out of the top byte means the value passed 2^256 − 1.
    unsigned carry = static_cast<unsigned>(c - '0');
    for (int i = 31; i >= 0; --i) {
      unsigned v = u.be[i] * 10u + carry;
      u.be[i] = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
    if (carry != 0) return std::nullopt;
  }
  return u;
}

std::optional<U256> U256::FromHex(std::string_view s, bool strict) {
  if (s.size() < 3 || s[0] != '0' || s[1] != 'x') return std::nullopt;
  std::string_view digits = s.substr(2);
  if (digits.size() > 64) return std::nullopt;
  // A JSON-RPC quantity is the shortest form: "0x0" for zero, no leading zeros otherwise.
  if (strict && digits.size() > 1 && digits[0] == '0') return std::nullopt;
  U256 u;
  size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    int d = HexDigit(digits[n - 1 - i]);
    if (d < 0) return std::nullopt;
    u.be[31 - i / 2] |= static_cast<uint8_t>(i % 2 ? d << 4 : d);
  }
  return u;
}

std::string U256::ToDecimal() const {
  std::array<uint8_t, 32> n = be;
  std::string out;
  // Each pass divides n by 10 in place, yielding the next digit (least significant first).
  while (std::any_of(n.begin(), n.end(), [](uint8_t b) { return b != 0; })) {
    unsigned rem = 0;
    for (auto& byte : n) {
      unsigned cur = (rem << 8) | byte;
      byte = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    out.push_back(static_cast<char>('0' + rem));
  }
  if (out.empty()) return "0";
  std::reverse(out.begin(), out.end());
  return out;
}

std::string U256::ToHex64() const {
  std::string out;
  out.reserve(64);
  for (uint8_t b : be) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string U256::ToQuantity() const {
  std::string hex = ToHex64();
  size_t first = hex.find_first_not_of('0');
  if (first == std::string::npos) return "0x0";
  return "0x" + hex.substr(first);
}

format::Bytes U256::Minimal() const {
  auto first = std::find_if(be.begin(), be.end(), [](uint8_t b) { return b != 0; });
  return format::Bytes(first, be.end());
}

bool U256::IsZero() const {
  return std::all_of(be.begin(), be.end(), [](uint8_t b) { return b == 0; });
}

bool U256::FitsU64() const {
  return std::all_of(be.begin(), be.begin() + 24, [](uint8_t b) { return b == 0; });
}

uint64_t U256::ToU64() const {
  uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | be[i];
  return v;
}

}  // namespace capsule::chain
