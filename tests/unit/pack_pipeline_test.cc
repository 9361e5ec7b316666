// Tests of the pack pipeline (packager/pack_pipeline.h): the same sealed bytes and index entries
// as the sequential loop for any thread count (including the LEB128 floor rule), chunks in
// order on the calling thread, at most queue_depth chunks in flight, and errors — a failing
// read, a failing sink, an exception — stop the run and come back as values. Also kAuto's
// sample test (format/chunk_crypto.cc) and Packer's progress callback on several threads.
#include "packager/pack_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "capsule/capsule.h"
#include "format/chunk_crypto.h"
#include "format/crypto.h"
#include "test_util.h"

using namespace capsule;            // NOLINT
using namespace capsule::format;    // NOLINT
using namespace capsule::packager;  // NOLINT

namespace {

struct Sealed {
  Bytes bytes;
  std::vector<IndexEntry> entries;
  uint64_t compressed = 0;
};

// The sequential loop the pipeline replaced (packager/pack.cc before issue 6): the reference.
Sealed Sequential(const ContentKey& k, const CapsuleId& id, const Bytes& plain, uint32_t cs,
                  CompressMode mode, uint64_t min_payload) {
  Sealed r;
  ChunkSealer sealer(k, id, cs, mode);
  const uint64_t count = (plain.size() + cs - 1) / cs;
  Bytes sealed;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t n = std::min<size_t>(cs, plain.size() - i * cs);
    const uint64_t have = r.bytes.size() + 16 * (count - i - 1);
    const uint64_t min_compressed = min_payload > have ? min_payload - have : 0;
    IndexEntry e;
    EXPECT_TRUE(sealer
                    .Seal(i, i + 1 == count, ByteView(plain.data() + i * cs, n), min_compressed,
                          &sealed, &e)
                    .ok());
    r.bytes.insert(r.bytes.end(), sealed.begin(), sealed.end());
    r.entries.push_back(e);
    r.compressed += e.compressed();
  }
  return r;
}

class PackPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CryptoInit();
    RandomBytes(k_.data(), 32);
    RandomBytes(id_.data(), id_.size());
  }
  // Compressible text and random bytes in alternating runs of `run` bytes.
  static Bytes Mixed(size_t size, size_t run) {
    Bytes b(size);
    RandomBytes(b.data(), b.size());
    const std::string line = "a line of text that compresses well, again and again\n";
    for (size_t off = 0; off < size; off += 2 * run)
      for (size_t j = off; j < std::min(size, off + run); ++j) b[j] = line[j % line.size()];
    return b;
  }
  PlainReader Reader(const Bytes& plain) {
    return [&plain](uint64_t off, uint8_t* buf, size_t n) {
      std::memcpy(buf, plain.data() + off, n);
      return Status::Ok();
    };
  }
  // Runs the pipeline; collects what the sink saw (checking order and the calling thread).
  Result<SealStats> Run(const Bytes& plain, SealPlan plan, Sealed* out,
                        PlainReader read = nullptr) {
    plan.plaintext_size = plain.size();
    const auto caller = std::this_thread::get_id();
    uint64_t expect = 0;
    return SealChunks(k_, id_, plan, read ? read : Reader(plain),
                      [&](uint64_t i, ByteView sealed, const IndexEntry& e) {
                        EXPECT_EQ(i, expect++);
                        EXPECT_EQ(std::this_thread::get_id(), caller);
                        out->bytes.insert(out->bytes.end(), sealed.begin(), sealed.end());
                        out->entries.push_back(e);
                        out->compressed += e.compressed();
                        return Status::Ok();
                      });
  }
  static void ExpectSame(const Sealed& a, const Sealed& b, const std::string& what) {
    EXPECT_TRUE(a.bytes == b.bytes) << what;
    ASSERT_EQ(a.entries.size(), b.entries.size()) << what;
    for (size_t i = 0; i < a.entries.size(); ++i) {
      EXPECT_EQ(a.entries[i].length, b.entries[i].length) << what << " chunk " << i;
      EXPECT_EQ(a.entries[i].flags, b.entries[i].flags) << what << " chunk " << i;
      EXPECT_TRUE(a.entries[i].hash == b.entries[i].hash) << what << " chunk " << i;
    }
    EXPECT_EQ(a.compressed, b.compressed) << what;
  }
  ContentKey k_;
  CapsuleId id_{};
};

