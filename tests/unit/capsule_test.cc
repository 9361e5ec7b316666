// End-to-end tests of the library on real media: pack → verify → unpack round trips, byte
// flips over every signed section, truncation, reordered / spliced chunks, foreign payloads,
// extra and duplicate sections, trust, co-signing, reproducibility and no partial output.
#include "capsule/capsule.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/signature.h"
#include "format/wasm.h"

using namespace capsule;          // NOLINT
using namespace capsule::format;  // NOLINT

namespace {

std::string MakeTmp() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/capXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}

std::string ReadAll(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void WriteAll(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}
void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

const char* kManifest = R"(title: Test capsule
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 70%
    - role: publisher
      address: 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359
      share: 30%
models:
  - type: buy
    price: "2.50"
    currency: ELA
)";

class CapsuleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTmp());
    for (const char* n : {"creator", "issuer", "cosigner", "stranger"}) {
      KeygenRequest k;
      k.key_path = D() + "/" + n + ".key";
      k.pub_path = D() + "/" + n + ".pub";
      ASSERT_TRUE(Keygen(k).ok());
    }
    WriteAll(D() + "/m.yaml", kManifest);
    WriteAll(D() + "/m-preview.yaml", std::string(kManifest) + "preview: 1s\n");
    WriteAll(D() + "/m-text.yaml", std::string(kManifest) + "preview:\n  lines: 2\n");
    WriteAll(D() + "/m-free.yaml",
             std::string(kManifest).replace(std::string(kManifest).find("  - type: buy"),
                                            std::string::npos, "  - type: free\n"));
    // Generated media: a 3-second stereo WAV (many chunks at 4 KiB) and an MP3 from it.
    Shell("sox -n -r 8000 -c 2 -b 16 " + D() + "/tone.wav synth 3 sine 300 sine 500 vol 0.5");
    Shell("lame --quiet -b 64 " + D() + "/tone.wav " + D() + "/tone.mp3");
    Shell("cp /usr/share/common-licenses/GPL-3 " + D() + "/gpl.txt");
  }
  static const std::string& D() { return *dir_; }

  static PackRequest Req(const std::string& manifest = "m.yaml") {
    PackRequest r;
    r.manifest_path = D() + "/" + manifest;
    r.key_path = D() + "/creator.key";
    r.chunk_size = 4096;
    r.overwrite = true;
    return r;
  }
  static Result<PackedCapsule> PackFile(const std::string& in, const std::string& out,
                                        const PackRequest& req = Req(), uint64_t position = 0) {
    auto p = Packer::Create(req);
    if (!p.ok()) return p.status();
    return (*p)->Pack(in, out, position, nullptr);
  }
  static Code VerifyCode(const std::string& path, bool payload = true) {
    VerifyRequest v;
    v.path = path;
    v.check_payload = payload;
    return Verify(v).status.code();
  }
  static std::string* dir_;
};
std::string* CapsuleTest::dir_ = nullptr;

TEST_F(CapsuleTest, RoundTripRealMedia) {
  struct Case {
    std::string input, manifest;
  } cases[] = {
      {"/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3", "m-preview.yaml"},
      {"/usr/share/asterisk/moh/macroform-cold_day.wav", "m-preview.yaml"},
      {D() + "/gpl.txt", "m-text.yaml"},
      {D() + "/tone.wav", "m.yaml"},
      {D() + "/tone.mp3", "m.yaml"},
  };
  int n = 0;
  for (const auto& c : cases) {
    std::string base = D() + "/rt" + std::to_string(n++);
    auto req = Req(c.manifest);
    req.chunk_size = 65536;
    req.issuer_paths = {D() + "/issuer.pub"};
    auto r = PackFile(c.input, base + ".capsule.wasm", req);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().ToString();
    EXPECT_EQ(VerifyCode(base + ".capsule.wasm"), Code::Ok) << c.input;
    // Engines and the independent verifier (tests/node, written from DESIGN §7) accept it.
    Shell("wasm-validate " + base + ".capsule.wasm");
    Shell("node " + std::string(CAPSULE_SOURCE_DIR) + "/tests/node/verify_capsule.mjs --key-file " +
          D() + "/creator.pub " + base + ".capsule.wasm > /dev/null");
    for (const char* who : {"creator", "issuer"}) {
      UnpackRequest u{base + ".capsule.wasm", D() + "/" + who + ".key", base + "." + who + ".out",
                      true};
      auto ur = Unpack(u, nullptr);
      ASSERT_TRUE(ur.ok()) << ur.status().ToString();
      EXPECT_EQ(ReadAll(u.output), ReadAll(c.input)) << c.input << " via " << who;
    }
    UnpackRequest s{base + ".capsule.wasm", D() + "/stranger.key", base + ".stranger.out", true};
    EXPECT_EQ(Unpack(s, nullptr).status().code(), Code::NotAnIssuer);
    EXPECT_FALSE(FileExists(s.output));
  }
}

