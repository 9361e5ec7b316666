// UTF-8 text validation, counting and preview cutting; internal to the packager (DESIGN §3.10,
// §9.9).
//
// Invariants: validation is strict (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF) and streaming, so any size of text is checked in constant memory and an error names
// the byte offset where the first invalid sequence starts. Counting rules, shared by probe and
// preview: a leading U+FEFF (EF BB BF) is the BOM and not a character; every other code point,
// line terminators included, is one character; a line ends at "\n", "\r\n" (once) or a lone
// "\r"; a final non-empty line without a terminator still counts as a line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "capsule/status.h"
#include "packager/media.h"

namespace capsule::packager {

// Incremental strict UTF-8 validator that counts lines and characters.
class TextScanner {
 public:
  // Feeds the next bytes; false once an invalid sequence was seen (later calls do nothing).
  bool Feed(const uint8_t* data, size_t size);
  // Ends the input; false when it is invalid or stops inside a multi-byte sequence.
  bool Finish();

  bool failed() const { return error_ != nullptr; }
  uint64_t error_offset() const { return error_offset_; }  // start of the invalid sequence
  const char* error() const { return error_; }             // what was wrong with it
  bool bom() const { return bom_; }
  uint64_t characters() const { return characters_; }
  uint64_t lines() const { return terminators_ + (open_line_ ? 1 : 0); }
  uint64_t terminators() const { return terminators_; }
  uint64_t bytes() const { return offset_; }

 private:
  void Fail(const char* why) {
    error_ = why;
    error_offset_ = sequence_start_;
  }
  // Counts one decoded code point that ended at byte offset_ (exclusive).
  void CodePoint(uint32_t cp);

  uint64_t offset_ = 0;          // bytes consumed
  uint64_t sequence_start_ = 0;  // offset of the current sequence's lead byte
  uint32_t cp_ = 0;
  int need_ = 0;                   // continuation bytes still expected
  uint8_t lo_ = 0x80, hi_ = 0xBF;  // allowed range of the next continuation byte
  const char* error_ = nullptr;
  uint64_t error_offset_ = 0;
  bool bom_ = false;
  uint64_t characters_ = 0;
  uint64_t terminators_ = 0;
  bool after_cr_ = false;   // the previous code point was "\r" (so "\n" completes "\r\n")
  bool open_line_ = false;  // characters since the last terminator
};

// Extensions .txt, .text, .md; the content must be valid UTF-8.
Result<MediaInfo> ProbeText(const std::string& path);

// The first `amount` lines (with their terminators) or code points; the BOM, when present, is
// kept and not counted. Like audio previews, capped at 64 MiB (BadPreview beyond).
Result<Preview> CutTextPreview(const std::string& path, const MediaInfo& info,
                               PreviewRequest::Unit unit, uint64_t amount);

}  // namespace capsule::packager
