// UTC times on command lines and in reports: one parser and one formatter for every tool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace capsule::format {

// "@UNIX-SECONDS", "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM[:SS]" followed by "Z" or
// "±HH:MM" (a time without a zone is ambiguous and refused) → Unix seconds, ≥ 0; nullopt when
// malformed or out of range.
std::optional<int64_t> ParseUtcTime(const std::string& s);

// Unix seconds → "YYYY-MM-DDTHH:MM:SSZ" ("@N" when the platform cannot format it).
std::string FormatUtcTime(int64_t t);

}  // namespace capsule::format
