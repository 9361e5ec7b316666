// Small text helpers of the value grammars (manifest values, durations): ASCII only, no locale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace capsule::format {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Without the spaces and tabs around it.
inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `text` for an error detail: printable ASCII kept, anything else (control characters, escape
// sequences, bytes above 0x7E, the backslash) as \xNN, at most `max` bytes of input, "..." when
// cut. For text from outside that ends up on the user's terminal: names chosen by a module,
// wabt's messages, an RPC node's error text.
inline std::string Printable(std::string_view text, size_t max = 200) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// `s` in backquotes, for messages that quote the user's text.
inline std::string Quote(std::string_view s) { return "`" + std::string(s) + "`"; }

// Decimal digits (the caller checked them) → value; nullopt when it exceeds `max`.
inline std::optional<uint64_t> DigitsToU64(std::string_view digits, uint64_t max) {
  uint64_t v = 0;
  for (char c : digits) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace capsule::format
