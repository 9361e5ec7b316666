/* shout — example capsule logic (ABI capsule_v1): in full mode it serves a text capsule in
 * capital letters (ASCII a–z → A–Z; every other byte, including UTF-8 sequences, unchanged, so
 * the output stays valid UTF-8 of the same length). In preview mode it serves the clear preview
 * unchanged. It logs the number of letters it raised. Built, packed, opened and checked by
 * tests/cli/logic_test.sh:
 *   capsulec logic build examples/logic/shout/shout.c -o shout.wasm
 *   capsulec pack poem.txt --royalty examples/poem-free.yaml --logic shout.wasm */
#include "capsule_v1.h"

#define BUF_SIZE 32768
static uint8_t buf[BUF_SIZE];

static void log_str(uint32_t level, const char* s, uint32_t n) { capsule_log(level, s, n); }

/* "shout: raised N letters" without libc. */
static void log_count(uint32_t count) {
  static char msg[48] = "shout: raised ";
  uint32_t n = 14;
  char digits[10];
  uint32_t d = 0;
  do {
    digits[d++] = (char)('0' + count % 10);
    count /= 10;
  } while (count);
  while (d) msg[n++] = digits[--d];
  static const char tail[] = " letters";
  for (uint32_t i = 0; i + 1 < sizeof(tail); ++i) msg[n++] = tail[i];
  log_str(CAPSULE_LOG_INFO, msg, n);
}

static int is_preview_mode(void) {
  static const char needle[] = "\"mode\":\"preview\"";
  const uint32_t nlen = sizeof(needle) - 1;
  int32_t size = capsule_terms_size();
  if (size < 0 || (uint32_t)size > BUF_SIZE) return 1;
  if (capsule_terms_read(0, buf, (uint32_t)size) != size) return 1;
  for (uint32_t i = 0; i + nlen <= (uint32_t)size; ++i) {
    uint32_t j = 0;
    while (j < nlen && buf[i + j] == (uint8_t)needle[j]) ++j;
    if (j == nlen) return 1;
  }
  return 0;
}

static int32_t serve_preview(void) {
  int32_t size = capsule_preview_size();
  if (size <= 0) return 1; /* no licence and no preview: refuse */
  for (uint32_t off = 0; off < (uint32_t)size;) {
    int32_t n = capsule_preview_read(off, buf, BUF_SIZE);
    if (n <= 0) return 2;
    if (capsule_output_write(buf, (uint32_t)n) != n) return 3;
    off += (uint32_t)n;
  }
  return 0;
}

static int32_t serve_shouting(void) {
  uint32_t raised = 0;
  int32_t count = capsule_chunk_count();
  if (count < 0) return 4;
  for (int32_t i = 0; i < count; ++i) {
    int32_t size = capsule_chunk_size((uint32_t)i);
    if (size < 0) return 5;
    for (uint32_t off = 0; off < (uint32_t)size;) {
      int32_t n = capsule_chunk_read((uint32_t)i, off, buf, BUF_SIZE);
      if (n <= 0) return 6;
      for (int32_t k = 0; k < n; ++k) {
        if (buf[k] >= 'a' && buf[k] <= 'z') {
          buf[k] = (uint8_t)(buf[k] - 'a' + 'A');
          ++raised;
        }
      }
      if (capsule_output_write(buf, (uint32_t)n) != n) return 7;
      off += (uint32_t)n;
    }
  }
  log_count(raised);
  return 0;
}

__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) {
  return is_preview_mode() ? serve_preview() : serve_shouting();
}
