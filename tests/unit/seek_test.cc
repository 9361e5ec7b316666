// Seek windows of `capsule-run open --from` on MP3s whose first frame is a VBRI header
// (runtime-min/seek.h): the table places the time, and a table that cannot be trusted to lie
// within the file is ignored for the average bitrate. Built in memory: MPEG-1 Layer III,
// 44.1 kHz mono, 128 kbit/s frames of 417 bytes (the Xing case is covered by cli/seek_test.sh
// with LAME's own files).
#include "runtime-min/seek.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using capsule::runtime::PlainReader;
using capsule::runtime::SeekWindow;
using capsule::runtime::TimeWindow;

namespace {

constexpr size_t kFrame = 417;  // 144000 × 128 / 44100, unpadded
constexpr int kAudioFrames = 100;
constexpr double kFrameSeconds = 1152.0 / 44100.0;

std::string Frame(char fill) {
  std::string f(kFrame, fill);
  f[0] = '\xFF';
  f[1] = '\xFB';  // MPEG-1, Layer III, no CRC
  f[2] = '\x90';  // 128 kbit/s, 44.1 kHz, unpadded
  f[3] = '\xC4';  // single channel
  return f;
}

void PutBe(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
}

struct Vbri {
  uint16_t version = 1, scale = 1, entry_bytes = 2;
  std::vector<uint32_t> entries;  // as stored (bytes / scale)
  size_t declared_entries = 0;    // 0: entries.size()
};

// A header frame carrying `v`, then kAudioFrames audio frames.
std::string Mp3(const Vbri& v) {
  std::string head = Frame('\0');
  const size_t tag = 36;
  head.replace(tag, 4, "VBRI");
  PutBe(head, tag + 4, v.version, 2);
  PutBe(head, tag + 10, kFrame * (kAudioFrames + 1), 4);
  PutBe(head, tag + 14, kAudioFrames, 4);
  PutBe(head, tag + 18, v.declared_entries ? v.declared_entries : v.entries.size(), 2);
  PutBe(head, tag + 20, v.scale, 2);
  PutBe(head, tag + 22, v.entry_bytes, 2);
  PutBe(head, tag + 24, 1, 2);
  for (size_t i = 0; i < v.entries.size() && tag + 26 + (i + 1) * v.entry_bytes <= kFrame; ++i)
    PutBe(head, tag + 26 + i * v.entry_bytes, v.entries[i], v.entry_bytes);
  std::string s = head;
  for (int i = 0; i < kAudioFrames; ++i) s += Frame(static_cast<char>('a' + i % 26));
  return s;
}

nlohmann::json Media() {
  return {{"type", "audio/mpeg"},
          {"bitrate_kbps", 128},
          {"vbr", true},
          {"duration_ms", static_cast<uint64_t>(kAudioFrames * kFrameSeconds * 1000)}};
}

// The audio frame (0-based, after the header frame) a --from of `fraction` of the duration
// starts at.
int FromFrame(const std::string& mp3, double fraction) {
  PlainReader read = [&mp3](uint64_t pos, size_t n, std::string* out) {
    *out = mp3.substr(static_cast<size_t>(pos), n);
    return capsule::Status::Ok();
  };
  const double seconds = fraction * (Media()["duration_ms"].get<uint64_t>() / 1000.0);
  auto w = TimeWindow(Media(), mp3.size(), seconds, read);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return -1;
  EXPECT_EQ(w->offset % kFrame, 0u);
  EXPECT_EQ(w->offset + w->length, mp3.size());
  return static_cast<int>(w->offset / kFrame) - 1;
}

// Segments of 10, 40, 40 and 10 frames: the first quarter of the time is 10 frames long.
Vbri Uneven() {
  Vbri v;
  v.entries = {10 * kFrame, 40 * kFrame, 40 * kFrame, 10 * kFrame};
  return v;
}

TEST(SeekVbri, TablePlacesTheTime) {
  const std::string mp3 = Mp3(Uneven());
  EXPECT_EQ(FromFrame(mp3, 0.0), 0);
  EXPECT_EQ(FromFrame(mp3, 0.25), 10);    // a segment boundary
  EXPECT_EQ(FromFrame(mp3, 0.375), 30);   // half way through the second segment
  EXPECT_EQ(FromFrame(mp3, 0.8125), 93);  // 2.5 frames into the last: the next frame
}

TEST(SeekVbri, ScaleAndEntrySizes) {
  Vbri v = Uneven();
  v.scale = 3;
  v.entry_bytes = 3;
  for (auto& e : v.entries) e /= 3;  // 417 = 3 × 139
  const std::string mp3 = Mp3(v);
  EXPECT_EQ(FromFrame(mp3, 0.25), 10);
  EXPECT_EQ(FromFrame(mp3, 0.375), 30);
}

// Without a usable table, the average bitrate (here the real one: frames are all 417 bytes).
TEST(SeekVbri, UnusableTablesAreIgnored) {
  const auto at_quarter = [](void (*change)(Vbri&)) {
    Vbri v = Uneven();
    change(v);
    return FromFrame(Mp3(v), 0.25);
  };
  EXPECT_EQ(at_quarter([](Vbri&) {}), 10);  // the table is used
  EXPECT_EQ(at_quarter([](Vbri& v) { v.version = 2; }), 25);
  EXPECT_EQ(at_quarter([](Vbri& v) { v.entry_bytes = 0; }), 25);
  EXPECT_EQ(at_quarter([](Vbri& v) { v.entry_bytes = 5; }), 25);
  EXPECT_EQ(at_quarter([](Vbri& v) { v.scale = 0; }), 25);
  // 400 bytes of table: past the end of the 417-byte frame.
  EXPECT_EQ(at_quarter([](Vbri& v) { v.declared_entries = 200; }), 25);
  // One frame past the end of the audio.
  EXPECT_EQ(at_quarter([](Vbri& v) { v.entries[3] = 11 * kFrame; }), 25);
  EXPECT_EQ(at_quarter([](Vbri& v) {  // 2^48 bytes each
              v.entry_bytes = 4;
              v.scale = 65535;
              v.entries = {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
            }),
            25);
}

}  // namespace
