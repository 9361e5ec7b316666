// MP3 parsing and preview cutting (DESIGN §3.10).
//
// The file is read through one 64 KiB window (Window below), so memory does not depend on the
// input size. Layout accepted: ID3v2 tags (any number, syncsafe sizes, optional footer), then
// Layer III frames of one MPEG version and sample rate, the first of which may be a
// Xing/Info/VBRI header frame (not audio), then optional ID3v1/APE/appended-ID3v2 tags. Bytes that
// are not a frame between frames are skipped by a bounded resynchronisation (a candidate must be
// followed by another matching header); if none is found the audio ends there. A final frame cut
// short by the end of the file is not counted. Duration = counted frames × samples per frame.
#include "packager/mp3.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "format/bytes.h"
#include "format/file.h"

namespace capsule::packager {
namespace {

using format::GetU32Be;
using format::GetU32Le;

constexpr uint64_t kFirstFrameSearch = 256 * 1024;  // after the leading ID3v2 tags
constexpr uint64_t kResyncSearch = 64 * 1024;       // between frames
constexpr uint64_t kMaxPreviewBytes = 64ull << 20;

std::string LayerName(int layer) { return layer == 1 ? "I" : layer == 2 ? "II" : "III"; }

std::string Describe(const Mp3FrameHeader& h) {
  return std::string(MpegVersionName(h.version)) + " Layer " + LayerName(h.layer);
}

bool SameStream(const Mp3FrameHeader& a, const Mp3FrameHeader& b) {
  return a.version == b.version && a.layer == b.layer && a.sample_rate == b.sample_rate;
}

// A fixed window over the file: Fetch makes up to n (≤ kSize) bytes at `pos` contiguous.
class Window {
 public:
  static constexpr size_t kSize = 64 * 1024;
  explicit Window(const format::InputFile& file) : file_(file), buf_(kSize) {}

  // *avail = bytes available before the end of the file (≤ n).
  Status Fetch(uint64_t pos, size_t n, const uint8_t** p, size_t* avail) {
    const uint64_t size = file_.size();
    const size_t want = pos >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(n, size - pos));
    *avail = want;
    *p = nullptr;
    if (want == 0) return Status::Ok();
    if (len_ == 0 || pos < start_ || pos + want > start_ + len_) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(kSize, size - pos));
      CAPSULE_RETURN_IF_ERROR(file_.ReadAt(pos, buf_.data(), len));
      start_ = pos;
      len_ = len;
    }
    *p = buf_.data() + (pos - start_);
    return Status::Ok();
  }

 private:
  const format::InputFile& file_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

std::string At(uint64_t offset) { return "offset " + std::to_string(offset); }

// Walks the frames of one MP3 file. Open() places it on the first audio frame; Next() returns
// each audio frame in turn.
class Mp3Stream {
 public:
  Mp3Stream(const format::InputFile& file, const std::string& path)
      : file_(file), window_(file), path_(path) {}

  Status Open();
  // Sets *found = false at the end of the audio.
  Status Next(bool* found, uint64_t* offset, Mp3FrameHeader* header);
  Status Fetch(uint64_t pos, size_t n, const uint8_t** p, size_t* avail) {
    return window_.Fetch(pos, n, p, avail);
  }

  bool has_id3v2() const { return has_id3v2_; }
  bool has_xing() const { return has_xing_; }

 private:
  Status Error(Code code, const std::string& what) const {
    return Status(code, path_ + ": " + what);
  }
  Status SkipLeadingId3v2(uint64_t* pos);
  Status FindAudioEnd(uint64_t start);
  Status LocateFirstFrame(uint64_t start, uint64_t* frame_pos, Mp3FrameHeader* header);
  Status Confirm(uint64_t pos, const Mp3FrameHeader& h, bool* ok);
  Status DetectHeaderFrame(uint64_t pos, const Mp3FrameHeader& h, bool* is_header);
  Status Resync(uint64_t from, bool* found);

  const format::InputFile& file_;
  Window window_;
  std::string path_;
  uint64_t pos_ = 0;
  uint64_t end_ = 0;       // end of the audio: the file minus trailing tags
  Mp3FrameHeader stream_;  // version, layer and sample rate every frame must share
  bool has_id3v2_ = false;
  bool has_xing_ = false;
};

