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
#include "format/mpeg_audio.h"
#include "packager/media.h"

namespace capsule::packager {

// The frame header decoder is shared with the runtime's seeking (format/mpeg_audio.h).
using format::Mp3FrameHeader;
using format::MpegVersion;
using format::MpegVersionName;
using format::ParseMp3FrameHeader;

// Parses and walks an MP3 file (optional ID3v2 tags, optional Xing/Info/VBRI frame, Layer III
// frames, optional trailing ID3v1/APE tags).
Result<MediaInfo> ProbeMp3(const std::string& path);

// The first whole frames covering `milliseconds` (at least two: ffmpeg cannot open an MP3 of one
// audio frame), preceded by a fresh Xing (VBR) or Info (CBR) frame that states the preview's
// frame and byte counts. No ID3 tags are copied.
Result<Preview> CutMp3Preview(const std::string& path, const MediaInfo& info,
                              uint64_t milliseconds);

}  // namespace capsule::packager
