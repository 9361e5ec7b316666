// The payload stage of pack: a ring of `queue_depth` slots; chunk i lives in slot i % depth.
// Sealing threads claim chunks in increasing order, but only while chunk i - depth has been
// written (so at most depth chunks are in flight), read and seal them into their slot; the
// calling thread hands finished slots to the sink in order and, while the next chunk is not
// ready, seals chunks too. With one thread that is exactly the sequential loop: claim chunk i,
// seal it, write it.
//
// Determinism: a chunk's sealed bytes depend only on its plaintext, its index and the settings,
// except for the LEB128 floor rule, which needs the running payload total. Workers seal with no
// floor (the optimistic bound); the writer, which knows the exact total, re-seals a compressed
// chunk uncompressed when keeping it could cross the floor. That is what the sequential code
// decided, so the output is byte-identical for any thread count. Re-sealing a chunk under the
// same (key, nonce) is harmless: the discarded ciphertext is never written.
#include "packager/pack_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace capsule::packager {
namespace {
using format::Bytes;
using format::ByteView;
using format::ChunkSealer;
using format::IndexEntry;

constexpr uint64_t kQueueBytes = uint64_t{32} << 20;
// The stage's buffers for all threads: each thread holds about three chunks (its plaintext, its
// zstd output, its share of the ring), so big chunks get fewer threads (16 MiB chunks: 5).
constexpr uint64_t kStageBytes = uint64_t{256} << 20;

// Runs `f`, turning an escaping exception (std::bad_alloc from a buffer, or one thrown by a
// callback) into an error: nothing may unwind out of a worker thread.
template <typename F>
Status Guarded(uint64_t chunk, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status(Code::Internal, "chunk " + std::to_string(chunk) + ": " + e.what());
  } catch (...) {
    return Status(Code::Internal, "chunk " + std::to_string(chunk) + ": unknown exception");
  }
}

class Pipeline {
 public:
  Pipeline(const format::ContentKey& k, const format::CapsuleId& id, const SealPlan& plan,
           const PlainReader& read, const SealedSink& sink)
      : k_(k),
        id_(id),
        plan_(plan),
        read_(read),
        sink_(sink),
        count_((plan.plaintext_size + plan.chunk_size - 1) / plan.chunk_size) {}

  Result<SealStats> Run() {
    if (plan_.plaintext_size == 0 || plan_.chunk_size == 0 || plan_.threads == 0)
      return Status(Code::Internal, "SealChunks: empty plan");
    const uint64_t by_memory =
        std::max<uint64_t>(1, kStageBytes / (3 * (uint64_t{plan_.chunk_size} + 16)));
    const unsigned threads =
        static_cast<unsigned>(std::min({uint64_t{plan_.threads}, count_, by_memory}));  // ≥ 1
    std::vector<std::unique_ptr<Worker>> workers;
    Status st = Guarded(0, [&] {
      slots_.resize(SealQueueDepth(threads, plan_.chunk_size));
      refill_ = std::max<size_t>(1, slots_.size() / 2);
      for (unsigned t = 0; t < threads; ++t)
        workers.push_back(std::make_unique<Worker>(k_, id_, plan_.chunk_size, plan_.mode));
      return Status::Ok();
    });
    if (!st.ok()) return st;

    std::vector<std::thread> helpers;
    try {
      helpers.reserve(threads - 1);
      for (unsigned t = 1; t < threads; ++t)
        helpers.emplace_back(&Pipeline::HelperMain, this, workers[t].get());
    } catch (...) {
      // The OS refused a thread (std::system_error): carry on with those started; the caller
      // always seals too, so the run completes.
    }
    CallerMain(*workers[0]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& h : helpers) h.join();

    if (!error_.ok()) return error_;
    stats_.chunks = count_;
    stats_.threads = static_cast<unsigned>(1 + helpers.size());
    stats_.queue_depth = slots_.size();
    return stats_;
  }

 private:
  // One sealing thread's own state: its sealer (payload key, zstd context) and plaintext buffer.
  struct Worker {
    Worker(const format::ContentKey& k, const format::CapsuleId& id, uint32_t cs,
           format::CompressMode mode)
        : sealer(k, id, cs, mode), plain(cs) {}
    ~Worker() { format::Wipe(plain.data(), plain.size()); }
    ChunkSealer sealer;
    Bytes plain;
  };
  struct Slot {
    bool ready = false;  // holds the sealed chunk `index`, not yet written
    uint64_t index = 0;
    Bytes sealed;
    IndexEntry entry{};
  };

  size_t PlainLen(uint64_t i) const {
    return static_cast<size_t>(
        std::min<uint64_t>(plan_.chunk_size, plan_.plaintext_size - i * plan_.chunk_size));
  }

  // Reads and seals chunk i into slot s (owned by this thread until it is marked ready).
  Status Seal(Worker& w, uint64_t i, Slot& s, uint64_t min_compressed) {
    return Guarded(i, [&] {
      const size_t n = PlainLen(i);
      CAPSULE_RETURN_IF_ERROR(read_(i * plan_.chunk_size, w.plain.data(), n));
      return w.sealer.Seal(i, i + 1 == count_, ByteView(w.plain.data(), n), min_compressed,
                           &s.sealed, &s.entry);
    });
  }

  // Under mu_: slots neither being sealed nor waiting to be written.
  size_t FreeLocked() const { return slots_.size() - static_cast<size_t>(next_ - written_); }

