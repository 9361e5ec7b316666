// Sequential read + SHA-256 of a file in the page cache, as pack's read-back pass (and verify's
// rolling hash) do it: the plain loop (pread 1 MiB, hash it, repeat: one core does both) against
// format::ReadSequential (a helper thread reads ahead while the caller hashes). Wall clock: the
// helper's CPU time is not the calling thread's. The 64 MiB file is written once and read while
// it is still cached.
#include <benchmark/benchmark.h>

#include "bench/micro/bench_util.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/file.h"

namespace capsule::bench {
namespace {
using namespace capsule::format;  // NOLINT

const std::string& CachedFile() {
  static const std::string* path = [] {
    auto* p = new std::string(ScratchDir() + "/read_ahead.bin");
    auto out = AtomicOutput::Create(*p, /*overwrite=*/true);
    auto block = PcmLike(1 << 20);
    bool ok = out.ok();
    for (int i = 0; ok && i < 64; ++i) ok = out->Write(block.data(), block.size()).ok();
    if (!ok || !out->Commit().ok()) p->clear();
    return p;
  }();
  return *path;
}

void BM_ReadBackHash(benchmark::State& state) {
  CryptoInit();
  RequireBulkCrypto();  // measure the bulk path (libcrypto), not Nettle
  auto f = CachedFile().empty() ? Result<InputFile>(Status(Code::IoOpen, "no scratch file"))
                                : InputFile::Open(CachedFile());
  if (!f.ok()) {
    state.SkipWithError("cannot create the scratch file");
    return;
  }
  const bool read_ahead = state.range(0) != 0;
  const RangeReader read = [&f](uint64_t off, uint8_t* buf, size_t n) {
    return f->ReadAt(off, buf, n);
  };
  Bytes buf(1 << 20);
  for (auto _ : state) {
    Sha256 h;
    Status st;
    if (read_ahead) {
      st = ReadSequential(read, 0, f->size(), [&h](uint64_t, ByteView piece) {
        h.Update(piece);
        return Status::Ok();
      });
    } else {
      for (uint64_t off = 0; st.ok() && off < f->size(); off += buf.size()) {
        st = f->ReadAt(off, buf.data(), buf.size());
        h.Update(buf.data(), buf.size());
      }
    }
    if (!st.ok()) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(h.Final());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f->size()));
}
BENCHMARK(BM_ReadBackHash)
    ->ArgName("read_ahead")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace capsule::bench
