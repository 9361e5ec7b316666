// UTF-8 text: validation, counting and preview cutting (DESIGN §3.10, §9.9).
//
// The validator is a byte-at-a-time state machine (Unicode Table 3-7, "well-formed UTF-8 byte
// sequences"): after each lead byte it narrows the range allowed for the next continuation byte,
// which is what rejects overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code
// points above U+10FFFF (F4 90..BF, F5..FF) without decoding first. State survives between
// Feed() calls, so a sequence split across read buffers is handled like any other.
#include "packager/text.h"

#include <algorithm>
#include <vector>

#include "format/file.h"

namespace capsule::packager {
namespace {

constexpr size_t kReadBlock = 64 * 1024;
constexpr uint64_t kMaxPreviewBytes = 64ull << 20;

}  // namespace

void TextScanner::CodePoint(uint32_t cp) {
  if (cp == 0xFEFF && sequence_start_ == 0) {
    bom_ = true;
    return;
  }
  ++characters_;
  if (cp == '\n') {
    if (!after_cr_) ++terminators_;
    after_cr_ = false;
    open_line_ = false;
  } else if (cp == '\r') {
    ++terminators_;
    after_cr_ = true;
    open_line_ = false;
  } else {
    after_cr_ = false;
    open_line_ = true;
  }
}

bool TextScanner::Feed(const uint8_t* data, size_t size) {
  if (error_) return false;
  for (size_t i = 0; i < size; ++i, ++offset_) {
    const uint8_t b = data[i];
    if (need_ == 0) {
      sequence_start_ = offset_;
      if (b < 0x80) {
        CodePoint(b);
        continue;
      }
      lo_ = 0x80;
      hi_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1;
        cp_ = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need_ = 2;
        cp_ = b & 0x0F;
        if (b == 0xE0) lo_ = 0xA0;  // below: overlong
        if (b == 0xED) hi_ = 0x9F;  // above: surrogates
      } else if (b >= 0xF0 && b <= 0xF4) {
        need_ = 3;
        cp_ = b & 0x07;
        if (b == 0xF0) lo_ = 0x90;  // below: overlong
        if (b == 0xF4) hi_ = 0x8F;  // above: beyond U+10FFFF
      } else if (b >= 0x80 && b <= 0xBF) {
        Fail("continuation byte without a lead byte");
        return false;
      } else if (b == 0xC0 || b == 0xC1) {
        Fail("overlong encoding");
        return false;
      } else {
        Fail("byte above 0xF4 (code point beyond U+10FFFF or not UTF-8)");
        return false;
      }
      continue;
    }
    if (b < lo_ || b > hi_) {
      if (b < 0x80 || b > 0xBF) {
        Fail("multi-byte sequence cut short");
      } else if (lo_ == 0xA0 || lo_ == 0x90) {
        Fail("overlong encoding");
      } else if (hi_ == 0x9F) {
        Fail("UTF-16 surrogate (U+D800..U+DFFF)");
      } else {
        Fail("code point beyond U+10FFFF");
      }
      return false;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    cp_ = cp_ << 6 | (b & 0x3F);
    if (--need_ == 0) CodePoint(cp_);
  }
  return true;
}

bool TextScanner::Finish() {
  if (error_) return false;
  if (need_ != 0) {
    Fail("file ends inside a multi-byte sequence");
    return false;
  }
  return true;
}

namespace {

Status NotUtf8(const std::string& path, const TextScanner& s) {
  return Status(Code::TextNotUtf8, path + ": invalid UTF-8 at byte offset " +
                                       std::to_string(s.error_offset()) + ": " + s.error());
}

}  // namespace

Result<MediaInfo> ProbeText(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));
  TextScanner scanner;
  std::vector<uint8_t> block(kReadBlock);
  for (uint64_t pos = 0; pos < file.size();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), file.size() - pos));
    CAPSULE_RETURN_IF_ERROR(file.ReadAt(pos, block.data(), n));
    if (!scanner.Feed(block.data(), n)) return NotUtf8(path, scanner);
    pos += n;
  }
  if (!scanner.Finish()) return NotUtf8(path, scanner);
  MediaInfo info;
  info.kind = MediaKind::kText;
  info.mime = "text/plain; charset=utf-8";
  info.size_bytes = file.size();
  info.lines = scanner.lines();
  info.characters = scanner.characters();
  info.bom = scanner.bom();
  return info;
}

Result<Preview> CutTextPreview(const std::string& path, const MediaInfo& info,
                               PreviewRequest::Unit unit, uint64_t amount) {
  const bool by_lines = unit == PreviewRequest::Unit::kLines;
  const uint64_t available = by_lines ? info.lines : info.characters;
  const char* noun = by_lines ? " lines" : " characters";
  if (amount > available)
    return Status(Code::BadPreview, path + ": preview of " + std::to_string(amount) + noun +
                                        " is longer than the text (" + std::to_string(available) +
                                        noun + ")");
  CAPSULE_ASSIGN_OR_RETURN(format::InputFile file, format::InputFile::Open(path));

  // Feed one byte at a time so the cut can be placed right after the code point that completes
  // the request. A line that ends in "\r" is only finished by the next code point: "\n" belongs
  // to it, anything else starts the next line.
  TextScanner scanner;
  std::string prefix;
  uint64_t cut = 0;
  bool done = false, pending_cr = false;
  std::vector<uint8_t> block(kReadBlock);
  for (uint64_t pos = 0; pos < file.size() && !done;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), file.size() - pos));
    CAPSULE_RETURN_IF_ERROR(file.ReadAt(pos, block.data(), n));
    for (size_t i = 0; i < n && !done; ++i) {
      const uint64_t before_chars = scanner.characters();
      const uint64_t before_lines = scanner.terminators();
      if (!scanner.Feed(&block[i], 1)) return NotUtf8(path, scanner);
      if (scanner.characters() == before_chars) continue;  // mid-sequence, or the BOM
      const uint64_t end = pos + i + 1;
      if (pending_cr) {
        if (block[i] == '\n') cut = end;  // else the cut stays right after the "\r"
        done = true;
      } else if (!by_lines) {
        if (scanner.characters() == amount) {
          cut = end;
          done = true;
        }
      } else if (scanner.terminators() != before_lines && scanner.terminators() == amount) {
        cut = end;
        if (block[i] == '\r') {
          pending_cr = true;
        } else {
          done = true;
        }
      }
    }
    if (pos + n > kMaxPreviewBytes && !(done && cut <= kMaxPreviewBytes))
      return Status(Code::BadPreview, path + ": preview would exceed " +
                                          std::to_string(kMaxPreviewBytes >> 20) + " MiB");
    prefix.append(reinterpret_cast<const char*>(block.data()), n);
    pos += n;
  }
  if (!done) {
    if (!scanner.Finish()) return NotUtf8(path, scanner);
    if (pending_cr) {
      // The file ends right after the "\r" that completed the last requested line.
    } else if (by_lines && scanner.lines() == amount) {
      cut = file.size();  // the last line, unterminated
    } else {
      return Status(Code::BadPreview, path + ": preview of " + std::to_string(amount) + noun +
                                          " is longer than the text (the file changed?)");
    }
  }
  prefix.resize(cut);

  TextScanner counted;
  counted.Feed(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size());
  Preview preview;
  preview.kind = MediaKind::kText;
  preview.bytes = std::move(prefix);
  preview.lines = counted.lines();
  preview.characters = counted.characters();
  return preview;
}

}  // namespace capsule::packager
