// Value grammars of manifest.yaml. All arithmetic is on decimal digit strings or on uint64_t with
// explicit overflow checks; there is deliberately no floating point in this file.
#include "packager/manifest_values.h"

#include <algorithm>
#include <optional>

#include "format/bytes.h"
#include "format/text.h"

namespace capsule::packager::manifest {
namespace {

using format::DigitsToU64;
using format::IsDigit;
using format::Quote;
using format::TrimSpaces;

bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

std::string_view StripLeadingZeros(std::string_view s) {
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  return s;
}

// Decimal strings without leading zeros: a ≤ b.
bool DecimalLessEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a <= b;
}

}  // namespace

Result<uint32_t> ParseShare(std::string_view raw) {
  const std::string_view text = TrimSpaces(raw);
  const std::string expected = "expected a percentage like `12.5%` or basis points like `1250 bps`";
  if (text.empty()) return Result<uint32_t>(Code::BadShare, "share is empty; " + expected);
  // Split number and unit.
  std::string_view number;
  uint32_t scale_digits;  // fractional digits one ppm has in this unit
  uint64_t ppm_per_unit;
  if (text.back() == '%') {
    number = TrimSpaces(text.substr(0, text.size() - 1));
    scale_digits = 4;
    ppm_per_unit = 10'000;
  } else if (text.size() >= 3 && text.substr(text.size() - 3) == "bps") {
    number = TrimSpaces(text.substr(0, text.size() - 3));
    scale_digits = 2;
    ppm_per_unit = 100;
  } else {
    bool numeric = std::all_of(text.begin(), text.end(),
                               [](char c) { return IsDigit(c) || c == '.' || c == '-'; });
    return Result<uint32_t>(
        Code::BadShare,
        Quote(text) +
            (numeric ? " has no unit: a share must end in % or bps; " : " must end in % or bps; ") +
            expected);
  }
  if (!number.empty() && number[0] == '-') {
    return Result<uint32_t>(Code::BadShare,
                            Quote(text) + " is negative; a share must be between 0% and 100%");
  }
  size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  if (!AllDigits(whole) || (dot != std::string_view::npos && !AllDigits(frac))) {
    return Result<uint32_t>(Code::BadShare, Quote(text) + " is not a decimal number; " + expected);
  }
  // Fractional digits beyond one ppm must be zeros: the value must be a whole number of ppm.
  while (frac.size() > scale_digits && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > scale_digits) {
    return Result<uint32_t>(Code::BadShare,
                            Quote(text) +
                                " is not a whole number of parts per million; expected at most "
                                "4 decimals for % or 2 for bps (1 ppm = 0.0001% = 0.01 bps)");
  }
  std::optional<uint64_t> w = DigitsToU64(StripLeadingZeros(whole), uint64_t{1} << 40);
  const std::string too_big = Quote(text) + " exceeds 100%; a share is at most 100% (10000 bps)";
  if (!w) return Result<uint32_t>(Code::BadShare, too_big);
  uint64_t f = 0;
  for (size_t i = 0; i < scale_digits; ++i) {
    f = f * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
  }
  uint64_t ppm = *w * ppm_per_unit + f;
  if (ppm > kPpmWhole) return Result<uint32_t>(Code::BadShare, too_big);
  return static_cast<uint32_t>(ppm);
}

std::string FormatPpmAsPercent(uint64_t ppm) {
  std::string out = std::to_string(ppm / 10'000);
  uint64_t frac = ppm % 10'000;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 4 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "%";
}

Result<Price> ParsePrice(std::string_view raw, uint32_t decimals) {
  const std::string_view text = TrimSpaces(raw);
  const std::string expected =
      "expected a non-negative decimal number written as a string, e.g. \"9.99\"";
  if (text.empty()) return Result<Price>(Code::BadPrice, "price is empty; " + expected);
  if (text[0] == '-') {
    return Result<Price>(Code::BadPrice, Quote(text) + " is negative; " + expected);
  }
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!AllDigits(whole) || (dot != std::string_view::npos && !AllDigits(frac))) {
    bool exponent = text.find_first_of("eE") != std::string_view::npos;
    return Result<Price>(Code::BadPrice, Quote(text) + " is not a plain decimal number" +
                                             (exponent ? " (no exponent notation)" : "") + "; " +
                                             expected);
  }
  whole = StripLeadingZeros(whole);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > decimals) {
    return Result<Price>(Code::BadPrice, Quote(text) + " has " + std::to_string(frac.size()) +
                                             " fractional digits but the currency has " +
                                             std::to_string(decimals) +
                                             " decimals; expected at most " +
                                             std::to_string(decimals) + " fractional digits");
  }
  Price price;
  price.amount = std::string(whole);
  if (!frac.empty()) price.amount += "." + std::string(frac);
  std::string units =
      std::string(whole) + std::string(frac) + std::string(decimals - frac.size(), '0');
  price.base_units = std::string(StripLeadingZeros(units));
  if (!DecimalLessEqual(price.base_units, kUint256Max)) {
    return Result<Price>(Code::BadPrice,
                         Quote(text) + " is too large; expected at most 2^256 - 1 base units");
  }
  return price;
}

bool IsValidCurrency(std::string_view c) {
  return !c.empty() && c.size() <= 10 && std::all_of(c.begin(), c.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || IsDigit(ch);
  });
}

Result<std::string> ParseAddress(std::string_view raw) {
  const std::string_view text = TrimSpaces(raw);
  const std::string expected = "expected 0x followed by 40 hex digits";
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return Result<std::string>(Code::BadAddress,
                               Quote(text) + " is not an EVM address; " + expected);
  }
  std::string_view hex = text.substr(2);
  if (!std::all_of(hex.begin(), hex.end(), IsHexDigit)) {
    return Result<std::string>(
        Code::BadAddress,
        Quote(text) + " contains a character that is not a hex digit; " + expected);
  }
  if (hex.size() != 40) {
    return Result<std::string>(
        Code::BadAddress,
        Quote(text) + " has " + std::to_string(hex.size()) + " hex digits; " + expected);
  }
  std::optional<format::Bytes> bytes = format::ParseEvmAddress(text);
  if (!bytes) {
    // Format is right, so only the EIP-55 checksum of a mixed-case address can have failed.
    // The correct checksum is not shown: it would bless a mistyped address.
    return Result<std::string>(
        Code::BadAddress,
        Quote(text) +
            " fails its EIP-55 checksum (mixed case); expected the address exactly as "
            "your wallet shows it (check for a typo), or all lowercase to skip the "
            "check");
  }
  if (std::all_of(bytes->begin(), bytes->end(), [](uint8_t b) { return b == 0; })) {
    return Result<std::string>(Code::BadAddress,
                               Quote(text) +
                                   " is the zero address, which burns what it receives; expected "
                                   "a real account or contract address");
  }
  return format::EvmAddressLower(*bytes);
}

std::string NormalizeUint256(std::string_view text) {
  if (!AllDigits(text)) return "";
  std::string_view v = StripLeadingZeros(text);
  if (!DecimalLessEqual(v, kUint256Max)) return "";
  return std::string(v);
}

std::string NormalizeHex(std::string_view text, size_t digits) {
  if (text.size() != digits || !std::all_of(text.begin(), text.end(), IsHexDigit)) return "";
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

size_t CountCodePoints(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(
      utf8.begin(), utf8.end(), [](char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; }));
}

}  // namespace capsule::packager::manifest
