// Chunk stages of pack and open (format/chunk_crypto): seal = zstd when it pays + AES-256-GCM +
// SHA-256 of the ciphertext (the index entry); open = AES-256-GCM (+ zstd); the chunk hash
// alone; and the raw AES-GCM call, to show what ChunkSealer adds around OpenSSL.
#include <benchmark/benchmark.h>

#include "bench/micro/bench_util.h"
#include "format/chunk_crypto.h"
#include "format/crypto.h"

namespace capsule::bench {
namespace {
using namespace capsule::format;  // NOLINT

ContentKey TestKey() {
  ContentKey k;
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(i * 7 + 1);
  return k;
}
const CapsuleId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

enum Data { kPcm, kText };
std::vector<uint8_t> Sample(int data) { return data == kPcm ? PcmLike(kChunk) : Text(kChunk); }

void BM_ChunkSeal(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // measure the bulk path (libcrypto), not Nettle
  auto mode = static_cast<CompressMode>(state.range(0));
  auto plain = Sample(static_cast<int>(state.range(1)));
  ChunkSealer sealer(TestKey(), kId, kChunk, mode);
  Bytes out;
  IndexEntry e;
  uint64_t i = 0, stored = 0;
  for (auto _ : state) {
    if (!sealer.Seal(i++, false, ByteView(plain.data(), plain.size()), 0, &out, &e).ok())
      state.SkipWithError("seal failed");
    stored += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
  state.counters["stored_ratio"] =
      static_cast<double>(stored) / static_cast<double>(state.iterations() * plain.size());
}
// mode: 0 auto, 2 never (CompressMode order: kAuto, kAlways, kNever); data: 0 pcm, 1 text.
BENCHMARK(BM_ChunkSeal)
    ->ArgNames({"mode", "data"})
    ->Args({static_cast<int>(CompressMode::kNever), kPcm})
    ->Args({static_cast<int>(CompressMode::kAuto), kPcm})
    ->Args({static_cast<int>(CompressMode::kAuto), kText});

void BM_ChunkOpen(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // measure the bulk path (libcrypto), not Nettle
  auto mode = static_cast<CompressMode>(state.range(0));
  auto plain = Sample(static_cast<int>(state.range(1)));
  ChunkSealer sealer(TestKey(), kId, kChunk, mode);
  Bytes sealed, out;
  IndexEntry e;
  if (!sealer.Seal(0, false, ByteView(plain.data(), plain.size()), 0, &sealed, &e).ok())
    state.SkipWithError("seal failed");
  ChunkOpener opener(TestKey(), kId, kChunk);
  for (auto _ : state) {
    if (!opener.Open(0, e, kChunk, sealed, &out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
}
BENCHMARK(BM_ChunkOpen)
    ->ArgNames({"mode", "data"})
    ->Args({static_cast<int>(CompressMode::kNever), kPcm})
    ->Args({static_cast<int>(CompressMode::kAuto), kText});

// The same opening on Nettle, as `open` does its first chunks before libcrypto is loaded
// (format/crypto.cc): the chunk hash it is checked against, then the decrypt.
void BM_ChunkOpenNettle(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // sealed on libcrypto, as pack does
  auto plain = Sample(kPcm);
  ChunkSealer sealer(TestKey(), kId, kChunk, CompressMode::kNever);
  Bytes sealed, out;
  IndexEntry e;
  if (!sealer.Seal(0, false, ByteView(plain.data(), plain.size()), 0, &sealed, &e).ok())
    state.SkipWithError("seal failed");
  UseBulkCryptoForTesting(false);
  ChunkOpener opener(TestKey(), kId, kChunk);
  for (auto _ : state) {
    if (Sha256Of(sealed) != e.hash) state.SkipWithError("hash differs");
    if (!opener.Open(0, e, kChunk, sealed, &out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  UseBulkCryptoForTesting(true);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
}
BENCHMARK(BM_ChunkOpenNettle);

// The chunk hash (index entry, and open's check against the signed index).
void BM_ChunkHash(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // measure the bulk path (libcrypto), not Nettle
  auto data = PcmLike(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Of(ByteView(data.data(), data.size())));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ChunkHash)->Arg(kChunk)->Arg(1 << 20);

// OpenSSL AES-256-GCM through format/crypto (a fresh EVP context per call, as Seal does).
void BM_AesGcmSeal(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // measure the bulk path (libcrypto), not Nettle
  auto plain = PcmLike(static_cast<size_t>(state.range(0)));
  ContentKey k = TestKey();
  uint8_t nonce[12] = {};
  uint8_t aad[40] = {};
  Bytes out(plain.size() + 16);
  for (auto _ : state) {
    AesGcmSeal(k.data(), nonce, ByteView(aad, sizeof aad), ByteView(plain.data(), plain.size()),
               out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * plain.size()));
}
BENCHMARK(BM_AesGcmSeal)->Arg(kChunk)->Arg(1 << 20);

}  // namespace
}  // namespace capsule::bench