Status Mp3Stream::SkipLeadingId3v2(uint64_t* pos) {
  for (;;) {
    const uint8_t* p;
    size_t avail;
    CAPSULE_RETURN_IF_ERROR(window_.Fetch(*pos, 10, &p, &avail));
    if (avail < 3 || std::memcmp(p, "ID3", 3) != 0) return Status::Ok();
    if (avail < 10)
      return Error(Code::MediaTruncated, "file ends inside the ID3v2 header at " + At(*pos));
    const uint64_t bytes = format::Id3v2TagBytes(p);
    if (bytes == 0) return Error(Code::MediaTruncated, "malformed ID3v2 header at " + At(*pos));
    if (bytes > file_.size() - *pos)
      return Error(Code::MediaTruncated, "ID3v2 tag at " + At(*pos) + " declares " +
                                             std::to_string(bytes) + " bytes but the file ends " +
                                             std::to_string(file_.size() - *pos) + " bytes later");
    *pos += bytes;
    has_id3v2_ = true;
  }
}

// Trailing tags are not audio: ID3v1 (last 128 bytes), APEv2/v1 (footer "APETAGEX"), and an
// appended ID3v2 tag with a footer ("3DI"), in any order the taggers write them.
Status Mp3Stream::FindAudioEnd(uint64_t start) {
  end_ = file_.size();
  for (bool changed = true; changed;) {
    changed = false;
    const uint8_t* p;
    size_t avail;
    if (end_ - start >= 128) {
      CAPSULE_RETURN_IF_ERROR(window_.Fetch(end_ - 128, 3, &p, &avail));
      if (std::memcmp(p, "TAG", 3) == 0) {
        end_ -= 128;
        changed = true;
        continue;
      }
    }
    if (end_ - start >= 32) {
      CAPSULE_RETURN_IF_ERROR(window_.Fetch(end_ - 32, 32, &p, &avail));
      if (std::memcmp(p, "APETAGEX", 8) == 0) {
        const uint64_t bytes = uint64_t(GetU32Le(p + 12)) + ((GetU32Le(p + 20) >> 31) ? 32 : 0);
        if (bytes >= 32 && bytes <= end_ - start) {
          end_ -= bytes;
          changed = true;
          continue;
        }
      }
    }
    if (end_ - start >= 20) {
      CAPSULE_RETURN_IF_ERROR(window_.Fetch(end_ - 10, 10, &p, &avail));
      if (std::memcmp(p, "3DI", 3) == 0 && p[3] == 4 && !((p[6] | p[7] | p[8] | p[9]) & 0x80)) {
        const uint64_t bytes =
            20 + (uint64_t(p[6]) << 21 | uint64_t(p[7]) << 14 | uint64_t(p[8]) << 7 | p[9]);
        if (bytes <= end_ - start) {
          end_ -= bytes;
          changed = true;
        }
      }
    }
  }
  return Status::Ok();
}

// A candidate header is believed when the next frame starts with a matching header, a tag, or
// the end of the audio.
Status Mp3Stream::Confirm(uint64_t pos, const Mp3FrameHeader& h, bool* ok) {
  *ok = false;
  if (h.frame_bytes == 0 || h.frame_bytes > end_ - pos) return Status::Ok();
  const uint64_t next = pos + h.frame_bytes;
  if (next == end_) {
    *ok = true;
    return Status::Ok();
  }
  const uint8_t* p;
  size_t avail;
  CAPSULE_RETURN_IF_ERROR(window_.Fetch(next, 10, &p, &avail));
  if (avail >= 4) {
    auto n = ParseMp3FrameHeader(p);
    if (n && SameStream(*n, h)) *ok = true;
  }
  if (avail >= 10 && format::Id3v2TagBytes(p) != 0) *ok = true;
  if (avail >= 3 && std::memcmp(p, "TAG", 3) == 0) *ok = true;
  if (avail >= 8 && std::memcmp(p, "APETAGEX", 8) == 0) *ok = true;
  return Status::Ok();
}

