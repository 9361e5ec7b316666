// UTC time parsing and formatting, and durations (format/time.h). Times are written here
// rather than with strptime/timegm: those accept out-of-range fields and depend on the locale and
// TZ.
#include "format/time.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include "format/canonical_json.h"
#include "format/text.h"

namespace capsule::format {
namespace {

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<int64_t> ParseUtcTime(const std::string& s) {
  if (s.size() > 1 && s[0] == '@') {
    int64_t v = 0;
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || v > (int64_t{1} << 53)) return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  }
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (s.size() < 10 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d))
    return std::nullopt;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap))
    return std::nullopt;
  int64_t offset = 0;
  if (s.size() > 10) {
    size_t p = 10;
    if ((s[p] != 'T' && s[p] != 't') || !Digits(s, p + 1, 2, &h) || s.size() < p + 6 ||
        s[p + 3] != ':' || !Digits(s, p + 4, 2, &mi))
      return std::nullopt;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!Digits(s, p + 1, 2, &sec)) return std::nullopt;
      p += 3;
    }
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
    if (p + 1 == s.size() && (s[p] == 'Z' || s[p] == 'z')) {
      // UTC
    } else if (p + 6 == s.size() && (s[p] == '+' || s[p] == '-') && s[p + 3] == ':') {
      int oh, om;
      if (!Digits(s, p + 1, 2, &oh) || !Digits(s, p + 4, 2, &om) || oh > 23 || om > 59)
        return std::nullopt;
      offset = (s[p] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;  // a time without a zone is ambiguous
    }
  }
  int64_t t = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
              h * 3600 + mi * 60 + sec - offset;
  if (t < 0) return std::nullopt;
  return t;
}

std::string FormatUtcTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  char buf[32];
  if (!gmtime_r(&tt, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return "@" + std::to_string(t);
  return buf;
}

Result<uint64_t> ParseDuration(std::string_view raw, DurationUnit unit) {
  const std::string_view text = TrimSpaces(raw);
  const bool ms = unit == DurationUnit::kMilliseconds;
  const std::string expected = ms ? "expected an integer with a unit (ms, s, m, h, d, w), e.g. "
                                    "`30s`, `1m30s` or `500ms`"
                                  : "expected an integer with a unit (s, m, h, d, w), e.g. "
                                    "`30s`, `48h`, `30d` or `1h30m`";
  if (text.empty()) return Result<uint64_t>(Code::BadDuration, "duration is empty; " + expected);
  if (std::all_of(text.begin(), text.end(), IsDigit)) {
    return Result<uint64_t>(Code::BadDuration, Quote(text) + " has no unit; " + expected);
  }
  if (text.find('.') != std::string_view::npos) {
    return Result<uint64_t>(Code::BadDuration, Quote(text) + " has a fraction; " + expected +
                                                   " (write `1h30m`, not `1.5h`)");
  }
  struct UnitDef {
    std::string_view name;
    uint64_t ms;
  };
  // Longest names first so "ms" is not read as "m" followed by garbage.
  static constexpr UnitDef kUnits[] = {{"w", 604'800'000}, {"d", 86'400'000}, {"h", 3'600'000},
                                       {"ms", 1},          {"m", 60'000},     {"s", 1'000}};
  // Order of magnitude: w > d > h > m > s > ms.
  auto rank = [](std::string_view name) {
    static constexpr std::string_view kOrder[] = {"w", "d", "h", "m", "s", "ms"};
    for (int i = 0; i < 6; ++i)
      if (kOrder[i] == name) return i;
    return 6;
  };
  const uint64_t limit = ms ? kMaxJsonInteger : kMaxJsonInteger * 1000;
  uint64_t total_ms = 0;
  int last_rank = -1;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start) return Result<uint64_t>(Code::BadDuration, Quote(text) + ": " + expected);
    std::string_view digits = text.substr(start, i - start);
    const UnitDef* found = nullptr;
    for (const UnitDef& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        found = &u;
        break;
      }
    }
    if (!found) return Result<uint64_t>(Code::BadDuration, Quote(text) + ": " + expected);
    if (found->name == "ms" && !ms) {
      return Result<uint64_t>(
          Code::BadDuration,
          Quote(text) + ": milliseconds are allowed only in `preview`; " + expected);
    }
    i += found->name.size();
    int r = rank(found->name);
    if (r <= last_rank) {
      return Result<uint64_t>(
          Code::BadDuration,
          Quote(text) + ": units must appear once each, largest first (w d h m s); " + expected);
    }
    last_rank = r;
    std::optional<uint64_t> n = DigitsToU64(digits, limit);
    if (!n || *n > (limit - total_ms) / found->ms) {
      return Result<uint64_t>(Code::BadDuration, Quote(text) + " is too long; at most 2^53 - 1 " +
                                                     (ms ? "milliseconds" : "seconds"));
    }
    total_ms += *n * found->ms;
  }
  if (total_ms == 0) {
    return Result<uint64_t>(Code::BadDuration, Quote(text) + " is zero; a duration must be > 0");
  }
  if (ms) return total_ms;
  if (total_ms % 1000 != 0) {
    return Result<uint64_t>(Code::BadDuration, Quote(text) + ": " + expected);
  }
  return total_ms / 1000;
}

}  // namespace capsule::format
