// The payload stage of pack (DESIGN §3.2–3.4, issue 6): chunks flow through a bounded ring of
// slots — read (pread) → zstd when it pays → AES-256-GCM → chunk hash — on a budget of threads,
// and leave in chunk order through one sink on the calling thread. The sealed bytes do not
// depend on the number of threads: each chunk is sealed on its own, and the one decision that
// depends on earlier chunks (the payload size's LEB128 width floor) is taken by the in-order
// writer.
#pragma once

#include <cstdint>
#include <functional>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/chunk_crypto.h"
#include "format/chunk_index.h"
#include "format/crypto.h"

namespace capsule::packager {

struct SealPlan {
  uint64_t plaintext_size = 0;  // > 0
  uint32_t chunk_size = format::kDefaultChunkSize;
  format::CompressMode mode = format::CompressMode::kAuto;
  // The smallest total of sealed chunk lengths the payload section may have: the floor of the
  // LEB128 width reserved for its size, less the section name (0 = no floor). A chunk is
  // stored uncompressed when compressing it could take the total below the floor even if every
  // later chunk shrank to its 16-byte tag (ChunkSealer::Seal's `min_compressed`).
  uint64_t min_payload = 0;
  // Sealing threads, the calling thread included (≥ 1; 1 = sequential, no thread is started).
  // Fewer are used when there are fewer chunks, or when the chunks are so big that the stage's
  // buffers would pass 256 MiB (about 3 chunks a thread; 16 MiB chunks: 5 threads).
  unsigned threads = 1;
};

// Reads exactly n plaintext bytes at `offset`. Called from several threads at once.
using PlainReader = std::function<Status(uint64_t offset, uint8_t* buf, size_t n)>;
// Receives chunk `index` sealed, with its index entry: in chunk order, on the calling thread.
// An error stops the pipeline.
using SealedSink =
    std::function<Status(uint64_t index, format::ByteView sealed, const format::IndexEntry& entry)>;

struct SealStats {
  uint64_t chunks = 0, payload_bytes = 0, compressed_chunks = 0;
  unsigned threads = 0;    // threads that sealed (fewer than asked if the OS refused some)
  size_t queue_depth = 0;  // slots in the ring
};

// Slots in the ring for `threads` sealing threads: eight per thread plus four (slack, so that
// sealers and the writer rarely wait for each other, and wake each other once per half ring
// rather than once per chunk), capped at 32 MiB of sealed chunks but never below threads + 1.
// Memory held by the stage: queue_depth × (chunk_size + 16) sealed bytes plus, per thread, one
// plaintext chunk and the zstd state (≈ 2 × chunk_size): bounded by the chunk size and the
// thread count, never by the input size (64 KiB chunks, 2 threads: 20 slots, ≈ 1.6 MiB).
size_t SealQueueDepth(unsigned threads, uint32_t chunk_size);

// Seals plaintext_size bytes read through `read` as ceil(plaintext_size / chunk_size) chunks
// under content key `k` and capsule id `id`, handing each to `sink` in order. On the first
// error (read, seal, sink) the workers stop claiming chunks, all threads are joined and that
// error is returned (the lowest chunk's, when several fail at once); no exception leaves a
// thread (one becomes Code::Internal).
Result<SealStats> SealChunks(const format::ContentKey& k, const format::CapsuleId& id,
                             const SealPlan& plan, const PlainReader& read, const SealedSink& sink);

}  // namespace capsule::packager
