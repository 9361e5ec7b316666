// The capsule_v1 rules over a SessionHost (see host_abi.h). Order of checks for every call, as
// docs/spec/host-abi.md states it: guest-memory bounds (done by the glue before we are called),
// then the payload gate (CAPSULE_E_DENIED), then index/offset ranges (CAPSULE_E_RANGE).
#include "runtime-min/sandbox/host_abi.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <climits>
#include <cstring>

#include "format/text.h"

namespace capsule::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// An object served to the guest must have a size an i32 can return.
Status TooLarge(const char* what) {
  return Status(Code::Internal, std::string(what) + " is larger than capsule_v1 can express");
}

int32_t CopyOut(const std::string_view& part, int32_t result, uint8_t* dst) {
  if (!part.empty()) std::memcpy(dst, part.data(), part.size());
  return result;
}

// Strict UTF-8: returns the sequence length at `i` and the code point, or 0 when malformed
// (overlong forms, surrogates, > U+10FFFF, truncated).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

bool IsStringTerminatorAt(std::string_view s, size_t j, size_t* after) {
  if (s[j] == '\x07') return *after = j + 1, true;  // BEL ends OSC in practice
  if (s[j] == '\x1b' && j + 1 < s.size() && s[j + 1] == '\\') return *after = j + 2, true;
  if (static_cast<uint8_t>(s[j]) == 0xC2 && j + 1 < s.size() &&
      static_cast<uint8_t>(s[j + 1]) == 0x9C) {
    return *after = j + 2, true;  // U+009C ST
  }
  return false;
}

// Skips a control-string body (OSC/DCS/SOS/PM/APC) starting at j; returns the index after its
// terminator, or the end when there is none (the rest of the line is swallowed).
size_t SkipControlString(std::string_view s, size_t j) {
  for (size_t after; j < s.size(); ++j) {
    if (IsStringTerminatorAt(s, j, &after)) return after;
  }
  return s.size();
}

// Skips CSI parameters/intermediates and its final byte, starting at j.
size_t SkipCsiBody(std::string_view s, size_t j) {
  while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x3F) ++j;
  if (j < s.size() && s[j] >= 0x40 && s[j] <= 0x7E) ++j;
  return j;
}

// `i` is at ESC. Returns the index after the whole sequence.
size_t SkipEscape(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j >= s.size()) return j;
  char c = s[j];
  if (c == '[') return SkipCsiBody(s, j + 1);
  if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') return SkipControlString(s, j + 1);
  while (j < s.size() && s[j] >= 0x20 && s[j] <= 0x2F) ++j;  // intermediates
  if (j < s.size() && s[j] >= 0x30 && s[j] <= 0x7E) ++j;     // final
  return j;
}

