/* The shared body of the bundled templates (docs/spec/host-abi.md §4). Each template file sets
 * TEMPLATE_MODELS (the business models it serves) and, for text, TEMPLATE_WATERMARK, then
 * includes this file: the result is one small module per template whose bytes are identical in
 * every capsule that carries it (DESIGN §3.9). A template reads its parameters from the session
 * terms the host wrote after enforcing the model (DESIGN §9.3); it only ever restricts further
 * (a refusal code below) or transforms the output (the watermark), never loosens.
 *
 * capsule_run's return codes (0 = completed; the runtime reports > 0 as "refused by capsule
 * logic"):
 *   1 preview mode but the capsule has no preview        2/3 preview read / write failed
 *   4 chunk_count failed   5 chunk_size failed   6 chunk read failed   7 output write failed
 *   10 the session's model is not one this template serves
 *   11 rental/subscription: no end of access in the terms, or the clock is past it
 *   12 pay-per-view: no play left in the terms
 *   13 free_with_ads: the ad was not played first
 *   14 the terms are unreadable or malformed (also: watermark fields missing or too long) */
#include "capsule_v1.h"

#define MODEL_BUY (1u << 0)
#define MODEL_RESALE (1u << 1)
#define MODEL_PAY_PER_VIEW (1u << 2)
#define MODEL_RENTAL (1u << 3)
#define MODEL_SUBSCRIPTION (1u << 4)
#define MODEL_FREE (1u << 5)
#define MODEL_FREE_WITH_ADS (1u << 6)
#define MODEL_ALL 0x7fu

#ifndef TEMPLATE_MODELS
#error "a template sets TEMPLATE_MODELS before including template_core.h"
#endif
#ifndef TEMPLATE_WATERMARK
#define TEMPLATE_WATERMARK 0
#endif

#define BUF_SIZE 65536
#define TERMS_MAX 16384
static uint8_t buf[BUF_SIZE];
static uint8_t terms[TERMS_MAX];
static uint32_t terms_len;

static void log_str(uint32_t level, const char* s) {
  uint32_t n = 0;
  while (s[n]) ++n;
  capsule_log(level, s, n);
}

/* ---- a minimal reader for canonical JSON (RFC 8785: no whitespace), enough for the terms ----
 * Written here because the guest has no libc: a span is [p, p + n) of the terms buffer. */
typedef struct {
  const uint8_t* p;
  uint32_t n;
} span;

