// Canonical JSON (RFC 8785, JCS) for the subset capsules use: objects, arrays, strings,
// booleans, null and integers within ±(2^53 − 1) (larger integers are written as strings;
// floats are not allowed at all). Object keys are sorted; with ASCII keys (all our schemas
// have) UTF-16 order equals byte order, and non-ASCII keys are refused.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"

namespace capsule::format {

// The largest integer canonical JSON carries as a number (2^53 − 1: exact in a double).
inline constexpr uint64_t kMaxJsonInteger = (uint64_t{1} << 53) - 1;

// Serializes `j` canonically. ManifestInvalid when it holds a float, an out-of-range integer, a
// non-ASCII key or invalid UTF-8.
Result<std::string> CanonicalJson(const nlohmann::json& j);

// Parses bytes that must already be canonical: ManifestNotCanonical when re-encoding differs
// (duplicate keys, whitespace, key order, escapes), ManifestInvalid when not JSON.
Result<nlohmann::json> ParseCanonicalJson(std::string_view bytes, const std::string& where);

// nlohmann's parser takes a NUL byte for the end of its input: `{…}\0garbage` parses as `{…}`.
// JSON text never holds a raw NUL (RFC 8259: not in strings, not between tokens), so every
// reader of a JSON file refuses one first (a licence, a ledger, a key file, the state store).
inline bool HasNulByte(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Every JSON file is read through this: nlohmann's parse without exceptions, a discarded value
// for invalid JSON, a NUL byte included.
inline nlohmann::json ParseJsonText(std::string_view text,
                                    const nlohmann::json::parser_callback_t& cb = nullptr) {
  if (HasNulByte(text)) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, cb, /*allow_exceptions=*/false);
}

// JSON for reports (`--json`, result objects, files written for people and tools), never for
// anything signed: bytes that are not UTF-8 (a file name from the command line) become U+FFFD
// instead of nlohmann's type_error, which would abort the command.
std::string ReportJson(const nlohmann::json& j, int indent = -1);

// `s` with every byte sequence that is not UTF-8 replaced by U+FFFD (for names a manifest
// records, such as the input's file name).
std::string ValidUtf8(const std::string& s);

// Total accessors for untrusted JSON: the default when `o` is not an object, the key is
// missing, or the value has another type (nlohmann's value() throws on a type mismatch).
std::string JsonStr(const nlohmann::json& o, const char* key, const std::string& def = "");
int64_t JsonInt(const nlohmann::json& o, const char* key, int64_t def);
bool JsonBool(const nlohmann::json& o, const char* key, bool def);
// o[key] when present (any type), else null; never inserts, never asserts.
const nlohmann::json& JsonAt(const nlohmann::json& o, const char* key);

}  // namespace capsule::format
