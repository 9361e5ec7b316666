// Media detection and parsing (MP3, WAV, UTF-8 text) and preview cutting (DESIGN §3.10).
// Readers stream the file; nothing here holds the whole input in memory.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"

namespace capsule::packager {

enum class MediaKind { kMp3, kWav, kText };

struct MediaInfo {
  MediaKind kind = MediaKind::kText;
  std::string mime;        // "audio/mpeg", "audio/wav", "text/plain; charset=utf-8"
  uint64_t size_bytes = 0;  // whole file
  // Audio (MP3 and WAV).
  uint64_t duration_ms = 0;
  uint32_t sample_rate = 0;
  uint16_t channels = 0;
  // MP3.
  uint32_t bitrate_kbps = 0;  // average for VBR
  bool vbr = false;
  uint64_t frames = 0;
  bool has_id3v2 = false;
  bool has_xing = false;  // Xing/Info header present
  // WAV.
  std::string codec;  // "mp3" (MPEG-1/2 Layer III), "pcm", "float"
  uint16_t bits_per_sample = 0;
  uint64_t data_offset = 0;  // WAV `data` payload offset
  uint64_t data_size = 0;
  // Text.
  uint64_t lines = 0;       // number of line terminators, +1 if the last line is unterminated
  uint64_t characters = 0;  // Unicode code points (BOM not counted)
  bool bom = false;

  // The `media` object of the embedded manifest (see docs/spec/manifest.md).
  nlohmann::json ToJson() const;
};

// Detects the media kind by content, parses its headers, and checks that the file extension
// (.mp3, .wav, .txt/.text/.md) agrees: MediaMismatch otherwise. Truncated headers →
// MediaTruncated; unsupported codecs → MediaUnsupported; bad UTF-8 → TextNotUtf8. Messages
// name the file and the fault.
Result<MediaInfo> ProbeMedia(const std::string& path);

struct PreviewRequest {
  enum class Unit { kMilliseconds, kLines, kCharacters };
  Unit unit = Unit::kMilliseconds;
  uint64_t amount = 0;
};

struct Preview {
  MediaKind kind = MediaKind::kText;  // selects the ToJson() form (audio or text)
  std::string bytes;         // a complete, playable file (MP3 with fixed Xing/Info, WAV with
                             // fixed RIFF/data sizes) or the leading text
  uint64_t duration_ms = 0;  // audio: real length of the cut
  uint64_t lines = 0;        // text
  uint64_t characters = 0;   // text
  nlohmann::json ToJson() const;  // the `preview` object of the generated manifest block
};

// Cuts the first part of the media on a frame / sample / character boundary. A request longer
// than the media yields BadPreview. Audio previews are capped at 64 MiB.
Result<Preview> CutPreview(const std::string& path, const MediaInfo& info,
                           const PreviewRequest& request);

}  // namespace capsule::packager