static uint32_t skip_string(const uint8_t* s, uint32_t n, uint32_t i) {
  for (++i; i < n; ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return n + 1; /* unterminated */
}

/* Index just past the value starting at i, or > n when malformed. */
static uint32_t skip_value(const uint8_t* s, uint32_t n, uint32_t i) {
  if (i >= n) return n + 1;
  if (s[i] == '"') return skip_string(s, n, i);
  if (s[i] == '{' || s[i] == '[') {
    uint32_t depth = 0;
    while (i < n) {
      if (s[i] == '"') {
        i = skip_string(s, n, i);
        continue;
      }
      if (s[i] == '{' || s[i] == '[') ++depth;
      if (s[i] == '}' || s[i] == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return n + 1;
  }
  while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

/* The value of `key` in the object `obj` (keys without escapes). 1 when found. */
static int obj_get(span obj, const char* key, span* out) {
  const uint8_t* s = obj.p;
  uint32_t n = obj.n, i = 1;
  if (n < 2 || s[0] != '{') return 0;
  while (i < n && s[i] == '"') {
    uint32_t kend = skip_string(s, n, i);
    if (kend >= n || s[kend] != ':') return 0;
    uint32_t k = 0, j = i + 1;
    while (key[k] && j < kend - 1 && s[j] == (uint8_t)key[k]) ++k, ++j;
    uint32_t vend = skip_value(s, n, kend + 1);
    if (vend > n) return 0;
    if (!key[k] && j == kend - 1) {
      out->p = s + kend + 1;
      out->n = vend - kend - 1;
      return 1;
    }
    i = vend;
    if (i < n && s[i] == ',') ++i;
  }
  return 0;
}

static int span_is(span v, const char* lit) {
  uint32_t k = 0;
  while (lit[k] && k < v.n && v.p[k] == (uint8_t)lit[k]) ++k;
  return !lit[k] && k == v.n;
}

/* A JSON integer (canonical: no exponent, no fraction). 1 when it is one. */
static int span_int(span v, int64_t* out) {
  uint32_t i = 0;
  int neg = 0;
  int64_t x = 0;
  if (v.n && v.p[0] == '-') neg = 1, i = 1;
  if (i >= v.n || v.n - i > 18) return 0;
  for (; i < v.n; ++i) {
    if (v.p[i] < '0' || v.p[i] > '9') return 0;
    x = x * 10 + (v.p[i] - '0');
  }
  *out = neg ? -x : x;
  return 1;
}

static uint32_t model_bit(span type) {
  if (span_is(type, "\"buy\"")) return MODEL_BUY;
  if (span_is(type, "\"resale\"")) return MODEL_RESALE;
  if (span_is(type, "\"pay_per_view\"")) return MODEL_PAY_PER_VIEW;
  if (span_is(type, "\"rental\"")) return MODEL_RENTAL;
  if (span_is(type, "\"subscription\"")) return MODEL_SUBSCRIPTION;
  if (span_is(type, "\"free\"")) return MODEL_FREE;
  if (span_is(type, "\"free_with_ads\"")) return MODEL_FREE_WITH_ADS;
  return 0;
}

/* ---- output, with the text watermark when the template has one ----
 * The mark is the line `[licensed to 0x… | capsule <id>]` + "\n". It is written first, and
 * again right after the first line end that follows 4096 bytes of text since the last mark, so
 * it never splits a line (or a UTF-8 character) and costs at most ~2.5 % of the size. Removing
 * every mark line gives back the text exactly. */
static uint8_t mark[128];
static uint32_t mark_len;
static uint32_t since_mark;
#define MARK_EVERY 4096

static int write_all(const uint8_t* p, uint32_t n) {
  return n == 0 || capsule_output_write(p, n) == (int32_t)n;
}

#if TEMPLATE_WATERMARK
static int build_mark(span holder, span id) {
  static const char a[] = "[licensed to ", b[] = " | capsule ", c[] = "]\n";
  if (holder.n < 3 || id.n < 3 || holder.n + id.n + sizeof a + sizeof b + sizeof c > sizeof mark)
    return 0;
  uint32_t k = 0;
  for (uint32_t i = 0; a[i]; ++i) mark[k++] = (uint8_t)a[i];
  for (uint32_t i = 1; i + 1 < holder.n; ++i) mark[k++] = holder.p[i]; /* without the quotes */
  for (uint32_t i = 0; b[i]; ++i) mark[k++] = (uint8_t)b[i];
  for (uint32_t i = 1; i + 1 < id.n; ++i) mark[k++] = id.p[i];
  for (uint32_t i = 0; c[i]; ++i) mark[k++] = (uint8_t)c[i];
  mark_len = k;
  return 1;
}
#endif

static int emit(const uint8_t* p, uint32_t n) {
  if (!mark_len) return write_all(p, n);
  uint32_t start = 0, i = 0;
  while (i < n) {
    if (since_mark < MARK_EVERY) { /* no line end is looked at before 4096 bytes */
      uint32_t step = MARK_EVERY - since_mark;
      if (step > n - i) step = n - i;
      i += step;
      since_mark += step;
      continue;
    }
    if (p[i++] != '\n') continue;
    if (!write_all(p + start, i - start) || !write_all(mark, mark_len)) return 0;
    start = i;
    since_mark = 0;
  }
  return write_all(p + start, n - start);
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
  if (mark_len && !write_all(mark, mark_len)) return 7;
  for (int32_t i = 0; i < count; ++i) {
    int32_t size = capsule_chunk_size((uint32_t)i);
    if (size < 0) return 5;
    uint32_t off = 0;
    while (off < (uint32_t)size) {
      int32_t n = capsule_chunk_read((uint32_t)i, off, buf, BUF_SIZE);
      if (n <= 0) return 6;
      if (!emit(buf, (uint32_t)n)) return 7;
      off += (uint32_t)n;
    }
  }
  return 0;
}

__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) {
  int32_t size = capsule_terms_size();
  if (size < 2 || size > TERMS_MAX || capsule_terms_read(0, terms, (uint32_t)size) != size)
    return 14;
  terms_len = (uint32_t)size;
  span t = {terms, terms_len}, mode, model, type, v;
  if (skip_value(terms, terms_len, 0) != terms_len || !obj_get(t, "mode", &mode)) return 14;
  if (!span_is(mode, "\"full\"")) return copy_preview(); /* anything else: the restrictive case */

  /* Full mode: the model the host granted must be one this template serves. */
  if (!obj_get(t, "model", &model) || !obj_get(model, "type", &type)) return 14;
  uint32_t bit = model_bit(type);
  if (!(bit & TEMPLATE_MODELS)) {
    log_str(CAPSULE_LOG_ERROR, "this capsule's logic does not serve the licensed model");
    return 10;
  }
  if (bit & (MODEL_RENTAL | MODEL_SUBSCRIPTION)) { /* access ends: check the end ourselves too */
    int64_t expires;
    if (!obj_get(t, "expires", &v) || !span_int(v, &expires)) {
      log_str(CAPSULE_LOG_ERROR, "a rental or subscription without an end of access");
      return 11;
    }
    if (capsule_clock_now_ms() / 1000 >= expires) {
      log_str(CAPSULE_LOG_ERROR, "the access period is over");
      return 11;
    }
  }
  if (bit & MODEL_PAY_PER_VIEW) {
    int64_t left;
    if (!obj_get(t, "plays_remaining", &v) || !span_int(v, &left) || left < 0) {
      log_str(CAPSULE_LOG_ERROR, "no paid play left");
      return 12;
    }
  }
  if (bit & MODEL_FREE_WITH_ADS) {
    if (!obj_get(t, "ad_played", &v) || !span_is(v, "true")) {
      log_str(CAPSULE_LOG_ERROR, "the ad must play first");
      return 13;
    }
  }
#if TEMPLATE_WATERMARK
  {
    span holder, id;
    /* Free text has no licensee: it is served unmarked. */
    if (obj_get(t, "holder", &holder)) {
      if (!obj_get(t, "capsule_id", &id) || !build_mark(holder, id)) return 14;
    }
  }
#endif
  return copy_payload();
}
