// Fuzz target: opening an authenticated compressed chunk whose zstd frame is hostile — what a
// malicious creator can put in a capsule (the signature and AES-GCM only say who made it). The
// input's compressed body is sealed here exactly as ChunkSealer would seal a compressed chunk
// (its payload key, nonce and associated data), so every execution reaches zstd
// through format::ChunkOpener::Open. Asserts: authentication never fails (the sealing here is
// right); a chunk that opens has exactly its declared length (≤ the chunk size); a refusal is
// chunk-decompress. Input: 1 byte (bit 0: final chunk) ‖ u16le declared length ‖ zstd body.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "format/chunk_crypto.h"
#include "format/crypto.h"

namespace {
using namespace capsule::format;  // NOLINT

constexpr uint32_t kChunkSize = kMinChunkSize;  // 4096: declared lengths wrap into it
const CapsuleId kId = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  CryptoInit();
  const bool final = data[0] & 1;
  const uint32_t plain_len = 1 + (static_cast<uint32_t>(data[1] | data[2] << 8) % kChunkSize);
  const ByteView body(data + 3, size - 3);
  const uint64_t index = 3;

  ContentKey k;
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(i + 1);
  uint8_t key[32], nonce[12];
  DerivePayloadKey(k, kId, key);
  ChunkNonce(index, nonce);
  Bytes aad = ChunkAad(kId, index, final, /*compressed=*/true, kChunkSize, plain_len);
  Bytes sealed(body.size() + 16);
  if (!AesGcmSeal(key, nonce, aad, body, sealed.data())) __builtin_trap();

  IndexEntry e;
  e.length = static_cast<uint32_t>(sealed.size());
  e.flags = static_cast<uint8_t>(kChunkCompressed | (final ? kChunkFinal : 0));
  ChunkOpener opener(k, kId, kChunkSize);
  Bytes out;
  capsule::Status st = opener.Open(index, e, plain_len, sealed, &out);
  if (st.ok()) {
    if (out.size() != plain_len) __builtin_trap();
  } else if (st.code() != capsule::Code::ChunkDecompress) {
    __builtin_trap();  // ChunkAuthFailed here would mean this target no longer reaches zstd
  }
  return 0;
}
