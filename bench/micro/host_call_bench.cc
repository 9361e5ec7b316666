// Host-call overhead of the sandbox (runtime-min/sandbox): the guest (host_calls.wat) makes N
// clock_now_ms calls, or copies chunks through the host in 64 KiB pieces. Each is run in the
// sandbox child (RunSandboxed: fork + exec of capsule-sandbox, seccomp, socket + shared window) and
// in this process (RunInProcess: the interpreter glue alone). One iteration = one whole guest run,
// so the N=0 row is the fixed cost of a session (spawn, instantiate) and the per-call cost is the
// difference between rows divided by N (the `call_us` counter does that against N=0).
#include <benchmark/benchmark.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>

#include "bench/micro/bench_util.h"
#include "runtime-min/sandbox/sandbox.h"

namespace capsule::bench {
namespace {
using runtime::SandboxLimits;
using runtime::SessionHost;

const std::string& Module() {
  static const std::string m = [] {
    std::ifstream f(CAPSULE_BENCH_WASM, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  }();
  return m;
}

class BenchHost final : public SessionHost {
 public:
  std::string manifest;  // its size is the number of clock calls
  std::vector<std::string> chunks;
  uint64_t out_bytes = 0;
  std::string_view Manifest() override { return manifest; }
  std::string_view Terms() override { return "{}"; }
  uint32_t ChunkCount() override { return static_cast<uint32_t>(chunks.size()); }
  uint32_t ChunkSize(uint32_t i) override { return static_cast<uint32_t>(chunks.at(i).size()); }
  Status ReadChunk(uint32_t i, std::string_view* plain) override {
    *plain = chunks.at(i);
    return Status::Ok();
  }
  std::string_view Preview() override { return {}; }
  Status WriteOutput(std::string_view b) override {
    out_bytes += b.size();
    return Status::Ok();
  }
  int64_t NowMs() override { return 1700000000000; }
  void Log(uint32_t, std::string_view) override {}
};

SandboxLimits Limits() {
  SandboxLimits l;
  l.max_output_bytes = 1ull << 32;
  l.wall_ms = 60'000;
  return l;
}

Result<runtime::SandboxResult> Run(bool sandboxed, BenchHost& host) {
  return sandboxed ? runtime::RunSandboxed(Module(), host, Limits(), CAPSULE_SANDBOX_BINARY)
                   : runtime::RunInProcess(Module(), host, Limits());
}

// Mean time of a whole run with N = 0, per mode, measured once; the per-call counter subtracts it.
double BaselineSeconds(bool sandboxed) {
  static std::map<bool, double> cache;
  auto it = cache.find(sandboxed);
  if (it != cache.end()) return it->second;
  BenchHost host;
  const int runs = 20;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) (void)Run(sandboxed, host);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / runs;
  return cache[sandboxed] = s;
}

void BM_HostCall(benchmark::State& state) {
  const bool sandboxed = state.range(0) != 0;
  const auto calls = static_cast<size_t>(state.range(1));
  if (Module().empty()) {
    state.SkipWithError("host_calls.wasm missing");
    return;
  }
  BenchHost host;
  host.manifest.assign(calls, ' ');
  const double base = calls ? BaselineSeconds(sandboxed) : 0;
  double total = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = Run(sandboxed, host);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  if (calls && state.iterations())
    state.counters["call_us"] =
        (total / static_cast<double>(state.iterations()) - base) / static_cast<double>(calls) * 1e6;
}
// sandboxed: 1 child process, 0 in this process; calls: clock_now_ms calls per run.
BENCHMARK(BM_HostCall)
    ->ArgNames({"sandboxed", "calls"})
    ->Args({1, 0})
    ->Args({1, 10000})
    ->Args({0, 0})
    ->Args({0, 10000})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Bulk bytes through the boundary: 16 MiB of 64 KiB chunks, read and written back by the guest.
void BM_SandboxCopy(benchmark::State& state) {
  const bool sandboxed = state.range(0) != 0;
  if (Module().empty()) {
    state.SkipWithError("host_calls.wasm missing");
    return;
  }
  BenchHost host;
  auto bytes = PcmLike(kChunk);
  for (int i = 0; i < 256; ++i) host.chunks.emplace_back(bytes.begin(), bytes.end());
  for (auto _ : state) {
    auto r = Run(sandboxed, host);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 256 * kChunk));
}
BENCHMARK(BM_SandboxCopy)
    ->ArgName("sandboxed")
    ->Arg(1)
    ->Arg(0)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace capsule::bench
