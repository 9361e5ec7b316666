// Decrypt-ahead workers (runtime-min/chunk_prefetch.h).
#include "runtime-min/chunk_prefetch.h"

#include <algorithm>
#include <system_error>

#include "format/crypto.h"

namespace capsule::runtime {

ChunkPrefetcher::ChunkPrefetcher(OpenFn open, unsigned threads, unsigned depth)
    : open_(std::move(open)), depth_(depth == 0 ? 1 : depth), batch_(std::max(1u, depth_ / 4)) {
  for (unsigned w = 0; w < threads; ++w) {
    try {
      workers_.emplace_back([this, w] { Run(w); });
    } catch (const std::system_error&) {
      break;  // fewer threads; with none, every chunk is opened by the caller (Take is false)
    }
  }
}

ChunkPrefetcher::~ChunkPrefetcher() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    DropLocked();
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ChunkPrefetcher::DropLocked() {
  ++generation_;
  for (auto& [i, o] : done_) {
    format::Wipe(o.plain.data(), o.plain.size());
    if (o.plain.capacity() > 0 && spare_.size() < depth_ + workers_.size())
      spare_.push_back(std::move(o.plain));
  }
  done_.clear();
  next_take_ = next_claim_ = end_ = 0;
  if (stop_) {
    for (auto& b : spare_) format::Wipe(b.data(), b.size());
    spare_.clear();
  }
}

void ChunkPrefetcher::Stream(uint32_t first, uint32_t end) {
  if (workers_.empty()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    DropLocked();
    next_take_ = next_claim_ = first;
    end_ = end;
  }
  work_cv_.notify_all();
}

bool ChunkPrefetcher::Streaming(uint32_t i) {
  std::lock_guard<std::mutex> l(mu_);
  return next_take_ == i && i < end_;
}

bool ChunkPrefetcher::Take(uint32_t i, format::Bytes* plain, Status* st) {
  std::unique_lock<std::mutex> l(mu_);
  if (i != next_take_ || i >= end_) {
    DropLocked();  // the logic jumped elsewhere
    return false;
  }
  const uint64_t generation = generation_;
  if (done_.count(i) == 0) {
    // Not ready: wait for a run of chunks (up to batch_, within the stream), so that the
    // workers wake this thread once per run rather than once per chunk. Every chunk waited
    // for is claimed or will be: fewer than batch_ free places mean more than depth_ − batch_
    // claimed (see the notify below), and batch_ ≤ depth_ − batch_ + 1.
    want_ = std::min(batch_, end_ - i);
    done_cv_.wait(l, [&] { return ReadyLocked() || generation_ != generation; });
    want_ = 0;
  }
  if (generation_ != generation) return false;  // cannot happen: only this thread ends streams
  auto node = done_.extract(i);
  plain->swap(node.mapped().plain);
  *st = std::move(node.mapped().status);
  // The caller's previous buffer goes to a worker, which overwrites it with a later chunk: no
  // allocation, zero-fill or wipe per chunk. What is not reused is wiped.
  format::Bytes& old = node.mapped().plain;
  if (old.capacity() > 0 && spare_.size() < depth_ + workers_.size()) {
    spare_.push_back(std::move(old));
  } else {
    format::Wipe(old.data(), old.size());
  }
  ++next_take_;
  // Workers that found no room sleep until batch_ places are free (one wake-up per batch_
  // chunks, not per chunk); those still working take the next place without one.
  const bool wake = next_claim_ < end_ && depth_ - (next_claim_ - next_take_) >= batch_;
  l.unlock();
  if (wake) work_cv_.notify_all();
  return true;
}

bool ChunkPrefetcher::ReadyLocked() const {
  for (uint32_t k = 0; k < want_; ++k)
    if (done_.count(next_take_ + k) == 0) return false;
  return true;
}

void ChunkPrefetcher::Run(unsigned worker) {
  format::Bytes plain;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(
        l, [this] { return stop_ || (next_claim_ < end_ && next_claim_ - next_take_ < depth_); });
    if (stop_) break;
    const uint32_t i = next_claim_++;
    const uint64_t generation = generation_;
    if (plain.capacity() == 0 && !spare_.empty()) {
      plain.swap(spare_.back());
      spare_.pop_back();
    }
    l.unlock();
    Status st = open_(worker, i, &plain);  // never throws: Status values only
    l.lock();
    bool wake = false;
    if (generation == generation_) {
      Opened& o = done_[i];
      o.plain.swap(plain);
      o.status = std::move(st);
      wake = want_ != 0 && ReadyLocked();
    }
    format::Wipe(plain.data(), plain.size());
    if (wake) {  // notified unlocked, so that the consumer does not wake into a held mutex
      l.unlock();
      done_cv_.notify_all();
      l.lock();
    }
  }
  format::Wipe(plain.data(), plain.size());
}

}  // namespace capsule::runtime
