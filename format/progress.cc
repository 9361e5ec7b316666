// The stderr progress bar (format/progress.h).
#include "format/progress.h"

#include <unistd.h>

#include <cstdio>

namespace capsule::format {

Progress TerminalProgress(bool json, const std::string& label) {
  if (json || !isatty(STDERR_FILENO)) return nullptr;
  return [label, last = -1](uint64_t done, uint64_t total) mutable {
    int pct = total ? static_cast<int>(std::min<uint64_t>(done, total) * 100 / total) : 100;
    if (pct == last) return;
    last = pct;
    int bars = pct / 4;
    std::fprintf(stderr, "\r%s [%-25s] %3d%%", label.c_str(), std::string(bars, '#').c_str(), pct);
    std::fflush(stderr);
  };
}

void EndTerminalProgress(bool json) {
  if (!json && isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
}

}  // namespace capsule::format
