// Decrypt-ahead for `open` (issue 6): while the capsule logic consumes chunk i, a worker thread
// reads, hashes and decrypts chunk i + 1 on the spare core. One chunk ahead is enough: the
// guest's copy through the sandbox takes about as long as the host's crypto, and the memory
// cost stays one chunk. The worker gets its own buffers and its own ChunkOpener, so it shares
// nothing mutable with the calling thread; results are handed over under a mutex.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "capsule/status.h"
#include "format/bytes.h"

namespace capsule::runtime {

class ChunkPrefetcher {
 public:
  // `open(i, plain)` authenticates and decrypts chunk i into plain; it runs on the worker thread.
  using OpenFn = std::function<Status(uint32_t index, format::Bytes* plain)>;
  explicit ChunkPrefetcher(OpenFn open);
  ~ChunkPrefetcher();  // stops the worker, wipes its buffer
  ChunkPrefetcher(const ChunkPrefetcher&) = delete;
  ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

  // Starts opening chunk i when the worker is idle (otherwise does nothing).
  void Start(uint32_t i);
  // When chunk i was started: waits for it and moves its result into *plain / *st (true).
  // Otherwise false, and the caller opens the chunk itself.
  bool Take(uint32_t i, format::Bytes* plain, Status* st);

 private:
  void Run();

  OpenFn open_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, busy_ = false, has_job_ = false;
  uint32_t index_ = 0;
  format::Bytes plain_;
  Status status_;
  std::thread worker_;
};

}  // namespace capsule::runtime
