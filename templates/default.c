/* The bundled default template: the capsule logic every capsule carries unless packed with
 * --logic. Its bytes are identical in every capsule (DESIGN §3.9): it reads what it needs from
 * the session terms through the ABI. Policy: the host has already enforced the business model
 * (DESIGN §9.3); this logic serves the preview in "preview" mode and the whole content in
 * "full" mode, chunk by chunk, and never loosens anything. */
#include "capsule_v1.h"

#define BUF_SIZE 65536
static uint8_t buf[BUF_SIZE];

static void log_str(uint32_t level, const char* s) {
  uint32_t n = 0;
  while (s[n]) ++n;
  capsule_log(level, s, n);
}

/* Does the terms JSON contain `"mode":"preview"`? Canonical JSON has no spaces. */
static int is_preview_mode(void) {
  static const char needle[] = "\"mode\":\"preview\"";
  const uint32_t nlen = sizeof(needle) - 1;
  int32_t size = capsule_terms_size();
  if (size < 0 || (uint32_t)size > BUF_SIZE) return 1; /* unreadable terms: the restrictive answer */
  int32_t got = capsule_terms_read(0, buf, (uint32_t)size);
  if (got != size) return 1;
  for (uint32_t i = 0; i + nlen <= (uint32_t)size; ++i) {
    uint32_t j = 0;
    while (j < nlen && buf[i + j] == (uint8_t)needle[j]) ++j;
    if (j == nlen) return 1;
  }
  return 0;
}

static int32_t copy_preview(void) {
  int32_t size = capsule_preview_size();
  if (size <= 0) {
    log_str(CAPSULE_LOG_ERROR, "no preview in this capsule");
    return 1;
  }
  uint32_t off = 0;
  while (off < (uint32_t)size) {
    int32_t n = capsule_preview_read(off, buf, BUF_SIZE);
    if (n <= 0) return 2;
    if (capsule_output_write(buf, (uint32_t)n) != n) return 3;
    off += (uint32_t)n;
  }
  return 0;
}

static int32_t copy_payload(void) {
  int32_t count = capsule_chunk_count();
  if (count < 0) return 4;
  for (int32_t i = 0; i < count; ++i) {
    int32_t size = capsule_chunk_size((uint32_t)i);
    if (size < 0) return 5;
    uint32_t off = 0;
    while (off < (uint32_t)size) {
      int32_t n = capsule_chunk_read((uint32_t)i, off, buf, BUF_SIZE);
      if (n <= 0) return 6;
      if (capsule_output_write(buf, (uint32_t)n) != n) return 7;
      off += (uint32_t)n;
    }
  }
  return 0;
}

__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) {
  if (is_preview_mode()) return copy_preview();
  return copy_payload();
}
