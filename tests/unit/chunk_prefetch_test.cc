// The decrypt-ahead workers of `open` (runtime-min/chunk_prefetch.h): chunks come back in order
// with their own bytes and status, a jump ends the stream, the workers stay within the depth,
// and destruction with work in flight neither hangs nor loses track of a buffer.
#include "runtime-min/chunk_prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace capsule::runtime {
namespace {

format::Bytes ChunkBytes(uint32_t i) {
  format::Bytes b(1000 + i % 7);
  for (size_t k = 0; k < b.size(); ++k) b[k] = static_cast<uint8_t>(i * 31 + k);
  return b;
}

struct Opens {
  std::atomic<int> calls{0};
  std::atomic<uint32_t> taken{0};  // chunks the test has taken so far
  std::atomic<bool> beyond_depth{false};
  std::atomic<bool> same_worker_twice{false};
  std::atomic<int> busy[4] = {};
};

ChunkPrefetcher::OpenFn Opener(Opens& o, unsigned depth, uint32_t fail = UINT32_MAX) {
  return [&o, depth, fail](unsigned w, uint32_t i, format::Bytes* plain) {
    if (o.busy[w].fetch_add(1) != 0) o.same_worker_twice = true;
    ++o.calls;
    // A worker may claim chunk i only while fewer than `depth` chunks wait before it. The test
    // counts a take after Take returns, hence the + 1.
    if (i >= o.taken.load() + depth + 1) o.beyond_depth = true;
    *plain = ChunkBytes(i);
    o.busy[w].fetch_sub(1);
    if (i == fail) return Status(Code::ChunkAuthFailed, "chunk " + std::to_string(i));
    return Status::Ok();
  };
}

TEST(ChunkPrefetch, StreamsChunksInOrderWithTheirBytes) {
  Opens o;
  ChunkPrefetcher p(Opener(o, 4), 2, 4);
  p.Stream(0, 200);
  for (uint32_t i = 0; i < 200; ++i) {
    ASSERT_TRUE(p.Streaming(i));
    format::Bytes plain;
    Status st;
    ASSERT_TRUE(p.Take(i, &plain, &st)) << i;
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(plain, ChunkBytes(i)) << i;
    o.taken = i + 1;
  }
  EXPECT_FALSE(p.Streaming(200));
  EXPECT_FALSE(o.beyond_depth);
  EXPECT_FALSE(o.same_worker_twice);
  EXPECT_EQ(o.calls, 200);  // each chunk opened once, none past the end
}

// The consumer waits for a run of chunks and the workers wake per run (chunk_prefetch.cc): at
// every depth, thread count and stream length — short streams end inside a run — every chunk
// still comes back, in order, within the depth (a run waited for that no worker would claim
// hangs here and fails the test by its timeout).
TEST(ChunkPrefetch, RunsOfEveryDepthThreadCountAndStreamLength) {
  for (unsigned depth = 1; depth <= 17; ++depth) {
    for (unsigned threads = 1; threads <= 3; ++threads) {
      for (uint32_t length : {1u, 2u, 3u, 5u, 16u, 40u}) {
        Opens o;
        ChunkPrefetcher p(Opener(o, depth), threads, depth);
        const uint32_t first = 7;
        o.taken = first;
        p.Stream(first, first + length);
        for (uint32_t i = first; i < first + length; ++i) {
          format::Bytes plain;
          Status st;
          ASSERT_TRUE(p.Take(i, &plain, &st)) << depth << "/" << threads << "/" << length;
          ASSERT_EQ(plain, ChunkBytes(i));
          o.taken = i + 1;
        }
        EXPECT_FALSE(o.beyond_depth) << depth << "/" << threads << "/" << length;
        EXPECT_EQ(o.calls, static_cast<int>(length));
      }
    }
  }
}

TEST(ChunkPrefetch, AFailedChunkCarriesItsStatusAndTheStreamGoesOn) {
  Opens o;
  ChunkPrefetcher p(Opener(o, 3, 5), 2, 3);
  p.Stream(0, 10);
  for (uint32_t i = 0; i < 10; ++i) {
    format::Bytes plain;
    Status st;
    ASSERT_TRUE(p.Take(i, &plain, &st));
    EXPECT_EQ(st.code(), i == 5 ? Code::ChunkAuthFailed : Code::Ok) << i;
    o.taken = i + 1;
  }
}

TEST(ChunkPrefetch, AJumpEndsTheStreamAndANewOneStartsAfterIt) {
  Opens o;
  ChunkPrefetcher p(Opener(o, 4), 2, 4);
  p.Stream(0, 100);
  format::Bytes plain;
  Status st;
  ASSERT_TRUE(p.Take(0, &plain, &st));
  o.taken = 1;
  EXPECT_FALSE(p.Take(50, &plain, &st));  // not the next: the caller opens it itself
  EXPECT_FALSE(p.Streaming(1));
  EXPECT_FALSE(p.Take(1, &plain, &st));  // the old stream is gone
  o.taken = 51;
  p.Stream(51, 60);
  for (uint32_t i = 51; i < 60; ++i) {
    ASSERT_TRUE(p.Take(i, &plain, &st)) << i;
    EXPECT_EQ(plain, ChunkBytes(i));
    o.taken = i + 1;
  }
  EXPECT_FALSE(o.beyond_depth);
}

TEST(ChunkPrefetch, WithoutAStreamTakeIsFalse) {
  Opens o;
  ChunkPrefetcher p(Opener(o, 2), 1, 2);
  format::Bytes plain;
  Status st;
  EXPECT_FALSE(p.Take(0, &plain, &st));
  EXPECT_EQ(o.calls, 0);
}

TEST(ChunkPrefetch, DestroyedWithWorkInFlight) {
  for (int round = 0; round < 50; ++round) {
    Opens o;
    ChunkPrefetcher p(Opener(o, 8), 3, 8);
    p.Stream(0, 1000);
    format::Bytes plain;
    Status st;
    ASSERT_TRUE(p.Take(0, &plain, &st));
  }  // the destructor stops the workers mid-stream
}

}  // namespace
}  // namespace capsule::runtime
