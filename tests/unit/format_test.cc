// Unit tests of the format layer: LEB128, signature section codec (wasmsign2 bytes), chunk
// crypto (AAD binding), chunk index, canonical JSON, key files, Keccak-256 and EVM addresses.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/chunk_index.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keccak.h"
#include "format/keys.h"
#include "format/signature.h"
#include "format/time.h"
#include "format/wasm.h"

using namespace capsule;          // NOLINT
using namespace capsule::format;  // NOLINT

namespace {
std::string TmpDir() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/fmtXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}
}  // namespace

TEST(Leb128, RoundTripAndPadding) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 0xffffffffull}) {
    Bytes b;
    PutLeb128(b, v);
    EXPECT_EQ(b.size(), Leb128Size(v));
    uint32_t got = 0;
    EXPECT_EQ(GetLeb128U32(b, &got), b.size());
    EXPECT_EQ(got, v);
    Bytes p;
    PutLeb128Padded(p, v, 5);
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(GetLeb128U32(p, &got), 5u);
    EXPECT_EQ(got, v);
  }
  uint32_t v;
  const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_EQ(GetLeb128U32(ByteView(too_long, 6), &v), 0u);
  const uint8_t over32[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
  EXPECT_EQ(GetLeb128U32(ByteView(over32, 5), &v), 0u);
}

