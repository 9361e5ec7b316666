// RIFF/WAVE parsing and preview cutting; internal to the packager (DESIGN §3.10).
//
// Invariants: only chunk headers and the `fmt ` payload are read to probe (never the samples);
// the `data` chunk lies wholly inside the file and block_align = channels × bytes per sample, so
// duration and cut points are exact; a trailing partial sample frame is ignored.
#pragma once

#include <cstdint>
#include <string>

#include "capsule/status.h"
#include "packager/media.h"

namespace capsule::packager {

// PCM (format 1; 8/16/24/32-bit), IEEE float (format 3; 32/64-bit), or either as the subformat
// of WAVE_FORMAT_EXTENSIBLE (0xFFFE). Chunks other than `fmt ` and `data` are skipped.
Result<MediaInfo> ProbeWav(const std::string& path);

// A fresh RIFF header, the source's `fmt ` chunk verbatim, and a `data` chunk holding the first
// whole sample frames covering `milliseconds` (byte-identical to the start of the source's data).
Result<Preview> CutWavPreview(const std::string& path, const MediaInfo& info,
                              uint64_t milliseconds);

}  // namespace capsule::packager
