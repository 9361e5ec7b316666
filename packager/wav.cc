// RIFF/WAVE parsing and preview cutting (DESIGN §3.10).
//
// The chunk list is walked by headers only: each chunk is 8 bytes of id and little-endian size,
// then the payload, then one pad byte when the size is odd (RIFF word alignment — forgetting it
// misreads every chunk after an odd-sized one). The walk is bounded by the real file size, not by
// the RIFF size, which streaming writers often leave wrong. A header that contradicts itself or
// the file (block_align, a chunk running past the end) is MediaTruncated; a well-formed header
// for a codec we do not decode is MediaUnsupported. A `data` size that is not a whole number of
// sample frames (Debian's Scratch sounds have one odd trailing byte) is tolerated: the partial
// frame is not audio, as sox and ffmpeg also read it.
#include "packager/wav.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "format/bytes.h"
#include "format/file.h"

namespace capsule::packager {
namespace {

using format::GetU16Le;
using format::GetU32Le;

constexpr uint64_t kMaxPreviewBytes = 64ull << 20;
constexpr uint32_t kMaxFmtBytes = 1024;
constexpr uint16_t kFormatPcm = 0x0001;
constexpr uint16_t kFormatFloat = 0x0003;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT are {0000000x-0000-0010-8000-00AA00389B71}: the format
// tag in the first two bytes, then this fixed tail.
constexpr uint8_t kSubformatTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                        0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

struct WavLayout {
  std::string fmt;  // the `fmt ` payload as stored
  std::string codec;
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
  uint16_t block_align = 0;
  uint16_t bits = 0;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;
};

std::string Hex4(uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v & 0xFFFF);
  return buf;
}

std::string CodecName(uint16_t tag) {
  switch (tag) {
    case 0x0002:
      return "Microsoft ADPCM";
    case 0x0006:
      return "A-law";
    case 0x0007:
      return "mu-law";
    case 0x0011:
      return "IMA ADPCM";
    case 0x0031:
      return "GSM 6.10";
    case 0x0050:
      return "MPEG Layer I/II";
    case 0x0055:
      return "MPEG Layer III";
    case 0x0161:
    case 0x0162:
    case 0x0163:
      return "Windows Media Audio";
    case 0x2000:
      return "AC-3";
    default:
      return "format " + Hex4(tag);
  }
}

// Chunk ids are four bytes of anything; print them safely.
std::string ChunkId(const uint8_t* p) {
  std::string s = "'";
  for (int i = 0; i < 4; ++i) s += (p[i] >= 0x20 && p[i] < 0x7F) ? char(p[i]) : '?';
  return s + "'";
}

std::string At(uint64_t offset) { return "offset " + std::to_string(offset); }

Status ParseFmt(const std::string& path, WavLayout* w) {
  const auto* p = reinterpret_cast<const uint8_t*>(w->fmt.data());
  const size_t size = w->fmt.size();
  const uint16_t tag = GetU16Le(p);
  w->channels = GetU16Le(p + 2);
  w->sample_rate = GetU32Le(p + 4);
  w->block_align = GetU16Le(p + 12);
  w->bits = GetU16Le(p + 14);
  uint16_t format = tag;
  std::string prefix;
  if (tag == kFormatExtensible) {
    if (size < 40 || GetU16Le(p + 16) < 22)
      return Status(Code::MediaTruncated, path + ": WAVE_FORMAT_EXTENSIBLE fmt chunk is " +
                                              std::to_string(size) +
                                              " bytes; it needs 40 with a 22-byte extension");
    if (std::memcmp(p + 26, kSubformatTail, sizeof kSubformatTail) != 0)
      return Status(Code::MediaUnsupported,
                    path + ": WAVE_FORMAT_EXTENSIBLE subformat GUID is not PCM or IEEE float");
    format = GetU16Le(p + 24);
    prefix = "WAVE_FORMAT_EXTENSIBLE with ";
  }
  if (format == kFormatPcm) {
    if (w->bits != 8 && w->bits != 16 && w->bits != 24 && w->bits != 32)
      return Status(Code::MediaUnsupported, path + ": " + std::to_string(w->bits) +
                                                "-bit PCM is not supported (8, 16, 24 or 32)");
    w->codec = "pcm";
  } else if (format == kFormatFloat) {
    if (w->bits != 32 && w->bits != 64)
      return Status(Code::MediaUnsupported, path + ": " + std::to_string(w->bits) +
                                                "-bit IEEE float is not supported (32 or 64)");
    w->codec = "float";
  } else {
    return Status(Code::MediaUnsupported,
                  path + ": codec " + prefix + CodecName(format) + " (format tag " + Hex4(format) +
                      ") is not supported; only PCM and IEEE float WAV are");
  }
  if (w->channels == 0)
    return Status(Code::MediaTruncated, path + ": fmt chunk declares 0 channels");
  if (w->sample_rate == 0)
    return Status(Code::MediaTruncated, path + ": fmt chunk declares a sample rate of 0");
  const uint32_t expected = uint32_t(w->channels) * (w->bits / 8);
  if (w->block_align != expected)
    return Status(Code::MediaTruncated,
                  path + ": fmt chunk declares " + std::to_string(w->channels) + " channels of " +
                      std::to_string(w->bits) + "-bit samples but block_align " +
                      std::to_string(w->block_align) + " (expected " + std::to_string(expected) +
                      ")");
  return Status::Ok();
}

Result<WavLayout> ParseWav(const format::InputFile& file, const std::string& path) {
  const uint64_t size = file.size();
  if (size < 12)
    return Status(Code::MediaTruncated,
                  path + ": file ends inside the RIFF header (" + std::to_string(size) + " bytes)");
  uint8_t head[12];
  CAPSULE_RETURN_IF_ERROR(file.ReadAt(0, head, sizeof head));
  if (std::memcmp(head, "RF64", 4) == 0)
    return Status(Code::MediaUnsupported, path + ": RF64 (64-bit WAV) is not supported");
  if (std::memcmp(head, "RIFX", 4) == 0)
    return Status(Code::MediaUnsupported, path + ": big-endian RIFX WAV is not supported");
  if (std::memcmp(head, "RIFF", 4) != 0)
    return Status(Code::MediaMismatch, path + ": not a RIFF/WAVE file");
  if (std::memcmp(head + 8, "WAVE", 4) != 0)
    return Status(Code::MediaUnsupported,
                  path + ": RIFF form " + ChunkId(head + 8) + " is not WAVE audio");

  WavLayout w;
  bool have_fmt = false, have_data = false;
  uint64_t pos = 12;
  while (!(have_fmt && have_data) && size - pos >= 8) {
    uint8_t header[8];
    CAPSULE_RETURN_IF_ERROR(file.ReadAt(pos, header, sizeof header));
    const uint64_t body = pos + 8;
    const uint64_t bytes = GetU32Le(header + 4);
    const std::string id = ChunkId(header);
    if (bytes > size - body)
      return Status(Code::MediaTruncated, path + ": chunk " + id + " at " + At(pos) + " declares " +
                                              std::to_string(bytes) + " bytes but only " +
                                              std::to_string(size - body) +
                                              " follow (file truncated?)");
    if (std::memcmp(header, "fmt ", 4) == 0) {
      if (have_fmt) return Status(Code::MediaTruncated, path + ": second fmt chunk at " + At(pos));
      if (bytes < 16)
        return Status(Code::MediaTruncated, path + ": fmt chunk is " + std::to_string(bytes) +
                                                " bytes; at least 16 are needed");
      if (bytes > kMaxFmtBytes)
        return Status(Code::MediaTruncated,
                      path + ": fmt chunk of " + std::to_string(bytes) + " bytes is implausible");
      w.fmt.resize(bytes);
      CAPSULE_RETURN_IF_ERROR(file.ReadAt(body, w.fmt.data(), w.fmt.size()));
      CAPSULE_RETURN_IF_ERROR(ParseFmt(path, &w));
      have_fmt = true;
    } else if (std::memcmp(header, "data", 4) == 0) {
      if (have_data)
        return Status(Code::MediaTruncated, path + ": second data chunk at " + At(pos));
      w.data_offset = body;
      w.data_size = bytes;
      have_data = true;
    }
    pos = body + bytes + (bytes & 1);
    if (pos > size) break;  // a missing final pad byte is harmless
  }
  if (!have_fmt)
    return Status(Code::MediaTruncated, path + ": no fmt chunk before the end of the file");
  if (!have_data)
    return Status(Code::MediaTruncated, path + ": no data chunk before the end of the file");
  return w;
}

}  // namespace