// Locates the sections of a capsule file.
CapsuleLayout LayoutOf(const std::string& path) {
  auto f = InputFile::Open(path);
  auto s = ScanSections(*f);
  auto l = CapsuleLayout::From(*s, path);
  EXPECT_TRUE(l.ok());
  return *l;
}

TEST_F(CapsuleTest, EveryFlippedSignedByteFailsVerify) {
  std::string cap = D() + "/flip.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.wav", cap, Req("m-preview.yaml")).ok());
  ASSERT_EQ(VerifyCode(cap), Code::Ok);
  const std::string orig = ReadAll(cap);
  CapsuleLayout L = LayoutOf(cap);
  std::string mut = D() + "/flip-mut.capsule.wasm";

  auto flip_expect = [&](uint64_t off, const char* what, bool content) {
    std::string m = orig;
    m[off] = static_cast<char>(m[off] ^ 0x01);
    WriteAll(mut, m);
    Code c = VerifyCode(mut);
    if (content) {
      EXPECT_EQ(ExitCode(c), 5) << what << " byte " << off << " gave " << ReasonCode(c);
    } else {
      EXPECT_NE(c, Code::Ok) << what << " header byte " << off;
    }
  };
  // Part 1 (code) and part 2 (manifest, index, preview), every byte; section headers too.
  std::vector<SectionRef> signed_sections = L.code;
  for (const auto& s : {L.delimiters[0], L.manifest, L.index, L.delimiters[1]})
    signed_sections.push_back(s);
  if (L.preview) signed_sections.push_back(*L.preview);
  // With ASan the loops are sampled (DESIGN §8); otherwise exhaustive.
  const uint64_t step = std::getenv("CAPSULE_SAMPLED_FLIPS") ? 7 : 1;
  size_t flips = 0;
  for (const auto& s : signed_sections) {
    for (uint64_t off = s.offset; off < s.end(); off += (off < s.content_offset ? 1 : step)) {
      flip_expect(off, s.is_custom() ? s.name.c_str() : "code", off >= s.content_offset);
      ++flips;
    }
  }
  // Payload: sampled bytes (every 61st), all must fail with an integrity code.
  for (uint64_t off = L.payload.content_offset; off < L.payload.end(); off += 61) {
    flip_expect(off, "payload", true);
    ++flips;
  }
  flip_expect(L.delimiters[2].content_offset + 3, "delimiter 3", true);
  // Signature section: the hashes and the signature bytes are covered; key ids are hints only.
  auto sig = SignatureData::Parse(
      *InputFile::Open(cap)->ReadRange(L.signature.content_offset, L.signature.content_size()),
      cap);
  ASSERT_TRUE(sig.ok());
  std::string sig_bytes = orig.substr(L.signature.content_offset, L.signature.content_size());
  for (const auto& h : sig->sets[0].hashes) {
    auto pos = sig_bytes.find(std::string(reinterpret_cast<const char*>(h.data()), 32));
    ASSERT_NE(pos, std::string::npos);
    for (size_t i = 0; i < 32; i += step)
      flip_expect(L.signature.content_offset + pos + i, "signed hash", true);
  }
  const auto& s0 = sig->sets[0].signatures[0].sig;
  auto spos = sig_bytes.find(std::string(reinterpret_cast<const char*>(s0.data()), 64));
  ASSERT_NE(spos, std::string::npos);
  for (size_t i = 0; i < 64; i += step)
    flip_expect(L.signature.content_offset + spos + i, "signature", true);
  // Key ids are written empty (not covered by signatures; stock wasmsign2 skips mismatches).
  EXPECT_TRUE(sig->sets[0].signatures[0].key_id.empty());
  EXPECT_GT(flips, 1000u);
}

