// IPFS CIDs (packager/ipfs_cid.cc) against Debian's `ipfs_cid` (package ipfs-cid) on files made
// here — sizes around the chunk (262,144) and the 174-link node boundaries, and a 50 MiB file
// whose DAG has two levels — and against CIDs published by go-ipfs users.
#include "packager/ipfs_cid.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

namespace capsule::packager {
namespace {

using format::AsBytes;

// Deterministic bytes (xorshift64*) so a failure can be reproduced; incompressible like media.
std::string PseudoRandom(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    uint64_t v = x * 0x2545F4914F6CDD1Dull;
    for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

// The oracle: `ipfs_cid FILE` prints {"CIDv0":"Qm…","CIDv1":"bafy…"} on stdout (statistics go
// to stderr). Empty result when the tool is missing or fails.
nlohmann::json Oracle(const std::string& path) {
  std::string cmd = "ipfs_cid '" + path + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (pclose(p) != 0) return {};
  auto j = nlohmann::json::parse(out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

bool HaveOracle() { return access("/usr/bin/ipfs_cid", X_OK) == 0; }

TEST(IpfsCid, PublishedConstants) {
  // The empty file's CID (go-ipfs `ipfs add` of an empty file; also the oracle's).
  EXPECT_EQ(IpfsCidOf({}).v0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  // `echo "hello world" | ipfs add` (the IPFS docs' first example).
  IpfsCid hw = IpfsCidOf(AsBytes("hello world\n"));
  EXPECT_EQ(hw.v0, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  EXPECT_EQ(hw.v1, "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby");
  // Kubo's gateway fixtures (test/sharness/t0114-gateway-subdomains/README.md): `echo hello |
  // ipfs add --cid-version 0`, and that CID through `ipfs cid base32` (our v1: the same DAG;
  // `ipfs add --cid-version 1` would use raw leaves and give a bafkrei… CID instead).
  IpfsCid hello = IpfsCidOf(AsBytes("hello\n"));
  EXPECT_EQ(hello.v0, "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN");
  EXPECT_EQ(hello.v1, "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4");
  // go-ipfs values recorded in Solidity's test/libsolutil/IpfsHash.cpp: one byte, the largest
  // one-chunk file, and 1,310,710 zero bytes (5 chunks: a root with links, so this also pins
  // the PBLink encoding with its empty Name).
  EXPECT_EQ(IpfsCidOf(AsBytes("x")).v0, "QmULKig5Fxrs2sC4qt9nNduucXfb92AFYQ6Hi3YRqDmrYC");
  EXPECT_EQ(IpfsCidOf(AsBytes(std::string(262143, '\0'))).v0,
            "QmbNDspMkzkMFKyS3eCJGedG7GWRQHSCzJCZLjxP7wyVAx");
  EXPECT_EQ(IpfsCidOf(AsBytes(std::string(1310710, '\0'))).v0,
            "QmNg7BJo8gEMDK8yGQbHEwPtycesnE6FUULX5iVd5TAL9f");
  // A one-chunk file's root is its leaf: 2 + 1 + 1 + 12 + 1 + 1 = 18 bytes of UnixFS, 20 of PBNode.
  EXPECT_EQ(hw.cumulative_size, 20u);
  EXPECT_EQ(IpfsCidOf({}).cumulative_size, 6u);
}

TEST(IpfsCid, Base32MatchesRfc4648) {
  EXPECT_EQ(Base32Lower(AsBytes("")), "");
  EXPECT_EQ(Base32Lower(AsBytes("f")), "my");
  EXPECT_EQ(Base32Lower(AsBytes("fo")), "mzxq");
  EXPECT_EQ(Base32Lower(AsBytes("foo")), "mzxw6");
  EXPECT_EQ(Base32Lower(AsBytes("foob")), "mzxw6yq");
  EXPECT_EQ(Base32Lower(AsBytes("fooba")), "mzxw6ytb");
  EXPECT_EQ(Base32Lower(AsBytes("foobar")), "mzxw6ytboi");
}

TEST(IpfsCid, PiecesDoNotMatter) {
  std::string data = PseudoRandom(3 * kIpfsChunkSize + 12345, 7);
  IpfsCid whole = IpfsCidOf(AsBytes(data));
  UnixFsFileHasher h;
  for (size_t off = 0; off < data.size(); off += 99991)
    h.Update(AsBytes(std::string_view(data).substr(off, 99991)));
  IpfsCid pieces = h.Finish();
  EXPECT_EQ(whole.v0, pieces.v0);
  EXPECT_EQ(whole.v1, pieces.v1);
  EXPECT_EQ(whole.file_size, data.size());
  // CIDv0 and CIDv1 name the same root block.
  EXPECT_EQ(whole.v1.substr(0, 7), "bafybei");
  EXPECT_EQ(whole.v0.substr(0, 2), "Qm");
}

// Sizes: empty, one byte, around one chunk, exactly one full 174-leaf node and one byte more
// (the first depth-2 DAG, whose second child is a node with a single leaf), and ~50 MiB
// (200 chunks: a root over a full node and a 26-leaf node).
TEST(IpfsCid, MatchesIpfsCidOracle) {
  if (!HaveOracle()) GTEST_SKIP() << "ipfs_cid (Debian package ipfs-cid) not installed";
  const std::string dir = capsule::testing::MakeTmp("ipfs-cid-");
  const uint64_t sizes[] = {0,
                            1,
                            kIpfsChunkSize - 1,
                            kIpfsChunkSize,
                            kIpfsChunkSize + 1,
                            2 * kIpfsChunkSize,
                            kIpfsMaxLinks * kIpfsChunkSize,
                            kIpfsMaxLinks * kIpfsChunkSize + 1,
                            50u * 1024 * 1024 + 4321};
  uint64_t seed = 1;
  for (uint64_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string path = dir + "/f" + std::to_string(size);
    capsule::testing::WriteAll(path, PseudoRandom(size, seed++));
    auto ours = IpfsCidOfFile(path);
    ASSERT_TRUE(ours.ok()) << ours.status().ToString();
    EXPECT_EQ(ours->file_size, size);
    nlohmann::json want = Oracle(path);
    ASSERT_TRUE(want.is_object()) << "ipfs_cid failed on " << path;
    EXPECT_EQ(ours->v0, want.value("CIDv0", ""));
    EXPECT_EQ(ours->v1, want.value("CIDv1", ""));
    std::remove(path.c_str());
  }
  rmdir(dir.c_str());
}

TEST(IpfsCid, MissingFileIsIoError) {
  auto r = IpfsCidOfFile("/nonexistent/capsule.wasm");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::IoOpen);
}

}  // namespace
}  // namespace capsule::packager
