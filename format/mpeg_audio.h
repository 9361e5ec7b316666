// MPEG audio frame headers (ISO/IEC 11172-3, 13818-3): shared by the packager's MP3 probe and
// preview cutter and by the runtime's seeking (`capsule-run open --from`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace capsule::format {

enum class MpegVersion : uint8_t { kMpeg1, kMpeg2, kMpeg25 };

// One decoded 4-byte frame header.
struct Mp3FrameHeader {
  MpegVersion version = MpegVersion::kMpeg1;
  int layer = 3;              // 1, 2 or 3
  bool crc = false;           // a 16-bit CRC follows the header
  uint8_t bitrate_index = 0;  // 0 = free format
  uint8_t sample_rate_index = 0;
  uint32_t bitrate_kbps = 0;  // 0 for free format
  uint32_t sample_rate = 0;
  bool padding = false;
  uint8_t channel_mode = 0;  // 3 = single channel
  uint16_t channels = 0;
  uint32_t frame_bytes = 0;      // 0 for free format (the length is not in the header)
  uint32_t samples = 0;          // samples per channel per frame (Layer III: 1152 or 576)
  uint32_t side_info_bytes = 0;  // Layer III
};

// Decodes a frame header (p must hold 4 bytes). nullopt when it is not one: no 11-bit sync,
// reserved version, layer or sample rate, bitrate index 15, reserved emphasis.
std::optional<Mp3FrameHeader> ParseMp3FrameHeader(const uint8_t* p);

// "MPEG-1", "MPEG-2", "MPEG-2.5".
const char* MpegVersionName(MpegVersion v);

// Total size of an ID3v2 tag starting at p (≥ 10 bytes), or 0 when p is not a well-formed tag
// header. Sizes are syncsafe (7 bits per byte); a v2.4 footer adds 10 bytes.
uint64_t Id3v2TagBytes(const uint8_t* p);

// Where the tag of a Xing/Info header frame starts in the Layer III frame at p (`avail` bytes of
// it) — "Xing" (VBR) or "Info" (CBR), as LAME writes them, after the side information (2 bytes
// later when the header announces a CRC: LAME never writes one, but accept it) — with at least
// the tag and its flags present; nullopt when the frame is not such a header.
std::optional<size_t> XingTagOffset(const uint8_t* p, size_t avail, const Mp3FrameHeader& h);

// A VBRI header (Fraunhofer's encoders write one in the first frame instead of a Xing tag) sits
// 32 bytes after the 4-byte frame header, whatever the version and channels. Its fixed fields,
// big-endian, then `entries` × `entry_bytes` of table: the bytes of each successive segment of
// the audio (after the header frame), divided by `scale`; each segment lasts 1/entries of the
// duration.
constexpr size_t kVbriTagOffset = 36;
constexpr size_t kVbriFixedBytes = 26;  // "VBRI", version, delay, quality, bytes, frames, table
struct VbriTag {
  uint16_t version = 0;
  uint32_t bytes = 0, frames = 0;
  uint16_t entries = 0, scale = 0, entry_bytes = 0, frames_per_entry = 0;
};
// The VBRI tag's fixed fields in the frame at p (`avail` bytes of it); nullopt when there is none.
std::optional<VbriTag> ParseVbriTag(const uint8_t* p, size_t avail);

// A complete Xing (VBR) or Info (CBR) header frame, as LAME writes one, for `frames` audio
// frames of `audio_bytes` that follow it, the first of which has the header at `first` (parsed
// as `h`): same version, sample rate and channel mode, no CRC, no padding; flags frames, bytes
// and TOC. `toc[i]`: where the frame at i % of the duration starts, counted from the first audio
// frame. A CBR stream keeps its bitrate when the tag fits, so decoders that seek by arithmetic
// still can; otherwise the smallest bitrate that holds the tag.
inline constexpr size_t kXingTocEntries = 100;
std::string MakeXingFrame(const uint8_t* first, const Mp3FrameHeader& h, bool vbr, uint32_t frames,
                          uint64_t audio_bytes, const std::array<uint64_t, kXingTocEntries>& toc);

// Frame length in bytes (0 for free format).
uint32_t Mp3FrameBytes(MpegVersion v, int layer, uint32_t kbps, uint32_t rate, bool padding);
// The table bitrate (kbit/s) of a bitrate index (0 for free format and index 15).
uint32_t Mp3Bitrate(MpegVersion v, int layer, int index);

}  // namespace capsule::format