Status Mp3Stream::LocateFirstFrame(uint64_t start, uint64_t* frame_pos, Mp3FrameHeader* header) {
  const uint64_t limit = std::min(end_, start + kFirstFrameSearch);
  for (uint64_t pos = start; pos < limit && end_ - pos >= 4; ++pos) {
    const uint8_t* p;
    size_t avail;
    CAPSULE_RETURN_IF_ERROR(window_.Fetch(pos, 4, &p, &avail));
    if (p[0] != 0xFF) continue;
    auto h = ParseMp3FrameHeader(p);
    if (!h) continue;
    // Where a frame must be (right after the tags), an unsupported but well-formed header is
    // reported as what it is; elsewhere it would only be a chance match.
    if (h->bitrate_index == 0) {
      if (pos == start)
        return Error(Code::MediaUnsupported, Describe(*h) + " frame at " + At(pos) +
                                                 " uses a free-format bitrate (not supported)");
      continue;
    }
    bool ok;
    CAPSULE_RETURN_IF_ERROR(Confirm(pos, *h, &ok));
    if (h->layer != 3) {
      if (pos == start || ok)
        return Error(Code::MediaUnsupported,
                     Describe(*h) + " audio is not supported (only Layer III, i.e. MP3)");
      continue;
    }
    if (!ok) continue;
    *frame_pos = pos;
    *header = *h;
    return Status::Ok();
  }
  std::string where = has_id3v2_ ? "after the ID3v2 tag (" + At(start) + ")" : "at its start";
  if (limit == end_)
    return Error(Code::MediaTruncated,
                 "no complete MPEG audio frame " + where +
                     " that is followed by another, by a tag or by the end of the file (" +
                     std::to_string(file_.size()) + " bytes)");
  return Error(Code::MediaTruncated, "no MPEG audio frame within " +
                                         std::to_string(kFirstFrameSearch) + " bytes " + where);
}

// The Xing/Info tag sits after the side information (LAME never adds a CRC to that frame, but
// accept one); VBRI (Fraunhofer) sits 32 bytes after the header.
Status Mp3Stream::DetectHeaderFrame(uint64_t pos, const Mp3FrameHeader& h, bool* is_header) {
  *is_header = false;
  const uint8_t* p;
  size_t avail;
  CAPSULE_RETURN_IF_ERROR(window_.Fetch(pos, h.frame_bytes, &p, &avail));
  if (format::XingTagOffset(p, avail, h)) {
    has_xing_ = true;
    *is_header = true;
    return Status::Ok();
  }
  if (format::ParseVbriTag(p, avail)) *is_header = true;
  return Status::Ok();
}

Status Mp3Stream::Open() {
  uint64_t pos = 0;
  CAPSULE_RETURN_IF_ERROR(SkipLeadingId3v2(&pos));
  CAPSULE_RETURN_IF_ERROR(FindAudioEnd(pos));
  uint64_t frame_pos = 0;
  CAPSULE_RETURN_IF_ERROR(LocateFirstFrame(pos, &frame_pos, &stream_));
  bool is_header;
  CAPSULE_RETURN_IF_ERROR(DetectHeaderFrame(frame_pos, stream_, &is_header));
  pos_ = frame_pos + (is_header ? stream_.frame_bytes : 0);
  return Status::Ok();
}