TEST_F(PackPipelineTest, SameBytesAsTheSequentialLoopForAnyThreadCount) {
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(150 * cs + 123, 3 * cs);  // a short final chunk
  for (CompressMode mode : {CompressMode::kAuto, CompressMode::kAlways, CompressMode::kNever}) {
    const Sealed ref = Sequential(k_, id_, plain, cs, mode, 0);
    if (mode != CompressMode::kNever) {
      EXPECT_GT(ref.compressed, 0u);
      EXPECT_LT(ref.compressed, ref.entries.size());
    }
    for (unsigned threads : {1u, 2u, 3u, 4u, 8u, 32u}) {
      SealPlan plan;
      plan.chunk_size = cs;
      plan.mode = mode;
      plan.threads = threads;
      Sealed got;
      auto st = Run(plain, plan, &got);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      ExpectSame(ref, got, "threads " + std::to_string(threads));
      EXPECT_EQ(st->chunks, ref.entries.size());
      EXPECT_EQ(st->payload_bytes, ref.bytes.size());
      EXPECT_EQ(st->compressed_chunks, ref.compressed);
      EXPECT_EQ(st->threads, threads);  // 151 chunks: every thread asked for can have work
    }
  }
}

TEST_F(PackPipelineTest, TheWidthFloorIsAppliedInOrderAsBefore) {
  // All text: compressed, the payload would be far below min_payload; the sequential loop
  // compresses the first chunks and then declines compression for the rest. Workers sealed
  // those compressed (they do not know the running total): the writer must re-seal them.
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(64 * cs, 64 * cs);
  const uint64_t min_payload = plain.size() * 3 / 4;
  for (CompressMode mode : {CompressMode::kAuto, CompressMode::kAlways}) {
    const Sealed ref = Sequential(k_, id_, plain, cs, mode, min_payload);
    ASSERT_GT(ref.compressed, 0u);
    ASSERT_LT(ref.compressed, ref.entries.size());
    EXPECT_GE(ref.bytes.size(), min_payload);
    for (unsigned threads : {1u, 2u, 4u}) {
      SealPlan plan;
      plan.chunk_size = cs;
      plan.mode = mode;
      plan.threads = threads;
      plan.min_payload = min_payload;
      Sealed got;
      auto st = Run(plain, plan, &got);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      ExpectSame(ref, got, "floor, threads " + std::to_string(threads));
    }
  }
}

TEST_F(PackPipelineTest, SingleChunkAndOneThreadStartNoThread) {
  const Bytes plain = Mixed(1000, 1000);
  SealPlan plan;
  plan.chunk_size = 4096;
  plan.threads = 4;
  Sealed got;
  auto st = Run(plain, plan, &got);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->threads, 1u);  // one chunk: no helper
  ExpectSame(Sequential(k_, id_, plain, 4096, CompressMode::kAuto, 0), got, "one chunk");
  EXPECT_TRUE(got.entries[0].final());

  // --threads 1: every read happens on the calling thread.
  const Bytes more = Mixed(20 * 4096, 4096);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  plan.threads = 1;
  Sealed seq;
  st = Run(more, plan, &seq, [&](uint64_t off, uint8_t* buf, size_t n) {
    if (std::this_thread::get_id() != caller) ++elsewhere;
    std::memcpy(buf, more.data() + off, n);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->threads, 1u);
  EXPECT_EQ(elsewhere.load(), 0);
}

TEST_F(PackPipelineTest, AtMostQueueDepthChunksInFlight) {
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(300 * cs, 5 * cs);
  for (unsigned threads : {2u, 4u}) {
    const size_t depth = SealQueueDepth(threads, cs);
    std::atomic<uint64_t> delivered{0};
    std::atomic<int> violations{0}, reading{0}, max_reading{0};
    SealPlan plan;
    plan.plaintext_size = plain.size();
    plan.chunk_size = cs;
    plan.threads = threads;
    auto st = SealChunks(
        k_, id_, plan,
        [&](uint64_t off, uint8_t* buf, size_t n) {
          int now = ++reading;
          for (int m = max_reading.load(); now > m && !max_reading.compare_exchange_weak(m, now);) {
          }
          // Chunk i is read only once chunk i - depth has been handed to the sink.
          if (off / cs >= delivered.load() + depth) ++violations;
          std::memcpy(buf, plain.data() + off, n);
          --reading;
          return Status::Ok();
        },
        [&](uint64_t, ByteView, const IndexEntry&) {
          ++delivered;
          return Status::Ok();
        });
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->queue_depth, depth);
    EXPECT_EQ(delivered.load(), 300u);
    EXPECT_EQ(violations.load(), 0) << "threads " << threads;
    EXPECT_LE(max_reading.load(), static_cast<int>(threads));
  }
  // The ring's bytes are capped for big chunks, but every thread keeps a slot.
  EXPECT_EQ(SealQueueDepth(2, 64 << 10), 20u);
  EXPECT_EQ(SealQueueDepth(2, 16 << 20), 3u);
  EXPECT_EQ(SealQueueDepth(64, 64 << 10), 511u);  // 32 MiB / (64 KiB + 16)
  EXPECT_EQ(SealQueueDepth(64, 1 << 20), 65u);
}

