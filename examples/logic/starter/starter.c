/* @NAME@ — capsule logic (ABI capsule_v1), created by `capsulec logic new`.
 *
 * This code travels inside every capsule packed with `capsulec pack … --logic @NAME@.wasm`.
 * The runtime has already enforced the business model before it runs (licence, ledger, expiry,
 * plays: docs/spec/host-abi.md); logic may only restrict further or transform the output.
 *
 *   preview mode (no licence): serve the clear preview section, nothing else;
 *   full mode: copy every chunk of the decrypted payload to the output;
 *   policy: log what it does (shown by `capsule-run open` and `capsule-run test --trace`).
 *
 * Rules: no libc (freestanding wasm32), no WASI, imports only from capsule_v1.h. Memory is
 * fixed at 128 KiB; keep buffers static. Build: capsulec logic build @NAME@.c -o @NAME@.wasm */
#include "capsule_v1.h"

#define BUF_SIZE 32768
static uint8_t buf[BUF_SIZE];

static void log_str(uint32_t level, const char* s) {
  uint32_t n = 0;
  while (s[n]) ++n;
  capsule_log(level, s, n);
}

/* The terms are canonical JSON (no spaces): look for "mode":"preview". */
static int is_preview_mode(void) {
  static const char needle[] = "\"mode\":\"preview\"";
  const uint32_t nlen = sizeof(needle) - 1;
  int32_t size = capsule_terms_size();
  if (size < 0 || (uint32_t)size > BUF_SIZE) return 1; /* unreadable: the restrictive answer */
  if (capsule_terms_read(0, buf, (uint32_t)size) != size) return 1;
  for (uint32_t i = 0; i + nlen <= (uint32_t)size; ++i) {
    uint32_t j = 0;
    while (j < nlen && buf[i + j] == (uint8_t)needle[j]) ++j;
    if (j == nlen) return 1;
  }
  return 0;
}

/* Transform hook: change `n` bytes of output in place here (e.g. watermark, uppercase). */
static void transform(uint8_t* p, uint32_t n) {
  (void)p;
  (void)n;
}

static int32_t serve_preview(void) {
  int32_t size = capsule_preview_size();
  if (size <= 0) {
    log_str(CAPSULE_LOG_ERROR, "@NAME@: no preview and no licence");
    return 1; /* > 0: the logic refuses (exit 7, refused-by-logic) */
  }
  log_str(CAPSULE_LOG_INFO, "@NAME@: serving the preview");
  for (uint32_t off = 0; off < (uint32_t)size;) {
    int32_t n = capsule_preview_read(off, buf, BUF_SIZE);
    if (n <= 0) return 2;
    transform(buf, (uint32_t)n);
    if (capsule_output_write(buf, (uint32_t)n) != n) return 3;
    off += (uint32_t)n;
  }
  return 0;
}

static int32_t serve_full(void) {
  int32_t count = capsule_chunk_count();
  if (count < 0) return 4;
  log_str(CAPSULE_LOG_INFO, "@NAME@: serving the full content");
  for (int32_t i = 0; i < count; ++i) {
    int32_t size = capsule_chunk_size((uint32_t)i);
    if (size < 0) return 5;
    for (uint32_t off = 0; off < (uint32_t)size;) {
      int32_t n = capsule_chunk_read((uint32_t)i, off, buf, BUF_SIZE);
      if (n <= 0) return 6;
      transform(buf, (uint32_t)n);
      if (capsule_output_write(buf, (uint32_t)n) != n) return 7;
      off += (uint32_t)n;
    }
  }
  return 0;
}

/* The one export the runtime calls: 0 = completed, > 0 = refused by this logic. */
__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) {
  return is_preview_mode() ? serve_preview() : serve_full();
}
