// Canonical JSON (RFC 8785, JCS) for the subset capsules use: objects, arrays, strings,
// booleans, null and integers within ±(2^53 − 1) (larger integers are written as strings;
// floats are not allowed at all). Object keys are sorted; with ASCII keys (all our schemas
// have) UTF-16 order equals byte order, and non-ASCII keys are refused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"

namespace capsule::format {

// Serializes `j` canonically. ManifestInvalid when it holds a float, an out-of-range integer, a
// non-ASCII key or invalid UTF-8.
Result<std::string> CanonicalJson(const nlohmann::json& j);

// Parses bytes that must already be canonical: ManifestNotCanonical when re-encoding differs
// (duplicate keys, whitespace, key order, escapes), ManifestInvalid when not JSON.
Result<nlohmann::json> ParseCanonicalJson(std::string_view bytes, const std::string& where);

}  // namespace capsule::format