TEST(Keccak, KnownVectors) {
  // Keccak-256("") and Keccak-256("abc") (Ethereum's hash; differs from SHA3-256).
  EXPECT_EQ(HexEncode(Keccak256("")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(HexEncode(Keccak256("abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  std::string long_input(200, 'a');  // crosses the 136-byte rate
  EXPECT_NE(HexEncode(Keccak256(long_input)), HexEncode(Keccak256(long_input.substr(1))));
}

TEST(EvmAddress, Eip55) {
  // Test vectors from EIP-55.
  for (std::string a :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"}) {
    auto b = ParseEvmAddress(a);
    ASSERT_TRUE(b) << a;
    EXPECT_EQ(EvmAddressChecksum(*b), a);
  }
  EXPECT_FALSE(ParseEvmAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));  // bad checksum
  EXPECT_TRUE(ParseEvmAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));   // all lower
  EXPECT_FALSE(ParseEvmAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae"));   // short
}

TEST(Signature, SerializeParseAndVerify) {
  CryptoInit();
  uint8_t seed[32] = {1}, pk[32], sk[64];
  Ed25519KeypairFromSeed(seed, pk, sk);
  std::vector<Hash32> hashes(3);
  for (int i = 0; i < 3; ++i) hashes[i] = Sha256Of(AsBytes(std::string(1, char('a' + i))));
  SignatureData d;
  ASSERT_TRUE(AddSignature(d, hashes, sk, pk).ok());
  EXPECT_EQ(AddSignature(d, hashes, sk, pk).code(), Code::AlreadySigned);
  Bytes enc = d.Serialize();
  // Header bytes exactly as wasmsign2 writes them: version 1, content type 1, hash fn 1, 1 set.
  ASSERT_GE(enc.size(), 4u);
  EXPECT_EQ(enc[0], 1);
  EXPECT_EQ(enc[1], 1);
  EXPECT_EQ(enc[2], 1);
  EXPECT_EQ(enc[3], 1);
  auto back = SignatureData::Parse(enc, "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(HasValidSignature(*back, hashes, pk));
  auto other = hashes;
  other[2][0] ^= 1;
  EXPECT_FALSE(HasValidSignature(*back, other, pk));
  // Every truncation is rejected, never accepted or crashing.
  for (size_t n = 0; n < enc.size(); ++n)
    EXPECT_FALSE(SignatureData::Parse(ByteView(enc.data(), n), "t").ok()) << n;
  Bytes extra = enc;
  extra.push_back(0);
  EXPECT_EQ(SignatureData::Parse(extra, "t").status().code(), Code::BadSignatureSection);
}

TEST(ChunkCrypto, RoundTripAndBinding) {
  CryptoInit();
  ContentKey k;
  RandomBytes(k.data(), 32);
  CapsuleId id{};
  RandomBytes(id.data(), id.size());
  const uint32_t cs = 4096;
  std::string text(cs, 'x');  // compressible
  ChunkSealer sealer(k, id, cs, CompressMode::kAuto);
  Bytes sealed;
  IndexEntry e;
  ASSERT_TRUE(sealer.Seal(0, false, AsBytes(text), 0, &sealed, &e).ok());
  EXPECT_TRUE(e.compressed());
  EXPECT_LT(sealed.size(), text.size());
  ChunkOpener opener(k, id, cs);
  Bytes plain;
  ASSERT_TRUE(opener.Open(0, e, cs, sealed, &plain).ok());
  EXPECT_EQ(std::string(plain.begin(), plain.end()), text);
  // Another position, another final flag, another length, a flipped byte: all fail.
  EXPECT_EQ(opener.Open(1, e, cs, sealed, &plain).code(), Code::ChunkAuthFailed);
  IndexEntry fin = e;
  fin.flags |= kChunkFinal;
  EXPECT_EQ(opener.Open(0, fin, cs, sealed, &plain).code(), Code::ChunkAuthFailed);
  EXPECT_EQ(opener.Open(0, e, cs - 1, sealed, &plain).code(), Code::ChunkAuthFailed);
  Bytes flipped = sealed;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_EQ(opener.Open(0, e, cs, flipped, &plain).code(), Code::ChunkAuthFailed);
  CapsuleId other = id;
  other[0] ^= 1;
  ChunkOpener wrong_id(k, other, cs);
  EXPECT_EQ(wrong_id.Open(0, e, cs, sealed, &plain).code(), Code::ChunkAuthFailed);
  // Never compressed when it does not pay.
  Bytes rnd(cs);
  RandomBytes(rnd.data(), rnd.size());
  ASSERT_TRUE(sealer.Seal(1, true, rnd, 0, &sealed, &e).ok());
  EXPECT_FALSE(e.compressed());
  EXPECT_EQ(sealed.size(), rnd.size() + 16);
  // Key commitment depends on key and id.
  ContentKey k2 = k;
  k2.data()[0] ^= 1;
  EXPECT_NE(KeyCommitment(k, id), KeyCommitment(k2, id));
  EXPECT_NE(KeyCommitment(k, id), KeyCommitment(k, other));
}

// A compressed chunk body is exactly one zstd frame that declares the chunk's plaintext length
// (capsule-format.md §9.4). zstd itself would also take a body of several frames, a skippable
// frame or a frame without a content size: each is sealed here as the sealer would seal it
// (so it authenticates) and must be chunk-decompress, never plaintext.
TEST(ChunkCrypto, CompressedBodyIsOneFrameDeclaringItsLength) {
  CryptoInit();
  ContentKey k;
  RandomBytes(k.data(), 32);
  const CapsuleId id{9, 9, 9};
  const uint32_t cs = 4096;
  auto open = [&](const Bytes& body, uint32_t plain_len) {
    uint8_t key[32], nonce[12];
    DerivePayloadKey(k, id, key);
    ChunkNonce(0, nonce);
    Bytes aad = ChunkAad(id, 0, /*final=*/true, /*compressed=*/true, cs, plain_len);
    Bytes sealed(body.size() + 16);
    EXPECT_TRUE(AesGcmSeal(key, nonce, aad, body, sealed.data()));
    IndexEntry e;
    e.length = static_cast<uint32_t>(sealed.size());
    e.flags = kChunkCompressed | kChunkFinal;
    ChunkOpener opener(k, id, cs);
    Bytes plain;
    Status st = opener.Open(0, e, plain_len, sealed, &plain);
    EXPECT_TRUE(st.ok() || plain.empty());  // nothing released on a refusal
    return st.code();
  };
  auto frame = [](std::string_view text, bool content_size) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size ? 1 : 0);
    Bytes z(ZSTD_compressBound(text.size()));
    size_t n = ZSTD_compress2(c, z.data(), z.size(), text.data(), text.size());
    ZSTD_freeCCtx(c);
    EXPECT_FALSE(ZSTD_isError(n));
    z.resize(n);
    return z;
  };
  const std::string a(1000, 'a'), b(1000, 'b');
  const Bytes whole = frame(a + b, true);
  EXPECT_EQ(open(whole, 2000), Code::Ok);
  // The same plaintext, refused: two frames; a skippable frame first; no content size; a byte
  // after the frame; a frame declaring another length (the plaintext length is authenticated).
  Bytes two = frame(a, true), second = frame(b, true);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(open(two, 2000), Code::ChunkDecompress);
  const uint8_t skip[] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};  // 4 bytes skipped
  Bytes skippable = whole;
  skippable.insert(skippable.begin(), std::begin(skip), std::end(skip));
  EXPECT_EQ(open(skippable, 2000), Code::ChunkDecompress);
  EXPECT_EQ(open(frame(a + b, false), 2000), Code::ChunkDecompress);
  Bytes trailing = whole;
  trailing.push_back(0);
  EXPECT_EQ(open(trailing, 2000), Code::ChunkDecompress);
  Bytes skippable_after = whole;  // zstd alone decompresses this to the 2000 bytes
  skippable_after.insert(skippable_after.end(), std::begin(skip), std::end(skip));
  EXPECT_EQ(open(skippable_after, 2000), Code::ChunkDecompress);
  EXPECT_EQ(open(whole, 1999), Code::ChunkDecompress);
  EXPECT_EQ(open(Bytes{0x28, 0xb5}, 2000), Code::ChunkDecompress);
}

TEST(ChunkIndex, ParseChecks) {
  ChunkIndex idx;
  IndexEntry a{4096 + 16, 0, {}}, b{100, kChunkFinal | kChunkCompressed, {}};
  idx.entries = {a, b};
  Bytes enc = idx.Serialize();
  EXPECT_EQ(enc.size(), ChunkIndex::SerializedSize(2));
  auto ok = ChunkIndex::Parse(enc, 4096, 4096 + 16 + 100, "t");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->offset(1), 4096u + 16);
  EXPECT_EQ(ok->offset(2), 4096u + 16 + 100);  // the end
  EXPECT_EQ(ChunkIndex::Parse(enc, 4096, 999, "t").status().code(), Code::BadIndex);
  Bytes bad_flags = enc;
  bad_flags[kIndexHeaderSize + 4] = 0x80;
  EXPECT_EQ(ChunkIndex::Parse(bad_flags, 4096, 4096 + 16 + 100, "t").status().code(),
            Code::BadIndex);
  ChunkIndex nofinal;
  nofinal.entries = {a, IndexEntry{100, kChunkCompressed, {}}};
  EXPECT_EQ(ChunkIndex::Parse(nofinal.Serialize(), 4096, 4096 + 16 + 100, "t").status().code(),
            Code::BadIndex);
}

// Many entries: every field and offset survives, and each check keeps its exact message.
TEST(ChunkIndex, ParseManyEntriesAndMessages) {
  constexpr uint32_t kChunk = 4096, kCount = 5000;  // 200 KB of entries: prefaulted
  ChunkIndex idx;
  for (uint32_t i = 0; i < kCount; ++i) {
    IndexEntry e{kChunk + 16, 0, {}};
    for (size_t j = 0; j < e.hash.size(); ++j) e.hash[j] = static_cast<uint8_t>(i * 7 + j);
    idx.entries.push_back(e);
  }
  idx.entries[10].flags = kChunkCompressed;
  idx.entries[10].length = 500;
  idx.entries.back().flags = kChunkFinal;
  idx.entries.back().length = 16;
  const uint64_t total = uint64_t{kCount - 2} * (kChunk + 16) + 500 + 16;
  Bytes enc = idx.Serialize();
  auto ok = ChunkIndex::Parse(enc, kChunk, total, "t");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), kCount);
  uint64_t off = 0;
  for (uint32_t i = 0; i < kCount; ++i) {
    EXPECT_EQ((*ok)[i].length, idx.entries[i].length) << i;
    EXPECT_EQ((*ok)[i].flags, idx.entries[i].flags) << i;
    EXPECT_EQ((*ok)[i].hash, idx.entries[i].hash) << i;
    EXPECT_EQ(ok->offset(i), off) << i;  // chunk 10 is short: offsets after it are not i × full
    off += idx.entries[i].length;
  }
  EXPECT_EQ(ok->offset(kCount), total);
  EXPECT_EQ(ok->Serialize(), enc);

  auto detail = [&](const Bytes& b, uint64_t payload) {
    return ChunkIndex::Parse(b, kChunk, payload, "t").status().detail();
  };
  const size_t e500 = kIndexHeaderSize + 500 * kIndexEntrySize;
  EXPECT_EQ(detail(Bytes(enc.begin(), enc.begin() + 7), total), "t: chunk index: too short");
  Bytes b = enc;
  b[0] = 2;
  EXPECT_EQ(detail(b, total), "t: chunk index: unsupported version");
  b = Bytes(enc.begin(), enc.end() - 1);
  EXPECT_EQ(detail(b, total), "t: chunk index: size does not match its entry count 5000");
  b = Bytes{1, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(detail(b, 0), "t: chunk index: no chunks");
  b = enc;
  b[e500 + 4] = 4;
  EXPECT_EQ(detail(b, total), "t: chunk index: entry 500 has unknown flags");
  b = enc;
  b[e500 + 4] = kChunkFinal;
  EXPECT_EQ(detail(b, total),
            "t: chunk index: the final flag must be set on exactly the last entry (entry 500)");
  b = enc;
  b[e500 + 1] = 0x20;  // length 0x2010
  EXPECT_EQ(detail(b, total), "t: chunk index: entry 500 has an impossible length 8208");
  b = enc;
  b[e500] = 0;  // uncompressed, 4096 + 16 - 16
  EXPECT_EQ(detail(b, total), "t: chunk index: uncompressed entry 500 is not a full chunk");
  EXPECT_EQ(detail(enc, total + 1), "t: chunk index: chunk lengths add up to " +
                                        std::to_string(total) + " bytes but the payload has " +
                                        std::to_string(total + 1));
}

