// Shared by the micro-benchmarks: deterministic sample data (PCM-like audio, real text) and a
// scratch directory under $TMPDIR that is removed when the program ends.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace capsule::bench {

inline constexpr size_t kChunk = 64 * 1024;  // the default chunk size (DESIGN §3.4)

// 16-bit stereo PCM of low-passed noise: about as compressible per 64 KiB chunk as the pink
// noise bench/run.sh generates with sox (zstd -3 gains a few per cent).
inline std::vector<uint8_t> PcmLike(size_t n, uint32_t seed = 1) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed;
  double y = 0;
  for (size_t i = 0; i + 1 < n; i += 2) {
    x = x * 1664525u + 1013904223u;
    double white = (static_cast<int32_t>(x) / 2147483648.0) * 16000.0;
    y = 0.7 * y + 0.3 * white;
    auto s = static_cast<int16_t>(y);
    out[i] = static_cast<uint8_t>(s & 0xff);
    out[i + 1] = static_cast<uint8_t>((s >> 8) & 0xff);
  }
  return out;
}

// Real English text (the GPL, on every Debian system), repeated to `n` bytes.
inline std::vector<uint8_t> Text(size_t n) {
  std::ifstream f("/usr/share/common-licenses/GPL-3", std::ios::binary);
  std::string t((std::istreambuf_iterator<char>(f)), {});
  if (t.empty()) t = "The quick brown fox jumps over the lazy dog.\n";
  std::vector<uint8_t> out;
  out.reserve(n);
  while (out.size() < n) out.insert(out.end(), t.begin(), t.end());
  out.resize(n);
  return out;
}

// One scratch directory per process, removed at exit. The path is never destroyed (a leaked
// string), so the atexit handler can still read it after static destructors have run.
inline const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* env = std::getenv("TMPDIR");
    std::string t = std::string(env && *env ? env : "/tmp") + "/capsule-micro.XXXXXX";
    std::vector<char> b(t.begin(), t.end());
    b.push_back(0);
    auto* d = new std::string(mkdtemp(b.data()) ? b.data() : "");
    std::atexit([] {
      std::error_code ignored;
      if (!ScratchDir().empty()) std::filesystem::remove_all(ScratchDir(), ignored);
    });
    return d;
  }();
  return *dir;
}

}  // namespace capsule::bench