TEST_F(CapsuleTest, TruncationAndTrailingData) {
  std::string cap = D() + "/trunc.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.wav", cap).ok());
  const std::string orig = ReadAll(cap);
  std::string mut = D() + "/trunc-mut.capsule.wasm";
  for (size_t len : {size_t{0}, size_t{4}, size_t{8}, size_t{20}, orig.size() / 3, orig.size() / 2,
                     orig.size() - 30, orig.size() - 1}) {
    WriteAll(mut, orig.substr(0, len));
    Code c = VerifyCode(mut);
    EXPECT_EQ(ExitCode(c), 4) << "truncated to " << len << ": " << ReasonCode(c);
  }
  // Anything after the last delimiter, duplicate or unknown sections.
  Bytes extra = CustomSection("extra", AsBytes("x"));
  WriteAll(mut, orig + std::string(extra.begin(), extra.end()));
  EXPECT_EQ(VerifyCode(mut), Code::TrailingData);
  CapsuleLayout L = LayoutOf(cap);
  std::string dup_manifest = orig.substr(L.manifest.offset, L.manifest.end() - L.manifest.offset);
  std::string m = orig;
  m.insert(L.manifest.end(), dup_manifest);
  WriteAll(mut, m);
  EXPECT_EQ(VerifyCode(mut), Code::BadLayout);
  m = orig;
  Bytes unknown = CustomSection("capsule.unknown", AsBytes("zz"));
  m.insert(L.index.end(), std::string(unknown.begin(), unknown.end()));
  WriteAll(mut, m);
  EXPECT_EQ(VerifyCode(mut), Code::BadLayout);
  // Unsigned: no signature section at all.
  m = orig.substr(0, 8) + orig.substr(L.signature.end());
  WriteAll(mut, m);
  EXPECT_EQ(VerifyCode(mut), Code::NoSignatureSection);
}

// Rewrites `file` with a fresh signature section by `key` over its current parts (what an
// attacker who had the creator's key could do), to show the AEAD binding on its own.
void Resign(const std::string& file, const std::string& key) {
  auto f = InputFile::Open(file);
  auto secs = ScanSections(*f);
  ASSERT_TRUE(secs.ok());
  std::string all = ReadAll(file);
  std::vector<Hash32> hashes;
  Sha256 h;
  for (size_t i = 1; i < secs->size(); ++i) {
    const auto& s = (*secs)[i];
    h.Update(AsBytes(std::string_view(all).substr(s.offset, s.end() - s.offset)));
    if (s.is_custom() && s.name == kDelimiterSection) hashes.push_back(h.Peek());
  }
  auto id = LoadSecretKey(key, DefaultPassphraseSource());
  ASSERT_TRUE(id.ok());
  SignatureData d;
  ASSERT_TRUE(AddSignature(d, hashes, id->ed25519_sk.data(), id->pub.ed25519.data()).ok());
  Bytes sec = CustomSection(kSignatureSection, d.Serialize());
  WriteAll(file,
           all.substr(0, 8) + std::string(sec.begin(), sec.end()) + all.substr((*secs)[0].end()));
}

// A manifest holding a null is manifest-invalid (manifest.md §7), even in canonical form and
// signed by the creator; the same re-signing with a string there verifies.
TEST_F(CapsuleTest, ManifestWithANullIsInvalid) {
  std::string cap = D() + "/null.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.wav", cap, Req()).ok());
  const std::string orig = ReadAll(cap);
  const CapsuleLayout L = LayoutOf(cap);
  auto with_title = [&](const nlohmann::json& title) {
    nlohmann::json m =
        nlohmann::json::parse(orig.substr(L.manifest.content_offset, L.manifest.content_size()));
    m["title"] = title;
    auto canon = CanonicalJson(m);
    EXPECT_TRUE(canon.ok());
    Bytes sec = CustomSection("capsule.manifest", AsBytes(*canon));
    std::string mut = orig;
    mut.replace(L.manifest.offset, L.manifest.end() - L.manifest.offset,
                std::string(sec.begin(), sec.end()));
    const std::string path = D() + "/null-mut.capsule.wasm";
    WriteAll(path, mut);
    Resign(path, D() + "/creator.key");
    VerifyRequest v;  // trusted: a manifest that does not parse is reported as such
    v.path = path;
    v.trust_paths = {D() + "/creator.pub"};
    return Verify(v).status.code();
  };
  EXPECT_EQ(with_title("another title"), Code::Ok);
  EXPECT_EQ(with_title(nullptr), Code::ManifestInvalid);
}