TEST_F(PackPipelineTest, BigChunksGetFewerThreads) {
  // 16 MiB chunks: about three chunks of buffers a thread within 256 MiB leaves 5 threads.
  SealPlan plan;
  plan.chunk_size = 16u << 20;
  plan.plaintext_size = 6 * uint64_t{plan.chunk_size};
  plan.mode = CompressMode::kNever;
  plan.threads = 16;
  uint64_t chunks = 0;
  auto st = SealChunks(
      k_, id_, plan,
      [](uint64_t off, uint8_t* buf, size_t n) {
        std::memset(buf, static_cast<int>(off >> 24), n);
        return Status::Ok();
      },
      [&](uint64_t, ByteView sealed, const IndexEntry&) {
        EXPECT_EQ(sealed.size(), (16u << 20) + 16);
        ++chunks;
        return Status::Ok();
      });
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(chunks, 6u);
  EXPECT_EQ(st->threads, 5u);
  EXPECT_EQ(st->queue_depth, 6u);  // threads + 1: the 32 MiB ring cap gives way
}

TEST_F(PackPipelineTest, AReadErrorStopsTheRunAndIsReturned) {
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(400 * cs, 7 * cs);
  const uint64_t bad = 37;
  for (unsigned threads : {1u, 2u, 4u}) {
    const size_t depth = SealQueueDepth(threads, cs);
    std::atomic<uint64_t> max_read{0};
    uint64_t sunk = 0;
    SealPlan plan;
    plan.plaintext_size = plain.size();
    plan.chunk_size = cs;
    plan.threads = threads;
    auto st = SealChunks(
        k_, id_, plan,
        [&](uint64_t off, uint8_t* buf, size_t n) {
          const uint64_t i = off / cs;
          for (uint64_t m = max_read.load(); i > m && !max_read.compare_exchange_weak(m, i);) {
          }
          if (i == bad) return Status(Code::IoRead, "input: read failed: injected");
          std::memcpy(buf, plain.data() + off, n);
          return Status::Ok();
        },
        [&](uint64_t i, ByteView, const IndexEntry&) {
          EXPECT_LT(i, bad);
          ++sunk;
          return Status::Ok();
        });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), Code::IoRead);
    EXPECT_NE(st.status().detail().find("injected"), std::string::npos);
    EXPECT_LE(sunk, bad);
    // Stopped promptly: nothing was read beyond what the ring allowed past the failure.
    EXPECT_LT(max_read.load(), bad + depth) << "threads " << threads;
  }
}

TEST_F(PackPipelineTest, ASinkErrorStopsTheRun) {
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(400 * cs, 7 * cs);
  for (unsigned threads : {1u, 4u}) {
    const size_t depth = SealQueueDepth(threads, cs);
    std::atomic<uint64_t> reads{0};
    uint64_t calls = 0;
    SealPlan plan;
    plan.plaintext_size = plain.size();
    plan.chunk_size = cs;
    plan.threads = threads;
    auto st = SealChunks(
        k_, id_, plan,
        [&](uint64_t off, uint8_t* buf, size_t n) {
          ++reads;
          std::memcpy(buf, plain.data() + off, n);
          return Status::Ok();
        },
        [&](uint64_t i, ByteView, const IndexEntry&) {
          ++calls;
          return i == 10 ? Status(Code::IoWrite, "out: write failed: injected") : Status::Ok();
        });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), Code::IoWrite);
    EXPECT_EQ(calls, 11u);  // nothing after the failing chunk
    EXPECT_LE(reads.load(), 11 + depth);
  }
}

TEST_F(PackPipelineTest, ExceptionsBecomeErrors) {
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(100 * cs, cs);
  for (unsigned threads : {1u, 4u}) {
    SealPlan plan;
    plan.plaintext_size = plain.size();
    plan.chunk_size = cs;
    plan.threads = threads;
    auto st = SealChunks(
        k_, id_, plan,
        [&](uint64_t off, uint8_t* buf, size_t n) -> Status {
          if (off / cs == 50) throw std::runtime_error("reader blew up");
          std::memcpy(buf, plain.data() + off, n);
          return Status::Ok();
        },
        [](uint64_t, ByteView, const IndexEntry&) { return Status::Ok(); });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), Code::Internal);
    EXPECT_NE(st.status().detail().find("chunk 50: reader blew up"), std::string::npos)
        << st.status().ToString();

    auto st2 = SealChunks(k_, id_, plan, Reader(plain),
                          [](uint64_t i, ByteView, const IndexEntry&) -> Status {
                            if (i == 3) throw std::bad_alloc();
                            return Status::Ok();
                          });
    ASSERT_FALSE(st2.ok());
    EXPECT_EQ(st2.status().code(), Code::Internal);
  }
}

