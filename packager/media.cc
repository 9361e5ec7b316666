// Media detection and dispatch (DESIGN §3.10): what a file *is* comes from its first bytes,
// what it *claims* to be from its extension, and the two must agree before a parser runs.
//
// Content is recognised by signatures that text cannot start with ("RIFF"…"WAVE", "ID3" with a
// valid version and syncsafe size, an MPEG frame sync 0xFFE — 0xFF never occurs in UTF-8), so an
// unrecognised start means "text, if it is valid UTF-8". Other well-known containers (FLAC, Ogg,
// MP4, …) are named in the error so the creator sees what they actually passed in; a .txt file
// whose first letters happen to spell such a signature is still text when it is valid UTF-8.
#include "packager/media.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "format/file.h"
#include "packager/mp3.h"
#include "packager/text.h"
#include "packager/wav.h"

namespace capsule::packager {
namespace {

enum class Content { kMp3, kWav, kOther, kUnknown };

struct Sniffed {
  Content content = Content::kUnknown;
  std::string name;          // what the content is, for messages
  bool riff_family = false;  // RIFF but not WAVE, RF64, RIFX: the WAV parser says which
};

// `claimed` only decides whether a header cut short (a file shorter than the header) counts as
// that format, so that the format's parser reports it truncated.
Sniffed Sniff(const uint8_t* p, size_t n, MediaKind claimed) {
  auto starts = [p, n](size_t at, const char* sig) {
    const size_t len = std::strlen(sig);
    return n >= at + len && std::memcmp(p + at, sig, len) == 0;
  };
  const bool wav = claimed == MediaKind::kWav, mp3 = claimed == MediaKind::kMp3;
  if (starts(0, "RIFF") && ((wav && n < 12) || starts(8, "WAVE")))
    return {Content::kWav, "WAV audio"};
  // An ID3v2 header: version 2..4 and a syncsafe size.
  if (starts(0, "ID3") &&
      (n < 10 ? mp3 && (n < 4 || (p[3] >= 2 && p[3] <= 4))
              : p[3] >= 2 && p[3] <= 4 && !((p[6] | p[7] | p[8] | p[9]) & 0x80)))
    return {Content::kMp3, "MP3 audio (ID3v2 tag)"};
  if (n >= 4 && ParseMp3FrameHeader(p)) return {Content::kMp3, "MPEG audio"};
  if (mp3 && n >= 1 && n < 4 && p[0] == 0xFF && (n < 2 || (p[1] & 0xE0) == 0xE0))
    return {Content::kMp3, "MPEG audio"};
  struct Signature {
    size_t at;
    const char* bytes;
    const char* name;
    bool riff_family;
  };
  static const Signature kSignatures[] = {
      {0, "RIFF", "a non-WAVE RIFF file", true},
      {0, "RF64", "RF64 (64-bit WAV) audio", true},
      {0, "RIFX", "big-endian RIFF audio", true},
      {0, "fLaC", "FLAC audio", false},
      {0, "OggS", "Ogg media", false},
      {4, "ftyp", "MP4/M4A media", false},
      {0, "FORM", "IFF/AIFF audio", false},
      {0, "MThd", "MIDI", false},
      {0, "#!AMR", "AMR audio", false},
      {0, "\x30\x26\xB2\x75", "ASF/WMA media", false},
      {0, "%PDF", "a PDF document", false},
      {0, "PK\x03\x04", "a ZIP archive", false},
      {0, "\x1F\x8B", "gzip data", false},
      {0, "\x89PNG", "a PNG image", false},
      {0, "\xFF\xD8\xFF", "a JPEG image", false},
  };
  for (const auto& s : kSignatures)
    if (starts(s.at, s.bytes)) return {Content::kOther, s.name, s.riff_family};
  return {};
}

std::string LowerExtension(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = base.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

const char* KindName(MediaKind kind) {
  switch (kind) {
    case MediaKind::kMp3:
      return "MP3";
    case MediaKind::kWav:
      return "WAV";
    case MediaKind::kText:
      return "text";
  }
  return "media";
}

}  // namespace

Result<MediaInfo> ProbeMedia(const std::string& path) {
  const std::string ext = LowerExtension(path);
  MediaKind claimed;
  if (ext == "mp3") {
    claimed = MediaKind::kMp3;
  } else if (ext == "wav") {
    claimed = MediaKind::kWav;
  } else if (ext == "txt" || ext == "text" || ext == "md") {
    claimed = MediaKind::kText;
  } else {
    return Status(Code::MediaUnsupported, path + ": unsupported file extension " +
                                              (ext.empty() ? "(none)" : "." + ext) +
                                              "; expected .mp3, .wav, .txt, .text or .md");
  }

  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  uint8_t head[16];
  const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof head, file.size()));
  CAPSULE_RETURN_IF_ERROR(file.ReadAt(0, head, n));
  const Sniffed sniffed = Sniff(head, n, claimed);
  const std::string extension = "." + ext;

