// 256-bit unsigned integers as the EVM sees them: 32 bytes big-endian. Only what the chain code
// needs (parse, print, compare, minimal big-endian form); no arithmetic beyond that.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/bytes.h"

namespace capsule::chain {

using Address = std::array<uint8_t, 20>;
using Hash32 = std::array<uint8_t, 32>;

struct U256 {
  std::array<uint8_t, 32> be{};  // big-endian

  static U256 FromU64(uint64_t v);
  // Big-endian bytes, at most 32 (shorter is zero-extended on the left).
  static std::optional<U256> FromBigEndian(format::ByteView b);
  // Decimal digits only, no sign, no leading '+', value ≤ 2^256 − 1 (leading zeros accepted).
  static std::optional<U256> FromDecimal(std::string_view s);
  // JSON-RPC quantity "0x…" (no leading zeros except "0x0"), or any "0x" hex up to 64 digits
  // when strict is false.
  static std::optional<U256> FromHex(std::string_view s, bool strict = true);

  std::string ToDecimal() const;
  std::string ToQuantity() const;  // "0x1a", "0x0"
  std::string ToHex64() const;     // 64 lowercase hex digits, no 0x (the ERC-1155 {id} form)
  format::Bytes Minimal() const;   // big-endian without leading zero bytes (RLP integer form)
  bool IsZero() const;
  bool FitsU64() const;
  uint64_t ToU64() const;  // precondition FitsU64()

  friend bool operator==(const U256&, const U256&) = default;
  friend auto operator<=>(const U256&, const U256&) = default;
};

}  // namespace capsule::chain