bool IsBidiControl(uint32_t cp) {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

int32_t AbiPart(std::string_view object, uint32_t offset, uint32_t len, std::string_view* part) {
  *part = {};
  if (offset > object.size()) return kAbiRange;
  *part = object.substr(offset, std::min<size_t>({len, object.size() - offset, INT32_MAX}));
  return static_cast<int32_t>(part->size());
}

std::string SanitizeLogText(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    uint8_t c = static_cast<uint8_t>(raw[i]);
    if (c == 0x1B) {
      i = SkipEscape(raw, i);
      continue;
    }
    if (c < 0x80) {
      if (c == '\t' || (c >= 0x20 && c != 0x7F)) out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = DecodeUtf8(raw, i, &cp);
    if (len == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    size_t next = i + len;
    if (cp >= 0x80 && cp <= 0x9F) {  // C1: CSI, OSC and friends take their bodies with them
      if (cp == 0x9B) {
        next = SkipCsiBody(raw, next);
      } else if (cp == 0x9D || cp == 0x90 || cp == 0x98 || cp == 0x9E || cp == 0x9F) {
        next = SkipControlString(raw, next);
      }
    } else if (!IsBidiControl(cp)) {
      out.append(raw.substr(i, len));
    }
    i = next;
  }
  return out;
}

std::string Printable(std::string_view text, size_t max) { return format::Printable(text, max); }

DirectAbiHost::DirectAbiHost(SessionHost& host, const SandboxLimits& limits)
    : host_(host), max_output_bytes_(limits.max_output_bytes) {}

DirectAbiHost::~DirectAbiHost() = default;

std::string_view DirectAbiHost::BlobOf(Blob blob) {
  switch (blob) {
    case Blob::kManifest:
      return host_.Manifest();
    case Blob::kTerms:
      return host_.Terms();
    case Blob::kPreview:
      return host_.Preview();
  }
  return {};
}

Status DirectAbiHost::BlobSize(Blob blob, int32_t* out) {
  std::string_view object = BlobOf(blob);
  if (object.size() > INT32_MAX) return TooLarge("a manifest, terms or preview object");
  *out = static_cast<int32_t>(object.size());
  return Status::Ok();
}

Status DirectAbiHost::BlobView(Blob blob, uint32_t offset, uint32_t len, std::string_view* part,
                               int32_t* out) {
  *out = AbiPart(BlobOf(blob), offset, len, part);
  return Status::Ok();
}

Status DirectAbiHost::BlobRead(Blob blob, uint32_t offset, uint8_t* dst, uint32_t len,
                               int32_t* out) {
  std::string_view part;
  CAPSULE_RETURN_IF_ERROR(BlobView(blob, offset, len, &part, out));
  *out = CopyOut(part, *out, dst);
  return Status::Ok();
}

Status DirectAbiHost::ChunkCount(int32_t* out) {
  uint32_t count = host_.ChunkCount();
  if (count > INT32_MAX) return TooLarge("the chunk count");
  *out = count == 0 ? kAbiDenied : static_cast<int32_t>(count);
  return Status::Ok();
}

Status DirectAbiHost::ChunkSize(uint32_t index, int32_t* out) {
  uint32_t count = host_.ChunkCount();
  if (count == 0) return *out = kAbiDenied, Status::Ok();
  if (index >= count) return *out = kAbiRange, Status::Ok();
  uint32_t size = host_.ChunkSize(index);
  if (size > INT32_MAX) return TooLarge("a chunk");
  *out = static_cast<int32_t>(size);
  return Status::Ok();
}

Status DirectAbiHost::ChunkRead(uint32_t index, uint32_t offset, uint8_t* dst, uint32_t len,
                                int32_t* out) {
  std::string_view part;
  CAPSULE_RETURN_IF_ERROR(ChunkView(index, offset, len, &part, out));
  *out = CopyOut(part, *out, dst);
  return Status::Ok();
}

Status DirectAbiHost::ChunkView(uint32_t index, uint32_t offset, uint32_t len,
                                std::string_view* part, int32_t* out) {
  *part = {};
  uint32_t count = host_.ChunkCount();
  if (count == 0) return *out = kAbiDenied, Status::Ok();
  if (index >= count) return *out = kAbiRange, Status::Ok();
  if (!have_cached_chunk_ || cached_index_ != index) {
    have_cached_chunk_ = false;
    cached_chunk_ = {};
    // The host verifies and decrypts; an authentication failure ends the session here, before a
    // byte of that chunk reaches the guest.
    CAPSULE_RETURN_IF_ERROR(host_.ReadChunk(index, &cached_chunk_));
    if (cached_chunk_.size() != host_.ChunkSize(index)) {
      return Status(Code::Internal, "chunk " + std::to_string(index) +
                                        ": plaintext length differs from its chunk_size");
    }
    have_cached_chunk_ = true;
    cached_index_ = index;
  }
  *out = AbiPart(cached_chunk_, offset, len, part);
  return Status::Ok();
}

Status DirectAbiHost::CheckOutputRoom(uint64_t len) const {
  if (PassesOutputCap(output_bytes_, len, max_output_bytes_)) {
    return Status(Code::SandboxOutputLimit, "the capsule logic wrote more than the " +
                                                std::to_string(max_output_bytes_) +
                                                "-byte output cap");
  }
  return Status::Ok();
}

Status DirectAbiHost::OutputWrite(const uint8_t* src, uint32_t len, int32_t* out) {
  if (len == 0) return *out = 0, Status::Ok();
  CAPSULE_RETURN_IF_ERROR(CheckOutputRoom(len));
  auto start = Clock::now();
  Status status = host_.WriteOutput(std::string_view(reinterpret_cast<const char*>(src), len));
  blocked_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  CAPSULE_RETURN_IF_ERROR(status);
  output_bytes_ += len;
  *out = static_cast<int32_t>(len);
  return Status::Ok();
}

Status DirectAbiHost::ClockNowMs(int64_t* out) {
  *out = host_.NowMs();
  return Status::Ok();
}

Status DirectAbiHost::Log(uint32_t level, const uint8_t* msg, uint32_t len) {
  if (log_lines_ > kMaxLogLines) return Status::Ok();
  if (log_lines_++ == kMaxLogLines) {
    host_.Log(1, "capsule logic log limit reached (" + std::to_string(kMaxLogLines) +
                     " lines); further lines are dropped");
    return Status::Ok();
  }
  std::string_view raw(reinterpret_cast<const char*>(msg), std::min(len, kMaxLogLineBytes));
  host_.Log(std::min(level, kMaxLogLevel), SanitizeLogText(raw));
  return Status::Ok();
}

}  // namespace capsule::runtime
