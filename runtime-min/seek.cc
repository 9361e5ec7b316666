// Seek windows for `open --range` / `--from` (runtime-min/seek.h).
#include "runtime-min/seek.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "format/bytes.h"
#include "format/mpeg_audio.h"

namespace capsule::runtime {
namespace {

constexpr size_t kHeaderRead = 64 * 1024;  // a media header must lie within the first 64 KiB

void PutU32Le(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

Status Bad(const std::string& what) { return Status(Code::Usage, "--from: " + what); }

Result<SeekWindow> WavWindow(const nlohmann::json& media, uint64_t size, double seconds,
                             const PlainReader& read) {
  std::string h;
  CAPSULE_RETURN_IF_ERROR(read(0, static_cast<size_t>(std::min<uint64_t>(size, kHeaderRead)), &h));
  if (h.size() < 12 || h.compare(0, 4, "RIFF") != 0 || h.compare(8, 4, "WAVE") != 0)
    return Status(Code::MediaUnsupported, "--from: the content is not a RIFF/WAVE file");
  uint32_t block_align = 0;
  size_t pos = 12;
  while (pos + 8 <= h.size()) {
    const uint32_t len = format::GetU32Le(reinterpret_cast<const uint8_t*>(h.data()) + pos + 4);
    if (h.compare(pos, 4, "fmt ") == 0 && pos + 8 + 14 <= h.size())
      block_align = static_cast<uint8_t>(h[pos + 8 + 12]) |
                    static_cast<uint32_t>(static_cast<uint8_t>(h[pos + 8 + 13])) << 8;
    if (h.compare(pos, 4, "data") == 0) {
      const uint64_t data_start = pos + 8;
      const uint64_t data_size = std::min<uint64_t>(len, size - std::min(size, data_start));
      const uint64_t rate = media.value("sample_rate", uint64_t{0});
      if (block_align == 0 || rate == 0)
        return Status(Code::MediaUnsupported, "--from: no usable fmt chunk before the data");
      const uint64_t frames = data_size / block_align;
      const double at = std::floor(seconds * static_cast<double>(rate));
      if (at >= static_cast<double>(frames))  // compared as doubles: any huge time is refused
        return Bad("beyond the end (" + std::to_string(frames / static_cast<double>(rate)) +
                   " s of audio)");
      const uint64_t frame = static_cast<uint64_t>(at);
      SeekWindow w;
      w.offset = data_start + frame * block_align;
      w.length = (frames - frame) * block_align;
      // The header as it was, up to the data chunk's payload, with both sizes rewritten.
      w.prefix = h.substr(0, data_start);
      PutU32Le(w.prefix, 4, data_start - 8 + w.length);
      PutU32Le(w.prefix, data_start - 4, w.length);
      return w;
    }
    pos += 8 + static_cast<size_t>(len) + (len & 1);
  }
  return Status(Code::MediaUnsupported, "--from: no data chunk in the first 64 KiB");
}

// A frame header at p whose successor, frame_bytes later, is a header of the same stream.
bool FrameAt(const std::string& s, size_t p) {
  if (p + 4 > s.size()) return false;
  auto a = format::ParseMp3FrameHeader(reinterpret_cast<const uint8_t*>(s.data() + p));
  if (!a || a->layer != 3 || a->frame_bytes == 0) return false;
  const size_t q = p + a->frame_bytes;
  if (q + 4 > s.size()) return q == s.size();  // the last frame of the window
  auto b = format::ParseMp3FrameHeader(reinterpret_cast<const uint8_t*>(s.data() + q));
  return b && b->version == a->version && b->sample_rate == a->sample_rate && b->layer == 3;
}

// The seek table of a VBR header frame, as points (fraction of the duration, byte position in
// the content) from the end of the header frame to the end of the audio it describes.
//  - Xing (LAME): for each percent of the duration, that frame's position as a fraction (in
//    1/256) of `bytes`, counted from the header frame's start; 100 % is `bytes`.
//  - VBRI (Fraunhofer): the bytes of each of `entries` segments of equal duration (× `scale`),
//    counted from the end of the header frame, as Android's and ExoPlayer's seekers read it.
struct VbrSeekTable {
  uint64_t first_audio = 0;  // the end of the header frame
  std::vector<std::pair<double, uint64_t>> points;
};

// The table of the header frame at `at` (the first frame of the audio), when that frame is a
// "Xing" header with a byte count and a TOC (a CBR file's "Info" header is not needed: arithmetic
// is exact there) or a version 1 VBRI header whose table lies in the frame; nullopt otherwise, or
// when the table points outside [at, end).
Result<std::optional<VbrSeekTable>> ReadVbrSeekTable(const PlainReader& read, uint64_t at,
                                                     uint64_t end) {
  constexpr size_t kMaxFrame = 2881;  // MPEG-1 Layer III, 320 kbit/s at 32 kHz, padded
  const std::optional<VbrSeekTable> none;
  std::string f;
  CAPSULE_RETURN_IF_ERROR(
      read(at, static_cast<size_t>(std::min<uint64_t>(kMaxFrame, end - at)), &f));
  if (f.size() < 4) return none;
  auto h = format::ParseMp3FrameHeader(reinterpret_cast<const uint8_t*>(f.data()));
  if (!h || h->layer != 3 || h->frame_bytes == 0 || h->frame_bytes > f.size()) return none;
  const auto* b = reinterpret_cast<const uint8_t*>(f.data());
  const size_t avail = h->frame_bytes;
  VbrSeekTable t;
  t.first_audio = at + h->frame_bytes;
  if (const std::optional<size_t> off = format::XingTagOffset(b, avail, *h)) {
    if (f.compare(*off, 4, "Xing") != 0) return none;
    const uint32_t flags = format::GetU32Be(b + *off + 4);
    size_t field = *off + 8;
    if (flags & 1) field += 4;  // frame count
    if (!(flags & 2) || !(flags & 4) || field + 4 + 100 > avail) return none;
    const uint32_t bytes = format::GetU32Be(b + field);
    if (bytes <= h->frame_bytes || at + bytes > end) return none;
    for (int i = 0; i <= 100; ++i) {
      const double fx = i < 100 ? b[field + 4 + i] : 256.0;
      t.points.emplace_back(i / 100.0, at + static_cast<uint64_t>(fx / 256.0 * bytes));
    }
    return std::optional<VbrSeekTable>(std::move(t));
  }
  const std::optional<format::VbriTag> v = format::ParseVbriTag(b, avail);
  if (!v || v->version != 1 || v->entries == 0 || v->scale == 0 || v->entry_bytes == 0 ||
      v->entry_bytes > 4)
    return none;
  const size_t table = format::kVbriTagOffset + format::kVbriFixedBytes;
  if (table + size_t{v->entries} * v->entry_bytes > avail) return none;
  uint64_t pos = t.first_audio;
  for (size_t i = 0; i <= v->entries; ++i) {
    t.points.emplace_back(static_cast<double>(i) / v->entries, pos);
    if (i == v->entries) break;
    uint64_t n = 0;
    for (size_t k = 0; k < v->entry_bytes; ++k) n = n << 8 | b[table + i * v->entry_bytes + k];
    pos += n * v->scale;  // ≤ 2^48: no overflow while pos ≤ end
    if (pos > end) return none;
  }
  return std::optional<VbrSeekTable>(std::move(t));
}

// The position the table gives for `fraction` of the duration, interpolated linearly within a
// segment as players do (at least the end of the header frame).
uint64_t TablePosition(const VbrSeekTable& t, double fraction) {
  const auto& p = t.points;
  size_t k = 0;
  while (k + 2 < p.size() && p[k + 1].first <= fraction) ++k;
  const double span = p[k + 1].first - p[k].first;
  const double x = std::clamp((fraction - p[k].first) / span, 0.0, 1.0);
  const double pos = static_cast<double>(p[k].second) +
                     x * (static_cast<double>(p[k + 1].second) - static_cast<double>(p[k].second));
  return std::max<uint64_t>(t.first_audio, static_cast<uint64_t>(pos));
}

// A Xing header frame for window `w` of a VBR file (whose own header frame stays behind, with
// everything before the window): players take the duration from its frame count and seek with
// its TOC. The byte count is exact; the frame count and the TOC come from the file's table, as
// the window's start does: within one of its segments (about 1 % of the duration for LAME's).
// `first` is the window's first frame header; `duration` the audio's, in seconds.
std::string XingPrefix(const VbrSeekTable& t, double duration, const SeekWindow& w,
                       const uint8_t* first) {
  const std::optional<format::Mp3FrameHeader> h = format::ParseMp3FrameHeader(first);
  if (!h || h->samples == 0) return {};
  const double total = std::round(duration * h->sample_rate / h->samples);  // audio frames
  // The fraction of the duration where the window starts: the table inverted by bisection.
  double lo = 0, hi = 1;
  for (int i = 0; i < 48; ++i) {
    const double mid = (lo + hi) / 2;
    (TablePosition(t, mid) < w.offset ? lo : hi) = mid;
  }
  const double start = hi;
  const double frames = std::max(1.0, std::round(total * (1 - start)));
  std::array<uint64_t, format::kXingTocEntries> toc;
  for (size_t i = 0; i < toc.size(); ++i) {
    const uint64_t pos = TablePosition(t, start + (1 - start) * static_cast<double>(i) / 100);
    toc[i] = pos > w.offset ? std::min(pos - w.offset, w.length) : 0;
  }
  return format::MakeXingFrame(first, *h, /*vbr=*/true, static_cast<uint32_t>(frames), w.length,
                               toc);
}

Result<SeekWindow> Mp3Window(const nlohmann::json& media, uint64_t size, double seconds,
                             const PlainReader& read) {
  std::string h;
  CAPSULE_RETURN_IF_ERROR(read(0, static_cast<size_t>(std::min<uint64_t>(size, kHeaderRead)), &h));
  const uint64_t audio_start =
      h.size() >= 10 ? format::Id3v2TagBytes(reinterpret_cast<const uint8_t*>(h.data())) : 0;
  uint64_t audio_end = size;
  if (size >= 128) {
    std::string tail;
    CAPSULE_RETURN_IF_ERROR(read(size - 128, 128, &tail));
    if (tail.compare(0, 3, "TAG") == 0) audio_end = size - 128;  // ID3v1
  }
  const uint64_t kbps = media.value("bitrate_kbps", uint64_t{0});
  const double duration = media.value("duration_ms", uint64_t{0}) / 1000.0;
  if (kbps == 0 || audio_end <= audio_start)
    return Status(Code::MediaUnsupported, "--from: no bitrate for this MP3");
  if (seconds >= duration) return Bad("beyond the end (" + std::to_string(duration) + " s)");
  uint64_t target = audio_start + static_cast<uint64_t>(seconds * kbps * 1000.0 / 8.0);
  std::optional<VbrSeekTable> table;
  if (media.value("vbr", false)) {
    // VBR: the average bitrate can be far off where the bitrate varies; the header frame's
    // table (Xing or VBRI), when there is one, places the time within one of its segments.
    CAPSULE_ASSIGN_OR_RETURN(table, ReadVbrSeekTable(read, audio_start, audio_end));
    if (table) target = TablePosition(*table, std::clamp(seconds / duration, 0.0, 1.0));
  }
  // Find the first frame at or after the target (a frame is at most 2881 bytes).
  constexpr size_t kScan = 16 * 1024;
  while (target < audio_end) {
    std::string win;
    CAPSULE_RETURN_IF_ERROR(
        read(target, static_cast<size_t>(std::min<uint64_t>(kScan, audio_end - target)), &win));
    for (size_t p = 0; p + 4 <= win.size(); ++p) {
      if (static_cast<uint8_t>(win[p]) != 0xFF || !FrameAt(win, p)) continue;
      SeekWindow w;
      w.offset = target + p;
      w.length = audio_end - w.offset;
      if (table)
        w.prefix =
            XingPrefix(*table, duration, w, reinterpret_cast<const uint8_t*>(win.data() + p));
      return w;
    }
    if (win.size() < kScan) break;
    target += kScan - 4;
  }
  return Bad("no MP3 frame after " + std::to_string(seconds) + " s");
}

}  // namespace

Result<SeekWindow> RangeWindow(const std::string& spec, uint64_t size) {
  auto dash = spec.find('-');
  auto num = [](const std::string& s, uint64_t* v) {
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    *v = std::stoull(s);
    return true;
  };
  uint64_t first = 0, last = size ? size - 1 : 0;
  if (dash == std::string::npos || !num(spec.substr(0, dash), &first) ||
      (dash + 1 < spec.size() && !num(spec.substr(dash + 1), &last)))
    return Status(Code::Usage, "--range " + spec + ": expected FIRST-LAST or FIRST- (bytes)");
  if (first > last || first >= size)
    return Status(Code::Usage, "--range " + spec + ": not within the content (" +
                                   std::to_string(size) + " bytes)");
  SeekWindow w;
  w.offset = first;
  w.length = std::min(last, size - 1) - first + 1;
  return w;
}

Result<SeekWindow> TimeWindow(const nlohmann::json& media, uint64_t size, double seconds,
                              const PlainReader& read) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return Bad("expected seconds ≥ 0");
  const std::string type = media.is_object() ? media.value("type", std::string()) : "";
  if (type == "audio/wav") return WavWindow(media, size, seconds, read);
  if (type == "audio/mpeg") return Mp3Window(media, size, seconds, read);
  return Status(Code::Usage, "--from needs audio (MP3 or WAV); this capsule holds " +
                                 (type.empty() ? std::string("unknown media") : type) +
                                 " (use --range for bytes)");
}

}  // namespace capsule::runtime
