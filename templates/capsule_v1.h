/* Guest ABI `capsule_v1` — the host functions a capsule's logic may import (module
 * "capsule_v1"), and the exports the runtime expects. Frozen with capsule format v1
 * (DESIGN §9.2): later additions go under a new module name. Reference: docs/spec/host-abi.md.
 *
 * Conventions: every pointer/length pair must lie inside the guest's memory; the host
 * bounds-checks them and answers CAPSULE_E_BOUNDS otherwise. Functions returning int32_t return
 * a non-negative count or a negative CAPSULE_E_* code. Host functions never trap on bad input;
 * the runtime may end the session (a trap) when a limit is hit or a chunk fails authentication.
 *
 * Exports a capsule module MUST provide:
 *   memory        — its linear memory, with a declared maximum
 *   capsule_run   — int32_t capsule_run(void); 0 = completed, > 0 = the logic refuses (the
 *                   runtime reports "refused by capsule logic" with this value)
 */
#ifndef CAPSULE_V1_H_
#define CAPSULE_V1_H_

#include <stdint.h>

#define CAPSULE_ABI_VERSION 1

#define CAPSULE_E_BOUNDS (-1) /* pointer/length outside guest memory */
#define CAPSULE_E_RANGE (-2)  /* index or offset beyond the object */
#define CAPSULE_E_DENIED (-3) /* not granted in this session (e.g. payload without licence) */
#define CAPSULE_E_LIMIT (-4)  /* output cap reached */

#define CAPSULE_LOG_INFO 0
#define CAPSULE_LOG_WARN 1
#define CAPSULE_LOG_ERROR 2

#define CAPSULE_IMPORT(name) __attribute__((import_module("capsule_v1"), import_name(name)))

/* The embedded manifest: canonical JSON, exactly the bytes of `capsule.manifest`. */
CAPSULE_IMPORT("manifest_size") int32_t capsule_manifest_size(void);
CAPSULE_IMPORT("manifest_read")
int32_t capsule_manifest_read(uint32_t offset, void* buf, uint32_t len);

/* The terms of this session, canonical JSON: {"mode":"full"|"preview", "model":{...},
 * "holder":"0x…", ...}. See docs/spec/host-abi.md for every field. */
CAPSULE_IMPORT("terms_size") int32_t capsule_terms_size(void);
CAPSULE_IMPORT("terms_read") int32_t capsule_terms_read(uint32_t offset, void* buf, uint32_t len);

/* The payload: chunks of plaintext, decrypted and authenticated by the host. */
CAPSULE_IMPORT("chunk_count") int32_t capsule_chunk_count(void);
CAPSULE_IMPORT("chunk_size") int32_t capsule_chunk_size(uint32_t index);
CAPSULE_IMPORT("chunk_read")
int32_t capsule_chunk_read(uint32_t index, uint32_t offset, void* buf, uint32_t len);

/* The clear preview (`capsule.preview`), when the capsule has one (size 0 otherwise). */
CAPSULE_IMPORT("preview_size") int32_t capsule_preview_size(void);
CAPSULE_IMPORT("preview_read")
int32_t capsule_preview_read(uint32_t offset, void* buf, uint32_t len);

/* Appends bytes to the session's output. Returns len, or a negative code. */
CAPSULE_IMPORT("output_write") int32_t capsule_output_write(const void* buf, uint32_t len);

/* Milliseconds since the Unix epoch, by the runtime's clock rule (never goes back). */
CAPSULE_IMPORT("clock_now_ms") int64_t capsule_clock_now_ms(void);

/* A log line; the host strips control sequences before showing it. */
CAPSULE_IMPORT("log") void capsule_log(uint32_t level, const void* msg, uint32_t len);

#endif /* CAPSULE_V1_H_ */
