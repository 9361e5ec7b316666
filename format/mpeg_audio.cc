// MPEG audio frame headers: the tables of ISO/IEC 11172-3 / 13818-3 (written here: no Debian
// library exposes a header decoder without pulling in a whole decoder).
#include "format/mpeg_audio.h"

#include <algorithm>
#include <cstring>

#include "format/bytes.h"

namespace capsule::format {
namespace {

// [MPEG-1 | MPEG-2/2.5][Layer I, II, III][bitrate index], kbit/s.
constexpr uint32_t kBitrates[2][3][16] = {
    {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
     {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
     {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}},
    {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}}};
constexpr uint32_t kSampleRates[3][3] = {
    {44100, 48000, 32000}, {22050, 24000, 16000}, {11025, 12000, 8000}};

}  // namespace

uint32_t Mp3FrameBytes(MpegVersion v, int layer, uint32_t kbps, uint32_t rate, bool padding) {
  if (kbps == 0) return 0;
  uint32_t pad = padding ? 1 : 0;
  if (layer == 1) return (12000 * kbps / rate + pad) * 4;
  if (layer == 2 || v == MpegVersion::kMpeg1) return 144000 * kbps / rate + pad;
  return 72000 * kbps / rate + pad;
}

uint32_t Mp3Bitrate(MpegVersion v, int layer, int index) {
  if (layer < 1 || layer > 3 || index < 0 || index > 15) return 0;
  return kBitrates[v == MpegVersion::kMpeg1 ? 0 : 1][layer - 1][index];
}

const char* MpegVersionName(MpegVersion v) {
  switch (v) {
    case MpegVersion::kMpeg1:
      return "MPEG-1";
    case MpegVersion::kMpeg2:
      return "MPEG-2";
    case MpegVersion::kMpeg25:
      return "MPEG-2.5";
  }
  return "MPEG";
}

std::optional<Mp3FrameHeader> ParseMp3FrameHeader(const uint8_t* p) {
  if (p[0] != 0xFF || (p[1] & 0xE0) != 0xE0) return std::nullopt;
  const int version_bits = (p[1] >> 3) & 3;
  const int layer_bits = (p[1] >> 1) & 3;
  const int bitrate_index = p[2] >> 4;
  const int rate_index = (p[2] >> 2) & 3;
  if (version_bits == 1 || layer_bits == 0 || bitrate_index == 15 || rate_index == 3 ||
      (p[3] & 3) == 2)
    return std::nullopt;
  Mp3FrameHeader h;
  h.version = version_bits == 3   ? MpegVersion::kMpeg1
              : version_bits == 2 ? MpegVersion::kMpeg2
                                  : MpegVersion::kMpeg25;
  h.layer = 4 - layer_bits;
  h.crc = (p[1] & 1) == 0;
  h.bitrate_index = static_cast<uint8_t>(bitrate_index);
  h.sample_rate_index = static_cast<uint8_t>(rate_index);
  const int vi = h.version == MpegVersion::kMpeg1 ? 0 : 1;
  h.bitrate_kbps = kBitrates[vi][h.layer - 1][bitrate_index];
  h.sample_rate = kSampleRates[static_cast<int>(h.version)][rate_index];
  h.padding = (p[2] >> 1) & 1;
  h.channel_mode = static_cast<uint8_t>(p[3] >> 6);
  h.channels = h.channel_mode == 3 ? 1 : 2;
  h.samples = h.layer == 1 ? 384 : (h.layer == 2 || vi == 0) ? 1152 : 576;
  h.frame_bytes = Mp3FrameBytes(h.version, h.layer, h.bitrate_kbps, h.sample_rate, h.padding);
  if (h.layer == 3)
    h.side_info_bytes = vi == 0 ? (h.channels == 1 ? 17 : 32) : (h.channels == 1 ? 9 : 17);
  return h;
}

std::optional<size_t> XingTagOffset(const uint8_t* p, size_t avail, const Mp3FrameHeader& h) {
  const size_t offsets[2] = {4 + size_t{h.side_info_bytes}, 6 + size_t{h.side_info_bytes}};
  for (int i = 0; i < (h.crc ? 2 : 1); ++i) {
    const size_t off = offsets[i];
    if (off + 8 <= avail &&
        (std::memcmp(p + off, "Xing", 4) == 0 || std::memcmp(p + off, "Info", 4) == 0))
      return off;
  }
  return std::nullopt;
}

std::optional<VbriTag> ParseVbriTag(const uint8_t* p, size_t avail) {
  if (avail < kVbriTagOffset + kVbriFixedBytes || std::memcmp(p + kVbriTagOffset, "VBRI", 4) != 0)
    return std::nullopt;
  const uint8_t* q = p + kVbriTagOffset + 4;
  auto u16 = [](const uint8_t* b) { return static_cast<uint16_t>(b[0] << 8 | b[1]); };
  VbriTag t;
  t.version = u16(q);
  t.bytes = GetU32Be(q + 6);
  t.frames = GetU32Be(q + 10);
  t.entries = u16(q + 14);
  t.scale = u16(q + 16);
  t.entry_bytes = u16(q + 18);
  t.frames_per_entry = u16(q + 20);
  return t;
}

uint64_t Id3v2TagBytes(const uint8_t* p) {
  if (std::memcmp(p, "ID3", 3) != 0) return 0;
  if (p[3] < 2 || p[3] > 4 || p[4] == 0xFF) return 0;
  if ((p[6] | p[7] | p[8] | p[9]) & 0x80) return 0;
  const uint64_t size = uint64_t(p[6]) << 21 | uint64_t(p[7]) << 14 | uint64_t(p[8]) << 7 | p[9];
  return 10 + size + ((p[5] & 0x10) ? 10 : 0);
}

std::string MakeXingFrame(const uint8_t* first, const Mp3FrameHeader& h, bool vbr, uint32_t frames,
                          uint64_t audio_bytes, const std::array<uint64_t, kXingTocEntries>& toc) {
  const uint32_t needed = 4 + h.side_info_bytes + 4 + 4 + 4 + 4 + kXingTocEntries;
  uint8_t index = 0;
  if (!vbr && Mp3FrameBytes(h.version, 3, h.bitrate_kbps, h.sample_rate, false) >= needed)
    index = h.bitrate_index;
  for (uint8_t i = 1; index == 0 && i < 15; ++i)
    if (Mp3FrameBytes(h.version, 3, Mp3Bitrate(h.version, 3, i), h.sample_rate, false) >= needed)
      index = i;
  const uint32_t bytes =
      Mp3FrameBytes(h.version, 3, Mp3Bitrate(h.version, 3, index), h.sample_rate, false);

  std::string frame(bytes, '\0');
  frame[0] = static_cast<char>(0xFF);
  frame[1] = static_cast<char>(first[1] | 0x01);  // protection bit set: no CRC
  frame[2] = static_cast<char>((index << 4) | (first[2] & 0x0C) | (first[2] & 0x01));
  frame[3] = static_cast<char>(first[3] & 0xCF);  // mode extension cleared
  const size_t off = 4 + h.side_info_bytes;
  std::memcpy(&frame[off], vbr ? "Xing" : "Info", 4);
  Bytes fields;
  PutU32Be(fields, 0x7);  // frames, bytes, TOC
  PutU32Be(fields, frames);
  const uint64_t total = bytes + audio_bytes;
  PutU32Be(fields, static_cast<uint32_t>(total));
  std::memcpy(&frame[off + 4], fields.data(), fields.size());
  // TOC: for each percent of the duration, the byte position of that frame / total × 256.
  for (size_t i = 0; i < kXingTocEntries; ++i)
    frame[off + 16 + i] =
        static_cast<char>(std::min<uint64_t>(255, (bytes + toc[i]) * 256 / total));
  return frame;
}

}  // namespace capsule::format