Result<MediaInfo> ProbeWav(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  CAPSULE_ASSIGN_OR_RETURN(WavLayout w, ParseWav(file, path));
  MediaInfo info;
  info.kind = MediaKind::kWav;
  info.mime = "audio/wav";
  info.size_bytes = file.size();
  info.sample_rate = w.sample_rate;
  info.channels = w.channels;
  info.bits_per_sample = w.bits;
  info.codec = w.codec;
  info.data_offset = w.data_offset;
  info.data_size = w.data_size;
  info.duration_ms = w.data_size / w.block_align * 1000 / w.sample_rate;
  return info;
}

Result<Preview> CutWavPreview(const std::string& path, const MediaInfo& info,
                              uint64_t milliseconds) {
  if (milliseconds > info.duration_ms)
    return Status(Code::BadPreview, path + ": preview of " + std::to_string(milliseconds) +
                                        " ms is longer than the audio (" +
                                        std::to_string(info.duration_ms) + " ms)");
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  CAPSULE_ASSIGN_OR_RETURN(WavLayout w, ParseWav(file, path));
  // Whole sample frames covering the request: ceil(ms × rate / 1000).
  const uint64_t frames = std::max<uint64_t>(1, (milliseconds * w.sample_rate + 999) / 1000);
  if (frames > w.data_size / w.block_align)
    return Status(Code::BadPreview, path + ": preview of " + std::to_string(milliseconds) +
                                        " ms is longer than the audio");
  const uint64_t data_bytes = frames * w.block_align;
  const uint64_t fmt_bytes = w.fmt.size();
  const uint64_t total = 12 + 8 + fmt_bytes + (fmt_bytes & 1) + 8 + data_bytes + (data_bytes & 1);
  if (total > kMaxPreviewBytes)
    return Status(Code::BadPreview, path + ": preview of " + std::to_string(milliseconds) +
                                        " ms would be " + std::to_string(total) +
                                        " bytes; previews are capped at " +
                                        std::to_string(kMaxPreviewBytes >> 20) + " MiB");
  format::Bytes header;
  auto put_id = [&header](const char* id) { header.insert(header.end(), id, id + 4); };
  put_id("RIFF");
  format::PutU32Le(header, static_cast<uint32_t>(total - 8));
  put_id("WAVE");
  put_id("fmt ");
  format::PutU32Le(header, static_cast<uint32_t>(fmt_bytes));
  header.insert(header.end(), w.fmt.begin(), w.fmt.end());
  if (fmt_bytes & 1) header.push_back(0);
  put_id("data");
  format::PutU32Le(header, static_cast<uint32_t>(data_bytes));

  Preview preview;
  preview.kind = MediaKind::kWav;
  preview.bytes.reserve(total);
  preview.bytes.assign(header.begin(), header.end());
  preview.bytes.resize(header.size() + data_bytes);
  CAPSULE_RETURN_IF_ERROR(file.ReadAt(w.data_offset, preview.bytes.data() + header.size(),
                                      static_cast<size_t>(data_bytes)));
  if (data_bytes & 1) preview.bytes.push_back('\0');
  preview.duration_ms = frames * 1000 / w.sample_rate;
  return preview;
}

}  // namespace capsule::packager
