// Decrypt-ahead for `open` (issue 6): while the capsule logic consumes chunk i, worker threads
// read, hash and decrypt the chunks after it on the other cores. Reading is sequential almost
// always, so the prefetcher follows a stream [first, end): workers claim its chunks in order and
// keep at most `depth` of them opened or being opened ahead of the consumer; the consumer takes
// them in order. A Take out of order ends the stream (results dropped and wiped) and the caller
// opens that chunk itself and starts a new stream after it.
//
// Each worker has its own buffers and its own ChunkOpener (the OpenFn gets the worker's number),
// so workers share nothing mutable with the caller; results are handed over under a mutex.
// Memory: depth × chunk plaintext, plus one chunk per worker in flight.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "capsule/status.h"
#include "format/bytes.h"

namespace capsule::runtime {

class ChunkPrefetcher {
 public:
  // `open(worker, i, plain)` authenticates and decrypts chunk i into plain; it runs on worker
  // thread number `worker` (0 … threads−1), never on two threads with the same number at once.
  using OpenFn = std::function<Status(unsigned worker, uint32_t index, format::Bytes* plain)>;
  ChunkPrefetcher(OpenFn open, unsigned threads, unsigned depth);
  ~ChunkPrefetcher();  // stops the workers, wipes what they opened
  ChunkPrefetcher(const ChunkPrefetcher&) = delete;
  ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

  // Chunks first, first + 1, … < end will be taken in order: open them ahead. Replaces any
  // current stream.
  void Stream(uint32_t first, uint32_t end);
  // When chunk i is the next of the stream: waits for it and moves its result into *plain / *st
  // (true). Otherwise ends the stream and returns false: the caller opens the chunk itself.
  bool Take(uint32_t i, format::Bytes* plain, Status* st);
  // Whether the stream's next chunk is i (the caller need not start a new one).
  bool Streaming(uint32_t i);

 private:
  struct Opened {
    format::Bytes plain;
    Status status;
  };
  void Run(unsigned worker);
  void DropLocked();         // ends the stream; mu_ held
  bool ReadyLocked() const;  // chunks next_take_ … + want_ − 1 are all done; mu_ held

  OpenFn open_;
  const unsigned depth_;
  const unsigned batch_;  // wake-ups come per run of this many chunks
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;  // a worker's result from an ended stream is dropped
  uint32_t next_take_ = 0, next_claim_ = 0, end_ = 0;
  uint32_t want_ = 0;  // the consumer waits until this many chunks from next_take_ are done
  std::map<uint32_t, Opened> done_;
  std::vector<format::Bytes> spare_;  // wiped buffers for the workers to reuse
  std::vector<std::thread> workers_;
};

}  // namespace capsule::runtime
