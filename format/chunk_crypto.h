// Chunk sealing (DESIGN §3.4, §3.6): per-chunk zstd when it pays, then AES-256-GCM with
//   payload key = HKDF-SHA-256(K, "capsule/v1 payload key" ‖ capsule_id)
//   nonce       = 4 zero bytes ‖ u64be chunk index
//   AAD         = "capsule/v1 chunk" ‖ u8 suite ‖ capsule_id[16] ‖ u64be index ‖ u8 final ‖
//                 u8 compressed ‖ u32be chunk_size ‖ u32be plaintext length of this chunk
//   key commitment = HKDF-SHA-256(K, "capsule/v1 key commitment" ‖ capsule_id), 32 bytes
// so reordering, splicing, truncation and flag flips fail authentication.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/chunk_index.h"
#include "format/crypto.h"

namespace capsule::format {

inline constexpr uint8_t kSuiteV1 = 1;
inline constexpr std::string_view kSuiteV1Name = "aes-256-gcm/sha-256/zstd";
inline constexpr uint32_t kMinChunkSize = 4096;
inline constexpr uint32_t kMaxChunkSize = 16u << 20;
inline constexpr uint32_t kDefaultChunkSize = 64u << 10;

using CapsuleId = std::array<uint8_t, 16>;

enum class CompressMode { kAuto, kAlways, kNever };
// How kAuto decides cheaply whether a chunk is worth a zstd trial (chunk_crypto.cc). The name
// enters --reproducible's key derivation (packager/pack.cc): a changed rule needs a new name, so
// that one seed never seals two different chunk bodies under one (key, nonce).
inline constexpr std::string_view kAutoCompressRule = "sample-8x512-collision-200";

Hash32 KeyCommitment(const ContentKey& k, const CapsuleId& id);
// The payload key and a chunk's nonce, as above (ChunkSealer and ChunkOpener use them; so does
// tests/fuzz/fuzz_chunk_open.cc, which seals hostile compressed bodies).
void DerivePayloadKey(const ContentKey& k, const CapsuleId& id, uint8_t out[32]);
void ChunkNonce(uint64_t index, uint8_t nonce[12]);

class ChunkSealer {
 public:
  ChunkSealer(const ContentKey& k, const CapsuleId& id, uint32_t chunk_size, CompressMode mode);
  ~ChunkSealer();
  // Seals chunk `index` (plaintext ≤ chunk_size); fills `out` and its index entry. zstd is
  // tried with kAlways, and with kAuto when a sample of the chunk looks compressible; the chunk
  // is stored compressed only when that is smaller (kAlways: when it fits the chunk size) and
  // its sealed length would still be at least `min_compressed` (the writer's shortest-LEB128
  // rule; 0 = no constraint). Thread-compatible: one sealer per thread.
  Status Seal(uint64_t index, bool final, ByteView plain, uint64_t min_compressed, Bytes* out,
              IndexEntry* entry);

 private:
  Secret<32> key_;
  CapsuleId id_;
  uint32_t chunk_size_;
  CompressMode mode_;
  void* zctx_;
  Bytes scratch_;
};

class ChunkOpener {
 public:
  ChunkOpener(const ContentKey& k, const CapsuleId& id, uint32_t chunk_size);
  ~ChunkOpener();
  // Authenticates and decrypts one chunk (already matched against its index entry by the
  // caller), decompressing when flagged. Nothing is written to `out` unless it all checks.
  Status Open(uint64_t index, const IndexEntry& entry, uint32_t plain_len, ByteView sealed,
              Bytes* out);

 private:
  Secret<32> key_;
  CapsuleId id_;
  uint32_t chunk_size_;
  void* dctx_;
  Bytes scratch_;
};

Bytes ChunkAad(const CapsuleId& id, uint64_t index, bool final, bool compressed,
               uint32_t chunk_size, uint32_t plain_len);

}  // namespace capsule::format
