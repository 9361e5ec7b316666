// Decrypt-ahead worker (runtime-min/chunk_prefetch.h).
#include "runtime-min/chunk_prefetch.h"

#include <system_error>

#include "format/crypto.h"

namespace capsule::runtime {

ChunkPrefetcher::ChunkPrefetcher(OpenFn open) : open_(std::move(open)) {
  try {
    worker_ = std::thread([this] { Run(); });
  } catch (const std::system_error&) {
    // No thread available: every chunk is then opened by the caller (Take returns false).
  }
}

ChunkPrefetcher::~ChunkPrefetcher() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  format::Wipe(plain_.data(), plain_.size());
}

void ChunkPrefetcher::Start(uint32_t i) {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (busy_ || has_job_) return;
    index_ = i;
    busy_ = true;
  }
  cv_.notify_all();
}

bool ChunkPrefetcher::Take(uint32_t i, format::Bytes* plain, Status* st) {
  std::unique_lock<std::mutex> l(mu_);
  if (!(busy_ || has_job_) || index_ != i) {
    // A stale result (the logic jumped elsewhere): wait for the worker and drop it.
    cv_.wait(l, [this] { return !busy_; });
    if (has_job_) {
      format::Wipe(plain_.data(), plain_.size());
      has_job_ = false;
    }
    return false;
  }
  cv_.wait(l, [this] { return !busy_; });
  has_job_ = false;
  plain->swap(plain_);
  *st = status_;
  return true;
}

void ChunkPrefetcher::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || (busy_ && !has_job_); });
    if (stop_) return;
    const uint32_t i = index_;
    l.unlock();
    format::Bytes plain;
    Status st = open_(i, &plain);  // never throws: Status values only
    l.lock();
    format::Wipe(plain_.data(), plain_.size());
    plain_.swap(plain);
    status_ = st;
    has_job_ = true;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace capsule::runtime