  // Under mu_: the next chunk to seal, if there is one and its slot is free (chunk i - depth
  // has been written).
  bool ClaimLocked(uint64_t* i) {
    if (stop_ || next_ >= count_ || next_ - written_ >= slots_.size()) return false;
    *i = next_++;
    return true;
  }

  // Under mu_: chunk i was sealed (st ok) or failed.
  void FinishLocked(uint64_t i, const Status& st) {
    if (!st.ok()) return FailLocked(i, st);
    Slot& s = slots_[i % slots_.size()];
    s.index = i;
    s.ready = true;
    if (i == written_) write_cv_.notify_one();
  }

  // Under mu_: keeps the error of the lowest chunk and stops everyone.
  void FailLocked(uint64_t i, const Status& st) {
    if (error_.ok() || i < error_chunk_) {
      error_ = st;
      error_chunk_ = i;
    }
    stop_ = true;
    work_cv_.notify_all();
    write_cv_.notify_all();
  }

  // Thread bodies: an exception from the synchronisation itself (std::system_error) ends the
  // run with an error instead of unwinding out of the thread.
  void HelperMain(Worker* w) {
    Contain([&] { HelperLoop(*w); });
  }
  void CallerMain(Worker& w) {
    Contain([&] { CallerLoop(w); });
  }
  template <typename F>
  void Contain(F&& f) {
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      FailLocked(0, Status(Code::Internal, "pack pipeline: thread synchronisation failed"));
    }
  }

  void HelperLoop(Worker& w) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      uint64_t i;
      if (ClaimLocked(&i)) {
        lock.unlock();
        Status st = Seal(w, i, slots_[i % slots_.size()], 0);
        lock.lock();
        FinishLocked(i, st);
        continue;
      }
      if (stop_ || next_ >= count_) return;
      // The ring is full. Sleep until half of it is free, not just one slot: a writer slower
      // than the sealers would otherwise wake a sealer for every chunk it writes (one context
      // switch a chunk, costly on a loaded machine).
      work_cv_.wait(lock, [&] { return stop_ || next_ >= count_ || FreeLocked() >= refill_; });
    }
  }

  // The writer: hands chunks to the sink in order; seals chunks itself while it would wait.
  void CallerLoop(Worker& w) {
    std::unique_lock<std::mutex> lock(mu_);
    while (written_ < count_ && !stop_) {
      const uint64_t i = written_;
      Slot& s = slots_[i % slots_.size()];
      if (s.ready && s.index == i) {
        lock.unlock();
        Status st = Write(w, i, s);
        lock.lock();
        if (!st.ok()) {
          FailLocked(i, st);
          break;
        }
        s.ready = false;
        ++written_;
        if (FreeLocked() == refill_) work_cv_.notify_all();  // sleeping sealers: work again
        continue;
      }
      uint64_t j;
      if (ClaimLocked(&j)) {
        lock.unlock();
        Status st = Seal(w, j, slots_[j % slots_.size()], 0);
        lock.lock();
        FinishLocked(j, st);
        continue;
      }
      write_cv_.wait(lock);  // chunk i is being sealed by a helper
    }
  }

  // Applies the LEB128 floor rule to chunk i with the exact running total, then writes it.
  Status Write(Worker& w, uint64_t i, Slot& s) {
    return Guarded(i, [&] {
      const uint64_t have = stats_.payload_bytes + 16 * (count_ - i - 1);
      const uint64_t min_compressed = plan_.min_payload > have ? plan_.min_payload - have : 0;
      if (s.entry.compressed() && s.sealed.size() < min_compressed) {
        // Declined as the sequential code declined it: sealed again, uncompressed (no
        // compressed length can reach this bound).
        CAPSULE_RETURN_IF_ERROR(Seal(w, i, s, std::numeric_limits<uint64_t>::max()));
      }
      CAPSULE_RETURN_IF_ERROR(sink_(i, s.sealed, s.entry));
      stats_.payload_bytes += s.sealed.size();
      stats_.compressed_chunks += s.entry.compressed();
      return Status::Ok();
    });
  }

  const format::ContentKey& k_;
  const format::CapsuleId& id_;
  const SealPlan plan_;
  const PlainReader& read_;
  const SealedSink& sink_;
  const uint64_t count_;

  std::mutex mu_;
  std::condition_variable work_cv_;   // helpers: a slot was freed, or stop
  std::condition_variable write_cv_;  // the writer: its next chunk is ready, or an error
  std::vector<Slot> slots_;
  size_t refill_ = 1;     // free slots that wake sleeping sealers
  uint64_t next_ = 0;     // chunks claimed (all below it are sealed, being sealed or written)
  uint64_t written_ = 0;  // chunks handed to the sink
  bool stop_ = false;
  Status error_;
  uint64_t error_chunk_ = 0;
  SealStats stats_;  // the writer's (caller's) alone
};

}  // namespace

size_t SealQueueDepth(unsigned threads, uint32_t chunk_size) {
  const size_t want = 8 * size_t{threads} + 4;
  const size_t cap = static_cast<size_t>(kQueueBytes / (uint64_t{chunk_size} + 16));
  return std::max<size_t>(size_t{threads} + 1, std::min(want, cap));
}

Result<SealStats> SealChunks(const format::ContentKey& k, const format::CapsuleId& id,
                             const SealPlan& plan, const PlainReader& read,
                             const SealedSink& sink) {
  Pipeline p(k, id, plan, read, sink);
  return p.Run();
}

}  // namespace capsule::packager
