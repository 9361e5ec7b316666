// Section write (format/wasm + format/file): encoding a custom section (name + LEB128 size +
// copy of the content) and writing sealed chunks to the output file with pwrite, as pack does.
#include <benchmark/benchmark.h>

#include "bench/micro/bench_util.h"
#include "format/file.h"
#include "format/wasm.h"

namespace capsule::bench {
namespace {
using namespace capsule::format;  // NOLINT

void BM_CustomSectionEncode(benchmark::State& state) {
  auto content = PcmLike(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Bytes s = CustomSection("capsule.payload", ByteView(content.data(), content.size()));
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * content.size()));
}
BENCHMARK(BM_CustomSectionEncode)->Arg(4096)->Arg(kChunk)->Arg(1 << 20);

// A sealed 64 KiB chunk appended to the (temporary) output with pwrite; the file wraps around
// at 64 MiB so the benchmark measures the write path into the page cache, not the disk.
void BM_SectionWriteFile(benchmark::State& state) {
  auto chunk = PcmLike(kChunk + 16);
  auto out = AtomicOutput::Create(ScratchDir() + "/section.out", /*overwrite=*/true);
  if (!out.ok()) {
    state.SkipWithError("cannot create the output");
    return;
  }
  const uint64_t wrap = 64ull << 20;
  uint64_t off = 0;
  for (auto _ : state) {
    if (!out->WriteAt(off, chunk.data(), chunk.size()).ok()) state.SkipWithError("write failed");
    off = (off + chunk.size()) % wrap;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
  out->Abandon();
}
BENCHMARK(BM_SectionWriteFile);

}  // namespace
}  // namespace capsule::bench
