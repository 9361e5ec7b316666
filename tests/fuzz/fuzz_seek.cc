// Fuzz target: seek windows (runtime-min/seek.h) — WAV RIFF walk, MP3 frame scan, the Xing and
// VBRI seek tables and the Xing frame made for a VBR window — over content a (malicious)
// creator controls: it is signed, so the runtime trusts its integrity, not its shape.
// Input: byte 0 selects WAV (bit 0 clear) or MP3, and `vbr` (bit 1); bytes 1–2 the time in ms
// (big-endian); 3–4 the manifest's bitrate_kbps; 5–8 its duration_ms; 9–12 its sample_rate;
// the rest is the content. A window must lie within the content, never be empty, and come with
// a prefix no larger than a header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime-min/seek.h"

namespace {
uint32_t Be(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 13) return 0;
  const std::string content(reinterpret_cast<const char*>(data) + 13, size - 13);
  const bool mp3 = data[0] & 1;
  const nlohmann::json media = {{"type", mp3 ? "audio/mpeg" : "audio/wav"},
                                {"vbr", (data[0] & 2) != 0},
                                {"bitrate_kbps", Be(data + 3, 2)},
                                {"duration_ms", Be(data + 5, 4)},
                                {"sample_rate", Be(data + 9, 4)}};
  const double seconds = Be(data + 1, 2) / 1000.0;
  capsule::runtime::PlainReader read = [&content](uint64_t pos, size_t n, std::string* out) {
    if (pos > content.size()) std::abort();  // the window code asked past the end
    *out = content.substr(static_cast<size_t>(pos), n);
    return capsule::Status::Ok();
  };
  auto w = capsule::runtime::TimeWindow(media, content.size(), seconds, read);
  if (!w.ok()) return 0;
  if (w->length == 0 || w->offset > content.size() || w->length > content.size() - w->offset ||
      w->prefix.size() > 64 * 1024)
    std::abort();
  return 0;
}