TEST_F(CapsuleTest, ReorderedSplicedAndForeignChunks) {
  std::string cap = D() + "/order.capsule.wasm";
  auto req = Req();
  req.compress = "never";  // equal-length chunks, so they can be swapped in place
  ASSERT_TRUE(PackFile(D() + "/tone.wav", cap, req).ok());
  const std::string orig = ReadAll(cap);
  CapsuleLayout L = LayoutOf(cap);
  const uint64_t clen = 4096 + 16, p0 = L.payload.content_offset;
  std::string mut = D() + "/order-mut.capsule.wasm";

  // Swap chunks 0 and 1 in the payload: caught by the signed index.
  std::string m = orig;
  std::string c0 = m.substr(p0, clen), c1 = m.substr(p0 + clen, clen);
  m.replace(p0, clen, c1);
  m.replace(p0 + clen, clen, c0);
  WriteAll(mut, m);
  EXPECT_EQ(VerifyCode(mut), Code::ChunkHashMismatch);

  // Same swap with the index entries swapped too and the capsule re-signed by the creator:
  // signatures pass, but the chunks' associated data (index) makes decryption fail.
  uint64_t i0 = L.index.content_offset + kIndexHeaderSize;
  std::string e0 = m.substr(i0, kIndexEntrySize),
              e1 = m.substr(i0 + kIndexEntrySize, kIndexEntrySize);
  m.replace(i0, kIndexEntrySize, e1);
  m.replace(i0 + kIndexEntrySize, kIndexEntrySize, e0);
  WriteAll(mut, m);
  Resign(mut, D() + "/creator.key");
  EXPECT_EQ(VerifyCode(mut), Code::Ok);
  UnpackRequest u{mut, D() + "/creator.key", D() + "/order.out", true};
  EXPECT_EQ(Unpack(u, nullptr).status().code(), Code::ChunkAuthFailed);
  EXPECT_FALSE(FileExists(u.output));

  // A payload from another capsule of the same input and sizes (another key and id).
  std::string other = D() + "/order2.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.wav", other, req).ok());
  std::string o = ReadAll(other);
  CapsuleLayout L2 = LayoutOf(other);
  ASSERT_EQ(L2.payload.content_size(), L.payload.content_size());
  m = orig;
  m.replace(p0, L.payload.content_size(),
            o.substr(L2.payload.content_offset, L2.payload.content_size()));
  WriteAll(mut, m);
  EXPECT_EQ(VerifyCode(mut), Code::ChunkHashMismatch);
  // ... and with its index too, re-signed: the key commitment / AEAD still refuse it.
  m.replace(L.index.content_offset, L.index.content_size(),
            o.substr(L2.index.content_offset, L2.index.content_size()));
  WriteAll(mut, m);
  Resign(mut, D() + "/creator.key");
  EXPECT_EQ(VerifyCode(mut), Code::Ok);
  EXPECT_EQ(Unpack(u, nullptr).status().code(), Code::ChunkAuthFailed);

  // Truncated payload (last chunk dropped, index and manifest unchanged) is caught.
  m = orig;
  m.erase(L.payload.end() - 20, 20);
  WriteAll(mut, m);
  EXPECT_NE(VerifyCode(mut), Code::Ok);
}