// An index of full chunks (offsets computed, none stored), read from a buffer it keeps; a
// copy holds the bytes after the original and the buffer are gone.
TEST(ChunkIndex, ParsedIndexOfFullChunksAndItsCopies) {
  constexpr uint32_t kChunk = 4096, kCount = 300;
  ChunkIndex idx;
  for (uint32_t i = 0; i < kCount; ++i) {
    IndexEntry e{kChunk + 16, i + 1 == kCount ? kChunkFinal : uint8_t{0}, {}};
    e.hash[0] = static_cast<uint8_t>(i);
    e.hash[31] = static_cast<uint8_t>(i >> 8);
    idx.entries.push_back(e);
  }
  idx.entries.back().length = 40;  // the last one may be short
  const Bytes enc = idx.Serialize();
  const uint64_t total = uint64_t{kCount - 1} * (kChunk + 16) + 40;
  ParsedIndex copy;
  {
    ReadBuffer buf(enc.size());
    std::memcpy(buf.data(), enc.data(), enc.size());
    auto ok = ChunkIndex::Parse(std::move(buf), kChunk, total, "t");
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    copy = *ok;
  }
  ASSERT_EQ(copy.size(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(copy.offset(i), uint64_t{i} * (kChunk + 16)) << i;
    EXPECT_EQ(copy[i].hash[0], static_cast<uint8_t>(i));
    EXPECT_EQ(copy[i].hash[31], static_cast<uint8_t>(i >> 8));
  }
  EXPECT_EQ(copy[kCount - 1].length, 40u);
  EXPECT_TRUE(copy[kCount - 1].final());
  EXPECT_EQ(copy.offset(kCount), total);
  EXPECT_EQ(copy.Serialize(), enc);
}

// ReadBufferAt: the same bytes and the same errors as ReadRange.
TEST(InputFile, ReadBufferAtMatchesReadRange) {
  std::string path = TmpDir() + "/f";
  Bytes data(700000);  // also past PrefaultForWrite's 128 KiB threshold
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7 + (i >> 12));
  FILE* fp = std::fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), fp), data.size());
  std::fclose(fp);
  auto f = InputFile::Open(path);
  ASSERT_TRUE(f.ok());
  auto buf = f->ReadBufferAt(1000, 50000);
  ASSERT_TRUE(buf.ok()) << buf.status().ToString();
  ASSERT_EQ(buf->size(), 50000u);
  EXPECT_TRUE(std::equal(buf->view().begin(), buf->view().end(), data.begin() + 1000));
  auto big = f->ReadBufferAt(3, 600001);  // an unaligned range the kernel is asked to back first
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_TRUE(std::equal(big->view().begin(), big->view().end(), data.begin() + 3));
  auto empty = f->ReadBufferAt(data.size(), 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  for (auto [off, n] : {std::pair<uint64_t, size_t>{699999, 2}, {800000, 1}}) {
    auto a = f->ReadBufferAt(off, n);
    auto r = f->ReadRange(off, n);
    EXPECT_EQ(a.status().code(), Code::Truncated);
    EXPECT_EQ(a.status().ToString(), r.status().ToString());
  }
  std::remove(path.c_str());
  rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST(CanonicalJson, Rfc8785Subset) {
  nlohmann::json j = {{"b", 1}, {"a", {{"z", "x\ny\u0001\"\\"}, {"c", true}}}, {"n", nullptr}};
  auto s = CanonicalJson(j);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, R"({"a":{"c":true,"z":"x\ny\u0001\"\\"},"b":1,"n":null})");
  EXPECT_TRUE(ParseCanonicalJson(*s, "t").ok());
  EXPECT_EQ(ParseCanonicalJson(R"({"b":1,"a":2})", "t").status().code(),
            Code::ManifestNotCanonical);
  EXPECT_EQ(ParseCanonicalJson(R"({"a": 2})", "t").status().code(), Code::ManifestNotCanonical);
  EXPECT_EQ(ParseCanonicalJson(R"({"a":1,"a":1})", "t").status().code(),
            Code::ManifestNotCanonical);
  EXPECT_EQ(ParseCanonicalJson(R"({"a":1.5})", "t").status().code(), Code::ManifestInvalid);
  EXPECT_EQ(CanonicalJson(nlohmann::json{{"a", 1ull << 60}}).status().code(),
            Code::ManifestInvalid);
  EXPECT_EQ(ParseCanonicalJson("{\"a\":\"\xc3\xa9\"}", "t").ok(), true);  // UTF-8 kept raw
}