  switch (sniffed.content) {
    case Content::kMp3:
      if (claimed == MediaKind::kMp3) return ProbeMp3(path);
      // UTF-8 never holds 0xFF: text that starts like a frame header is no text; a UTF-16
      // byte-order mark (FF FE) looks like one.
      if (claimed == MediaKind::kText) {
        if (n >= 2 &&
            ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)))
          return Status(Code::TextNotUtf8,
                        path + ": UTF-16 text (byte-order mark " +
                            (head[0] == 0xFF ? "FF FE" : "FE FF") +
                            "); capsules carry UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)");
        auto text = ProbeText(path);
        if (text.ok() || text.status().code() != Code::TextNotUtf8) return text;
      }
      break;
    case Content::kWav:
      if (claimed == MediaKind::kWav) return ProbeWav(path);
      break;
    case Content::kOther:
      // Some of these signatures are plain ASCII ("RIFF", "FORM", "%PDF"), which a text file may
      // well start with: valid UTF-8 wins; otherwise name what the content looks like.
      if (claimed == MediaKind::kText) {
        auto text = ProbeText(path);
        if (text.ok() || text.status().code() != Code::TextNotUtf8) return text;
      }
      if (claimed == MediaKind::kWav && sniffed.riff_family) return ProbeWav(path);
      break;
    case Content::kUnknown:
      if (claimed == MediaKind::kText) {
        if (n >= 2 && head[0] == 0xFE && head[1] == 0xFF)
          return Status(Code::TextNotUtf8,
                        path +
                            ": UTF-16 text (byte-order mark FE FF); capsules carry UTF-8: convert "
                            "it first (iconv -f UTF-16 -t UTF-8)");
        return ProbeText(path);
      }
      if (file.size() == 0) return Status(Code::MediaTruncated, path + ": file is empty");
      // An MP3 may start with bytes that are no frame (padding a ripper left, a broken tag):
      // players skip them, and so does the parser (its first frame is looked for within
      // 256 KiB, and must be followed by a second).
      if (claimed == MediaKind::kMp3) {
        auto mp3 = ProbeMp3(path);
        if (mp3.ok()) return mp3;
      }
      {
        // Say "text" when the start at least looks like it (a cut multi-byte sequence at the
        // end of the head is fine; NUL bytes are not text).
        TextScanner scanner;
        const bool text = scanner.Feed(head, n) && !std::memchr(head, 0, n);
        return Status(
            Code::MediaMismatch,
            path + ": content is " + (text ? "text" : "not recognised") + ", not " +
                KindName(claimed) + " as the extension " + extension + " says (no " +
                (claimed == MediaKind::kMp3 ? "ID3v2 tag or MPEG frame sync" : "RIFF/WAVE header") +
                " at the start)");
      }
  }
  return Status(Code::MediaMismatch, path + ": content is " + sniffed.name + ", not " +
                                         KindName(claimed) + " as the extension " + extension +
                                         " says");
}

Result<Preview> CutPreview(const std::string& path, const MediaInfo& info,
                           const PreviewRequest& request) {
  const bool audio = info.kind != MediaKind::kText;
  const bool timed = request.unit == PreviewRequest::Unit::kMilliseconds;
  if (audio != timed)
    return Status(Code::BadPreview,
                  path + (audio ? ": an audio preview is a duration, not lines or characters"
                                : ": a text preview is a number of lines or characters, not a "
                                  "duration"));
  if (request.amount == 0)
    return Status(Code::BadPreview, path + ": preview length must be greater than zero");
  switch (info.kind) {
    case MediaKind::kMp3:
      return CutMp3Preview(path, info, request.amount);
    case MediaKind::kWav:
      return CutWavPreview(path, info, request.amount);
    case MediaKind::kText:
      return CutTextPreview(path, info, request.unit, request.amount);
  }
  return Status(Code::Internal, path + ": unknown media kind");
}

nlohmann::json MediaInfo::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  j["type"] = mime;
  j["size"] = size_bytes;
  switch (kind) {
    case MediaKind::kMp3:
      j["duration_ms"] = duration_ms;
      j["sample_rate"] = sample_rate;
      j["channels"] = channels;
      j["bitrate_kbps"] = bitrate_kbps;
      j["vbr"] = vbr;
      j["codec"] = "mp3";
      break;
    case MediaKind::kWav:
      j["duration_ms"] = duration_ms;
      j["sample_rate"] = sample_rate;
      j["channels"] = channels;
      j["bits_per_sample"] = bits_per_sample;
      j["codec"] = codec;
      break;
    case MediaKind::kText:
      j["lines"] = lines;
      j["characters"] = characters;
      j["bom"] = bom;
      break;
  }
  return j;
}

nlohmann::json Preview::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  j["size"] = static_cast<uint64_t>(bytes.size());
  if (kind == MediaKind::kText) {
    j["lines"] = lines;
    j["characters"] = characters;
  } else {
    j["duration_ms"] = duration_ms;
  }
  return j;
}

}  // namespace capsule::packager
