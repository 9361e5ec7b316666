// Starting anywhere: `capsule-run open --range FIRST-LAST` and `--from SECONDS`. A seek becomes a
// window on the content — bytes [offset, offset + length) of the plaintext, after a `prefix` the
// runtime makes up (a WAV header rewritten for what follows) — which the host then presents to
// the capsule logic as its whole payload (docs/spec/host-abi.md §2.3). Only the chunks the window
// touches are read, plus the first one for a media header.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capsule/status.h"

namespace capsule::runtime {

struct SeekWindow {
  std::string prefix;
  uint64_t offset = 0, length = 0;
};

// Reads up to n plaintext bytes at pos (fewer only at the end of the content).
using PlainReader = std::function<Status(uint64_t pos, size_t n, std::string* out)>;

// "FIRST-LAST" (inclusive, as HTTP ranges) or "FIRST-" (to the end); bytes of the content.
Result<SeekWindow> RangeWindow(const std::string& spec, uint64_t size);

// From `seconds` into a WAV (exact: the sample frame at that time, behind a rewritten header)
// or an MP3 (the first frame at or after the byte the bitrate puts there: exact for CBR; for VBR
// the Xing or VBRI header's seek table, else the average bitrate). `media` is the manifest's media
// object.
Result<SeekWindow> TimeWindow(const nlohmann::json& media, uint64_t size, double seconds,
                              const PlainReader& read);

}  // namespace capsule::runtime