TEST_F(PackPipelineTest, ManyErrorsReportTheLowestChunk) {
  // Every chunk from 20 on fails: whichever thread fails first, chunk 20's error is returned
  // (as the sequential loop would report).
  const uint32_t cs = 4096;
  const Bytes plain = Mixed(200 * cs, cs);
  for (int round = 0; round < 20; ++round) {
    SealPlan plan;
    plan.plaintext_size = plain.size();
    plan.chunk_size = cs;
    plan.threads = 4;
    auto st = SealChunks(
        k_, id_, plan,
        [&](uint64_t off, uint8_t* buf, size_t n) {
          if (off / cs >= 20)
            return Status(Code::IoRead, "chunk " + std::to_string(off / cs) + " unreadable");
          std::memcpy(buf, plain.data() + off, n);
          return Status::Ok();
        },
        [](uint64_t, ByteView, const IndexEntry&) { return Status::Ok(); });
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().detail(), "chunk 20 unreadable");
  }
}

TEST(ChunkSealerAuto, DecidesOnASample) {
  CryptoInit();
  ContentKey k;
  RandomBytes(k.data(), 32);
  CapsuleId id{};
  const uint32_t cs = 64 << 10;
  ChunkSealer sealer(k, id, cs, CompressMode::kAuto);
  Bytes sealed;
  IndexEntry e;
  // Random bytes: the sample says no, stored as is.
  Bytes rnd(cs);
  RandomBytes(rnd.data(), rnd.size());
  ASSERT_TRUE(sealer.Seal(0, false, rnd, 0, &sealed, &e).ok());
  EXPECT_FALSE(e.compressed());
  // 16-bit PCM-like samples of a quiet signal (high bytes near 0 or 0xff): compressed.
  Bytes pcm(cs);
  for (size_t i = 0; i < cs; i += 2) {
    int v = static_cast<int>(rnd[i] % 200) - 100;
    pcm[i] = static_cast<uint8_t>(v & 0xff);
    pcm[i + 1] = static_cast<uint8_t>((v >> 8) & 0xff);
  }
  ASSERT_TRUE(sealer.Seal(1, false, pcm, 0, &sealed, &e).ok());
  EXPECT_TRUE(e.compressed());
  EXPECT_LT(sealed.size(), cs);
  // kAlways tries whatever the sample says; small chunks are always tried in kAuto.
  ChunkSealer always(k, id, cs, CompressMode::kAlways);
  Bytes zeros_then_noise(cs, 0);
  RandomBytes(zeros_then_noise.data() + 4096, cs - 4096);  // the sample is mostly noise
  ASSERT_TRUE(always.Seal(2, false, zeros_then_noise, 0, &sealed, &e).ok());
  EXPECT_TRUE(e.compressed());
  Bytes small(100, 'x');
  ASSERT_TRUE(sealer.Seal(3, true, small, 0, &sealed, &e).ok());
  EXPECT_TRUE(e.compressed());
  EXPECT_FALSE(kAutoCompressRule.empty());
}

TEST(PackProgress, CalledInOrderOnTheCallingThreadWithThreads) {
  // The Progress callback of Packer::Pack still reports every chunk, in order, from the thread
  // that called Pack, when the chunks are sealed on four threads; the capsule verifies.
  const std::string dir = capsule::testing::MakeTmp("pipe");
  KeygenRequest kg;
  kg.key_path = dir + "/creator.key";
  kg.pub_path = dir + "/creator.pub";
  ASSERT_TRUE(Keygen(kg).ok());
  capsule::testing::WriteAll(dir + "/m.yaml", R"(title: Progress
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
)");
  std::string text;
  while (text.size() < 300000) text += "line " + std::to_string(text.size()) + " of a text\n";
  capsule::testing::WriteAll(dir + "/t.txt", text);
  PackRequest req;
  req.manifest_path = dir + "/m.yaml";
  req.key_path = kg.key_path;
  req.chunk_size = 4096;
  req.threads = 4;
  auto packer = Packer::Create(req);
  ASSERT_TRUE(packer.ok()) << packer.status().ToString();
  const auto caller = std::this_thread::get_id();
  std::vector<uint64_t> done;
  bool elsewhere = false;
  auto r =
      (*packer)->Pack(dir + "/t.txt", dir + "/t.capsule.wasm", 0, [&](uint64_t d, uint64_t total) {
        elsewhere |= std::this_thread::get_id() != caller;
        EXPECT_EQ(total, text.size());
        done.push_back(d);
      });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(elsewhere);
  ASSERT_EQ(done.size(), r->chunk_count);
  for (size_t i = 0; i < done.size(); ++i)
    EXPECT_EQ(done[i], std::min<uint64_t>(text.size(), (i + 1) * 4096)) << i;
  VerifyRequest v;
  v.path = dir + "/t.capsule.wasm";
  EXPECT_TRUE(Verify(v).integrity);
}

}  // namespace
