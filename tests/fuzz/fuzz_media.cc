// Fuzz target: media probing (MP3 frame walk, Xing/Info, ID3v2; WAV RIFF chunks; UTF-8 text)
// and preview cutting. The first input byte picks the extension and the preview request; the
// rest is the file.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "packager/media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static capsule_fuzz::ScratchFile mp3("media", ".mp3");
  static capsule_fuzz::ScratchFile wav("media", ".wav");
  static capsule_fuzz::ScratchFile txt("media", ".txt");
  uint8_t sel = data[0];
  capsule_fuzz::ScratchFile* f = (sel % 3 == 0) ? &mp3 : (sel % 3 == 1) ? &wav : &txt;
  if (!f->Write(data + 1, size - 1)) return 0;
  auto info = capsule::packager::ProbeMedia(f->path());
  if (!info.ok()) return 0;
  (void)info->ToJson();
  capsule::packager::PreviewRequest req;
  if (info->kind == capsule::packager::MediaKind::kText) {
    req.unit = (sel & 0x80) ? capsule::packager::PreviewRequest::Unit::kCharacters
                            : capsule::packager::PreviewRequest::Unit::kLines;
    req.amount = 1 + ((sel >> 2) & 0x1f);
  } else {
    req.unit = capsule::packager::PreviewRequest::Unit::kMilliseconds;
    req.amount = 1 + ((sel >> 2) & 0x3f) * 20;
  }
  auto p = capsule::packager::CutPreview(f->path(), *info, req);
  if (p.ok()) (void)p->ToJson();
  return 0;
}