Status Mp3Stream::Resync(uint64_t from, bool* found) {
  *found = false;
  const uint64_t limit = std::min(end_, from + kResyncSearch);
  for (uint64_t pos = from; pos < limit && end_ - pos >= 4; ++pos) {
    const uint8_t* p;
    size_t avail;
    CAPSULE_RETURN_IF_ERROR(window_.Fetch(pos, 4, &p, &avail));
    if (p[0] != 0xFF) continue;
    auto h = ParseMp3FrameHeader(p);
    if (!h || !SameStream(*h, stream_) || h->bitrate_index == 0) continue;
    bool ok;
    CAPSULE_RETURN_IF_ERROR(Confirm(pos, *h, &ok));
    if (ok) {
      pos_ = pos;
      *found = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Mp3Stream::Next(bool* found, uint64_t* offset, Mp3FrameHeader* header) {
  *found = false;
  while (pos_ < end_ && end_ - pos_ >= 4) {
    const uint8_t* p;
    size_t avail;
    CAPSULE_RETURN_IF_ERROR(window_.Fetch(pos_, 32, &p, &avail));
    auto h = ParseMp3FrameHeader(p);
    if (h && SameStream(*h, stream_) && h->bitrate_index != 0) {
      if (h->frame_bytes > end_ - pos_) break;  // last frame cut short: not audio
      *found = true;
      *offset = pos_;
      *header = *h;
      pos_ += h->frame_bytes;
      return Status::Ok();
    }
    // Tags between frames (some streams carry them), then garbage.
    if (avail >= 10) {
      const uint64_t bytes = format::Id3v2TagBytes(p);
      if (bytes != 0 && bytes <= end_ - pos_) {
        pos_ += bytes;
        continue;
      }
    }
    if (avail >= 32 && std::memcmp(p, "APETAGEX", 8) == 0 && (GetU32Le(p + 20) >> 29 & 1)) {
      const uint64_t bytes = 32 + uint64_t(GetU32Le(p + 12));
      if (bytes <= end_ - pos_) {
        pos_ += bytes;
        continue;
      }
    }
    bool resynced;
    CAPSULE_RETURN_IF_ERROR(Resync(pos_ + 1, &resynced));
    if (!resynced) break;
  }
  pos_ = end_;
  return Status::Ok();
}

}  // namespace

Result<MediaInfo> ProbeMp3(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  Mp3Stream stream(file, path);
  CAPSULE_RETURN_IF_ERROR(stream.Open());

  MediaInfo info;
  info.kind = MediaKind::kMp3;
  info.mime = "audio/mpeg";
  info.codec = "mp3";
  info.size_bytes = file.size();
  info.has_id3v2 = stream.has_id3v2();
  info.has_xing = stream.has_xing();
  Mp3FrameHeader first, h;
  uint64_t audio_bytes = 0;
  for (;;) {
    bool found;
    uint64_t offset;
    CAPSULE_RETURN_IF_ERROR(stream.Next(&found, &offset, &h));
    if (!found) break;
    if (info.frames == 0) first = h;
    if (h.bitrate_index != first.bitrate_index) info.vbr = true;
    ++info.frames;
    audio_bytes += h.frame_bytes;
  }
  if (info.frames == 0)
    return Status(Code::MediaTruncated, path + ": no complete audio frame after the " +
                                            (info.has_xing ? "Xing/Info" : "VBRI") + " header");
  info.sample_rate = first.sample_rate;
  info.channels = first.channels;
  const uint64_t samples = info.frames * first.samples;
  info.duration_ms = samples * 1000 / first.sample_rate;
  if (info.vbr) {
    const uint64_t denominator = samples * 1000;
    info.bitrate_kbps = static_cast<uint32_t>(
        (audio_bytes * 8 * first.sample_rate + denominator / 2) / denominator);
  } else {
    info.bitrate_kbps = first.bitrate_kbps;
  }
  return info;
}

Result<Preview> CutMp3Preview(const std::string& path, const MediaInfo& info,
                              uint64_t milliseconds) {
  if (milliseconds > info.duration_ms)
    return Status(Code::BadPreview, path + ": preview of " + std::to_string(milliseconds) +
                                        " ms is longer than the audio (" +
                                        std::to_string(info.duration_ms) + " ms)");
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  Mp3Stream stream(file, path);
  CAPSULE_RETURN_IF_ERROR(stream.Open());

  std::string audio;
  std::vector<uint64_t> offsets;  // of each frame within `audio`
  Mp3FrameHeader first, h;
  uint64_t wanted = 1;
  bool varied = false;
  while (offsets.size() < wanted) {
    bool found;
    uint64_t offset;
    CAPSULE_RETURN_IF_ERROR(stream.Next(&found, &offset, &h));
    if (!found)
      return Status(Code::BadPreview, path + ": preview of " + std::to_string(milliseconds) +
                                          " ms needs " + std::to_string(wanted) +
                                          " frames but the audio has only " +
                                          std::to_string(offsets.size()));
    if (offsets.empty()) {
      first = h;
      // Whole frames covering the request: ceil(ms × rate / (1000 × samples per frame)), but
      // at least two when the audio has them: ffmpeg refuses a stream whose first audio frame
      // is not followed by another header, so a one-frame file does not play there.
      const uint64_t per = uint64_t(1000) * first.samples;
      wanted = std::max<uint64_t>(info.frames >= 2 ? 2 : 1,
                                  (milliseconds * first.sample_rate + per - 1) / per);
    }
    if (h.bitrate_index != first.bitrate_index) varied = true;
    if (audio.size() + h.frame_bytes > kMaxPreviewBytes)
      return Status(Code::BadPreview, path + ": preview would exceed " +
                                          std::to_string(kMaxPreviewBytes >> 20) + " MiB");
    const uint8_t* p;
    size_t avail;
    CAPSULE_RETURN_IF_ERROR(stream.Fetch(offset, h.frame_bytes, &p, &avail));
    offsets.push_back(audio.size());
    audio.append(reinterpret_cast<const char*>(p), avail);
  }

  Preview preview;
  preview.kind = MediaKind::kMp3;
  std::array<uint64_t, format::kXingTocEntries> toc;  // each percent's frame, in the audio
  for (size_t i = 0; i < toc.size(); ++i) toc[i] = offsets[i * offsets.size() / toc.size()];
  preview.bytes = format::MakeXingFrame(reinterpret_cast<const uint8_t*>(audio.data()), first,
                                        info.vbr || varied, static_cast<uint32_t>(offsets.size()),
                                        audio.size(), toc);
  preview.bytes += audio;
  preview.duration_ms = offsets.size() * first.samples * 1000 / first.sample_rate;
  return preview;
}

}  // namespace capsule::packager