TEST_F(CapsuleTest, TrustCreatorAndCosigners) {
  std::string cap = D() + "/trust.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.mp3", cap).ok());
  VerifyRequest v;
  v.path = cap;
  v.trust_paths = {D() + "/creator.pub"};
  auto r = Verify(v);
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.integrity);
  ASSERT_TRUE(r.trusted.has_value());
  EXPECT_TRUE(*r.trusted);
  v.trust_paths = {D() + "/stranger.pub"};
  r = Verify(v);
  EXPECT_EQ(r.status.code(), Code::UntrustedSigner);
  EXPECT_TRUE(r.integrity);  // integrity and trust are separate verdicts
  EXPECT_FALSE(*r.trusted);

  // Co-sign: the original signature stays valid; both signers are reported.
  SignRequest s;
  s.path = cap;
  s.key_path = D() + "/cosigner.key";
  s.output = D() + "/trust-cosigned.capsule.wasm";
  auto sr = Sign(s);
  ASSERT_TRUE(sr.ok()) << sr.status().ToString();
  v.path = s.output;
  v.trust_paths = {};
  r = Verify(v);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.signers.size(), 1u);  // only the creator is identified without --trust
  EXPECT_EQ(r.signatures, 2u);
  v.trust_paths = {D() + "/creator.pub", D() + "/cosigner.pub"};
  r = Verify(v);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.signers.size(), 2u);
  s.path = s.output;
  s.output = D() + "/trust-twice.capsule.wasm";
  EXPECT_EQ(Sign(s).status().code(), Code::AlreadySigned);
  EXPECT_FALSE(FileExists(s.output));
  // Only the file's bytes before the signature section changed.
  std::string a = ReadAll(cap), b = ReadAll(D() + "/trust-cosigned.capsule.wasm");
  CapsuleLayout La = LayoutOf(cap), Lb = LayoutOf(D() + "/trust-cosigned.capsule.wasm");
  EXPECT_EQ(a.substr(La.signature.end()), b.substr(Lb.signature.end()));

  // Signed, but only by someone else than the manifest's creator.
  std::string forged = D() + "/forged.capsule.wasm";
  WriteAll(forged, a);
  Resign(forged, D() + "/stranger.key");
  EXPECT_EQ(VerifyCode(forged), Code::NoValidSignature);
  VerifyRequest fv;
  fv.path = forged;
  fv.trust_paths = {D() + "/stranger.pub"};
  EXPECT_EQ(Verify(fv).status.code(), Code::CreatorNotSigner);
}

TEST_F(CapsuleTest, ReproducibleAndDistinctKeys) {
  std::string seed = D() + "/seed.bin";
  WriteAll(seed, std::string(48, 's'));
  auto req = Req();
  req.seed_path = seed;
  std::string a = D() + "/repro-a.capsule.wasm", b = D() + "/repro-b.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/tone.wav", a, req).ok());
  ASSERT_TRUE(PackFile(D() + "/tone.wav", b, req).ok());
  EXPECT_EQ(ReadAll(a), ReadAll(b));  // same inputs, seed and position: byte-identical
  // Same input at another position in the run: different capsule id and content key.
  auto p = Packer::Create(req);
  ASSERT_TRUE(p.ok());
  auto r0 = (*p)->Pack(D() + "/tone.wav", D() + "/jobs0.capsule.wasm", 0, nullptr);
  auto r1 = (*p)->Pack(D() + "/tone.wav", D() + "/jobs1.capsule.wasm", 1, nullptr);
  ASSERT_TRUE(r0.ok() && r1.ok());
  EXPECT_NE(r0->capsule_id, r1->capsule_id);
  VerifyOptions vo;
  auto c0 = OpenCapsule(r0->output, vo), c1 = OpenCapsule(r1->output, vo);
  ASSERT_TRUE(c0.ok() && c1.ok());
  EXPECT_NE(c0->info.key_commitment, c1->info.key_commitment);
  // Without a seed every capsule is random.
  auto plain = Req();
  ASSERT_TRUE(PackFile(D() + "/tone.wav", a, plain).ok());
  ASSERT_TRUE(PackFile(D() + "/tone.wav", b, plain).ok());
  EXPECT_NE(ReadAll(a), ReadAll(b));
  // Another seed, another capsule.
  WriteAll(seed, std::string(48, 't'));
  ASSERT_TRUE(PackFile(D() + "/tone.wav", b, req).ok());
  EXPECT_NE(ReadAll(D() + "/jobs0.capsule.wasm"), ReadAll(b));
  WriteAll(seed, "short");
  EXPECT_EQ(Packer::Create(req).status().code(), Code::BadSeedFile);
}

