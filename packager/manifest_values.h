// Value grammars of manifest.yaml (docs/spec/manifest.md §4): royalty shares, durations, prices,
// EVM addresses, keys and ids. Internal to the packager; shared by the YAML reader and its tests.
//
// Invariants:
// - Every conversion is exact decimal arithmetic on the text; nothing goes through floating
//   point, so "12.5%" is 125000 ppm on every machine and "9.99" ELA is exactly
//   9990000000000000000 base units.
// - Every integer these functions return fits in 2^53 - 1 (it is embedded as a JSON number and
//   must survive a JavaScript reader); larger values (base units, token ids) are decimal
//   strings without leading zeros.
// - Failures carry their Code and a message "what is wrong; what is expected" with no position:
//   the caller prefixes "PATH:LINE:COL: field: ".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/canonical_json.h"

namespace capsule::packager::manifest {

// One whole in parts per million (the 0xSplits scale, DESIGN §3.7).
inline constexpr uint32_t kPpmWhole = 1'000'000;
// The largest integer a JSON number may carry in the embedded manifest (2^53 - 1).
using format::kMaxJsonInteger;
// The largest `decimals` a currency may declare.
inline constexpr uint32_t kMaxDecimals = 36;
// 2^256 - 1 in decimal: bound of on-chain amounts and token ids.
inline constexpr std::string_view kUint256Max =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

// "70%", "12.5%", "0.0001%", "700 bps", "12.5 bps" → parts per million, in [0, 1e6]. The unit is
// required (a bare "70" is refused), fractions must be whole ppm, "100%" is the maximum.
// Code: BadShare.
Result<uint32_t> ParseShare(std::string_view text);

// 995000 → "99.5%", 1 → "0.0001%", 1250000 → "125%". For messages.
std::string FormatPpmAsPercent(uint64_t ppm);

// Durations ("48h", "1h30m") are format::ParseDuration (format/time.h): the runtime's command
// line takes them too.

struct Price {
  std::string amount;      // normalized decimal: no leading zeros, no trailing fractional zeros
  std::string base_units;  // amount × 10^decimals, exact, decimal, ≤ 2^256 - 1
};
// A non-negative decimal "9.99" with at most `decimals` significant fractional digits.
// Code: BadPrice.
Result<Price> ParsePrice(std::string_view amount, uint32_t decimals);

// 1–10 characters from A–Z and 0–9 ("ELA", "USDC", "1INCH").
bool IsValidCurrency(std::string_view currency);

// "0x" + 40 hex digits; mixed case must pass EIP-55; the zero address is refused (payments to it
// are burnt). Returns the lowercase "0x…" form. Code: BadAddress.
Result<std::string> ParseAddress(std::string_view text);

// Decimal integer in [0, 2^256 - 1] with digits only → without leading zeros; empty on failure.
std::string NormalizeUint256(std::string_view text);

// Hex string of exactly `digits` hex digits (either case) → lowercase; empty on failure.
std::string NormalizeHex(std::string_view text, size_t digits);

// UTF-8 helpers. IsValidUtf8 rejects overlong forms, surrogates and code points > U+10FFFF and
// reports the offset of the first bad byte.
using format::IsValidUtf8;
size_t CountCodePoints(std::string_view utf8);

}  // namespace capsule::packager::manifest