TEST(KeyFiles, WriteLoadProtectAndPermissions) {
  std::string dir = TmpDir();
  auto id = GenerateIdentity();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(WriteIdentity(*id, dir + "/a.key", dir + "/a.pub", std::nullopt, false).ok());
  EXPECT_EQ(WriteIdentity(*id, dir + "/a.key", dir + "/a.pub", std::nullopt, false).code(),
            Code::OutputExists);
  struct stat st;
  ASSERT_EQ(stat((dir + "/a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto never = [](const std::string&) -> Result<std::string> {
    return Status(Code::Usage, "no passphrase expected");
  };
  auto loaded = LoadSecretKey(dir + "/a.key", never);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->pub.ed25519, id->pub.ed25519);
  EXPECT_EQ(std::memcmp(loaded->secret.data(), id->secret.data(), 96), 0);
  auto pub = LoadPublicKey(dir + "/a.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->address, id->pub.address);
  EXPECT_EQ(pub->DidKey().rfind("did:key:z6Mk", 0), 0u);
  chmod((dir + "/a.key").c_str(), 0640);
  EXPECT_EQ(LoadSecretKey(dir + "/a.key", never).status().code(), Code::KeyFilePermissions);

  ASSERT_TRUE(
      WriteIdentity(*id, dir + "/p.key", dir + "/p.pub", std::string("correct horse"), false).ok());
  auto good = [](const std::string&) -> Result<std::string> {
    return std::string("correct horse");
  };
  auto bad = [](const std::string&) -> Result<std::string> { return std::string("wrong horse"); };
  auto p = LoadSecretKey(dir + "/p.key", good);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->pub.x25519, id->pub.x25519);
  EXPECT_EQ(LoadSecretKey(dir + "/p.key", bad).status().code(), Code::BadPassphrase);
  auto text = ReadSmallFile(dir + "/p.key", 1 << 16);
  ASSERT_TRUE(text.ok());
  // The secret never appears in clear in a protected file.
  EXPECT_EQ(text->find(Base64Encode(id->secret.view())), std::string::npos);
}

TEST(SealedBox, SeededIsCompatibleWithCryptoBoxSealOpen) {
  CryptoInit();
  uint8_t sk[32], pk[32], eph[32] = {7};
  RandomBytes(sk, 32);
  X25519PublicFromSecret(sk, pk);
  Bytes msg = {1, 2, 3, 4};
  Bytes a = SealTo(pk, msg, eph), b = SealTo(pk, msg, eph), c = SealTo(pk, msg, nullptr);
  EXPECT_EQ(a, b);  // seeded → deterministic
  EXPECT_NE(a, c);
  uint8_t out[4];
  ASSERT_TRUE(SealOpen(pk, sk, a, out));
  EXPECT_EQ(std::memcmp(out, msg.data(), 4), 0);
  ASSERT_TRUE(SealOpen(pk, sk, c, out));
}

TEST(ErrorTable, CodesAreUniqueAndGrouped) {
  size_t n = 0;
  const Code* codes = AllCodes(&n);
  std::set<std::string_view> reasons;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(reasons.insert(ReasonCode(codes[i])).second) << ReasonCode(codes[i]);
    int e = ExitCode(codes[i]);
    EXPECT_TRUE(e >= 0 && e <= 8 && e != 1 ? true : codes[i] == Code::Internal);
  }
}

// ---- UTC times (format/time.h): the one parser of --not-before/--not-after/--at/ledger times ----
TEST(UtcTime, ParsesTheDocumentedFormsAndRefusesTheRest) {
  using capsule::format::FormatUtcTime;
  using capsule::format::ParseUtcTime;
  EXPECT_EQ(ParseUtcTime("2027-01-01"), 1798761600);
  EXPECT_EQ(ParseUtcTime("2027-01-01T00:00Z"), 1798761600);
  EXPECT_EQ(ParseUtcTime("2027-01-01T01:30:15+01:30"), 1798761615);
  EXPECT_EQ(ParseUtcTime("@1798761600"), 1798761600);
  EXPECT_EQ(ParseUtcTime("2024-02-29"), 1709164800);
  for (const char* bad : {"", "2027-01-01T00:00", "2023-02-29", "2027-13-01", "2027-01-01T24:00Z",
                          "2027-01-01 00:00Z", "@", "@12x", "1969-12-31", "2027-01-01T00:00Zjunk"})
    EXPECT_FALSE(ParseUtcTime(bad).has_value()) << bad;
  EXPECT_EQ(FormatUtcTime(1798761615), "2027-01-01T00:00:15Z");
}