TEST_F(CapsuleTest, FreeCapsulePublishesKey) {
  std::string cap = D() + "/free.capsule.wasm";
  ASSERT_TRUE(PackFile(D() + "/gpl.txt", cap, Req("m-free.yaml")).ok());
  VerifyOptions vo;
  auto c = OpenCapsule(cap, vo);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->info.content_key.has_value());
  ASSERT_EQ(c->info.issuers.size(), 1u);  // the creator is always an issuer
  EXPECT_EQ(c->info.issuers[0].ed25519, c->info.creator_ed25519);
  UnpackRequest u{cap, D() + "/stranger.key", D() + "/free.out", true};
  ASSERT_TRUE(Unpack(u, nullptr).ok());
  EXPECT_EQ(ReadAll(u.output), ReadAll(D() + "/gpl.txt"));
}

TEST_F(CapsuleTest, NoPartialOutputAndNoOverwrite) {
  std::string out = D() + "/never.capsule.wasm";
  WriteAll(D() + "/bad.yaml", "title: x\n");
  auto req = Req("bad.yaml");
  EXPECT_FALSE(Packer::Create(req).ok());
  EXPECT_FALSE(FileExists(out));
  // Media that contradicts its extension: refused, nothing written.
  Shell("cp " + D() + "/tone.mp3 " + D() + "/fake.wav");
  auto r = PackFile(D() + "/fake.wav", out);
  EXPECT_EQ(r.status().code(), Code::MediaMismatch);
  EXPECT_FALSE(FileExists(out));
  // An existing output is not replaced without overwrite, and its bytes are untouched.
  WriteAll(out, "precious");
  auto keep = Req();
  keep.overwrite = false;
  EXPECT_EQ(PackFile(D() + "/tone.wav", out, keep).status().code(), Code::OutputExists);
  EXPECT_EQ(ReadAll(out), "precious");
  // No temporary files are left behind in the directory.
  EXPECT_EQ(std::system(("ls -a " + D() + " | grep -q '\\.tmp-'").c_str()) != 0, true);
}

TEST_F(CapsuleTest, PayloadSizeIsShortestLeb128AtWidthBoundary) {
  // 2.25 MiB of highly compressible text: stored uncompressed it needs a 4-byte section size;
  // compressed it would need 3. The writer keeps the 4-byte width by declining compression for
  // enough chunks, so the size is still in shortest form (what wasmsign2 hashes).
  std::string text;
  const size_t size = (size_t{1} << 21) + 4 * 65536 + 100;  // room to compress a few chunks
  while (text.size() < size) text += "all work and no play makes a dull capsule\n";
  text.resize(size);
  WriteAll(D() + "/boundary.txt", text);
  auto req = Req("m.yaml");
  req.chunk_size = 65536;
  std::string cap = D() + "/boundary.capsule.wasm";
  auto r = PackFile(D() + "/boundary.txt", cap, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->compressed_chunks, 0u);
  EXPECT_LT(r->compressed_chunks, r->chunk_count);
  EXPECT_EQ(VerifyCode(cap), Code::Ok);  // ScanSections rejects non-minimal sizes
  CapsuleLayout L = LayoutOf(cap);
  EXPECT_EQ(L.payload.payload_offset - L.payload.offset, 1u + 4u);
  EXPECT_GE(L.payload.payload_size, 1u << 21);
  UnpackRequest u{cap, D() + "/creator.key", D() + "/boundary.out", true};
  ASSERT_TRUE(Unpack(u, nullptr).ok());
  EXPECT_EQ(ReadAll(u.output), text);
  // A padded (non-shortest) size anywhere is refused.
  std::string m = ReadAll(cap);
  CapsuleLayout L2 = LayoutOf(cap);
  const SectionRef& man = L2.manifest;
  Bytes padded;
  PutLeb128Padded(padded, man.payload_size, 5);
  m.replace(man.offset + 1, man.payload_offset - man.offset - 1,
            std::string(padded.begin(), padded.end()));
  WriteAll(D() + "/padded.capsule.wasm", m);
  EXPECT_EQ(VerifyCode(D() + "/padded.capsule.wasm"), Code::BadLeb128);
}

}  // namespace
