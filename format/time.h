// UTC times and durations on command lines, in manifests and in reports: one parser and one
// formatter for every tool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "capsule/status.h"

namespace capsule::format {

// "@UNIX-SECONDS", "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM[:SS]" followed by "Z" or
// "±HH:MM" (a time without a zone is ambiguous and refused) → Unix seconds, ≥ 0; nullopt when
// malformed or out of range.
std::optional<int64_t> ParseUtcTime(const std::string& s);

// Unix seconds → "YYYY-MM-DDTHH:MM:SSZ" ("@N" when the platform cannot format it).
std::string FormatUtcTime(int64_t t);

enum class DurationUnit { kSeconds, kMilliseconds };
// "30s", "15m", "48h", "30d", "2w", compound "1h30m" (units in descending order, each once);
// "ms" only when unit == kMilliseconds; spaces and tabs around it are ignored. Result in
// `unit`, > 0 and ≤ 2^53 - 1. Code: BadDuration, the message saying what was expected.
Result<uint64_t> ParseDuration(std::string_view text, DurationUnit unit);

}  // namespace capsule::format
