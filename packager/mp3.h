// MPEG audio Layer III (MP3) parsing and preview cutting; internal to the packager (DESIGN §3.10).
//
// Invariants: the file is read through a fixed-size window, never whole, so probing a file of any
// size costs O(1) memory. Duration is exact: every audio frame is walked and counted (a
// Xing/Info/VBRI frame is a header, never audio). Only Layer III with a table bitrate is accepted;
// Layer I/II and free-format streams are refused rather than guessed at.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "capsule/status.h"
#include "packager/media.h"

namespace capsule::packager {

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

// Parses and walks an MP3 file (optional ID3v2 tags, optional Xing/Info/VBRI frame, Layer III
// frames, optional trailing ID3v1/APE tags).
Result<MediaInfo> ProbeMp3(const std::string& path);

// The first whole frames covering `milliseconds` (at least two: ffmpeg cannot open an MP3 of one
// audio frame), preceded by a fresh Xing (VBR) or Info (CBR) frame that states the preview's
// frame and byte counts. No ID3 tags are copied.
Result<Preview> CutMp3Preview(const std::string& path, const MediaInfo& info,
                              uint64_t milliseconds);

}  // namespace capsule::packager
