// End-to-end tests of capsule-run's library (runtime-min/runtime.h) on real capsules: entitled
// holders get the exact content; every refusal of issue 3 has its own reason code and leaves no
// output; the clock rule, play counting and rentals from first play; free and free-with-ads;
// and capsule code replaced by hostile modules (re-signed by the trusted creator) stopped by the
// sandbox.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/license.h"
#include "runtime-min/ledger.h"
#include "runtime-min/runtime.h"
#include "test_util.h"

using namespace capsule;           // NOLINT
using namespace capsule::format;   // NOLINT
using namespace capsule::testing;  // NOLINT

namespace {

const char* kHead = R"(title: Runtime test
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
)";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class OpenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTmp("open"));
    for (const char* n : {"creator", "holder", "holder2", "stranger"}) {
      KeygenRequest k{D() + "/" + n + ".key", D() + "/" + n + ".pub", false, false};
      ASSERT_TRUE(Keygen(k).ok());
    }
    WriteAll(D() + "/paid.yaml", std::string(kHead) + R"(models:
  - type: buy
    price: "5"
    currency: ELA
  - type: rental
    price: "1"
    currency: ELA
    duration: 48h
  - type: pay_per_view
    price: "0.5"
    currency: ELA
    plays: 2
preview: 1s
)");
    WriteAll(D() + "/first.yaml", std::string(kHead) + R"(models:
  - type: rental
    price: "1"
    currency: ELA
    duration: 48h
    from_first_play: true
)");
    WriteAll(D() + "/free.yaml", std::string(kHead) + "models:\n  - type: free\n");
    Shell("sox -n -r 8000 -c 1 -b 16 " + D() + "/tone.wav synth 3 sine 440 vol 0.5");
    Shell("cp /usr/share/common-licenses/GPL-3 " + D() + "/gpl.txt");
    Shell("mkdir -p " + D() + "/empty-trust-dir");
  }
  static const std::string& D() { return *dir_; }
  static std::string* dir_;

  static std::string Pack(const std::string& input, const std::string& manifest,
                          const std::string& out) {
    PackRequest r;
    r.manifest_path = D() + "/" + manifest;
    r.key_path = D() + "/creator.key";
    r.overwrite = true;
    auto p = Packer::Create(r);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    auto res = (*p)->Pack(input, D() + "/" + out, 0, nullptr);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return D() + "/" + out;
  }
  static std::string Issue(const std::string& capsule, const std::string& holder,
                           const std::string& model, int64_t now, const std::string& out,
                           std::optional<uint64_t> plays = std::nullopt) {
    VerifyOptions vo;
    auto c = OpenCapsule(capsule, vo);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    auto issuer = LoadSecretKey(D() + "/creator.key", DefaultPassphraseSource());
    auto h = LoadPublicKey(D() + "/" + holder + ".pub");
    LicenseRequest lr;
    lr.model_type = model;
    lr.not_before = now;
    lr.plays = plays;
    auto text = IssueLicense(*c, *issuer, *h, lr, now);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    WriteAll(D() + "/" + out, text.ok() ? *text : "");
    return D() + "/" + out;
  }
  static void Grant(const std::string& capsule, const std::string& holder,
                    const std::string& ledger) {
    VerifyOptions vo;
    vo.check_payload = false;
    auto c = OpenCapsule(capsule, vo);
    auto h = LoadPublicKey(D() + "/" + holder + ".pub");
    runtime::LedgerChange ch;
    ch.path = D() + "/" + ledger;
    ch.capsule = c->info.id;
    ch.holder = h->address;
    ch.now = Now();
    ASSERT_TRUE(runtime::LedgerGrant(ch).ok());
  }
  static runtime::OpenRequest Req(const std::string& capsule, const std::string& out) {
    runtime::OpenRequest r;
    r.capsule_path = capsule;
    r.trust_paths = {D() + "/creator.pub"};
    r.trust_dir = D() + "/empty-trust-dir";
    r.state_dir = D() + "/state";
    r.output = D() + "/" + out;
    r.overwrite = true;
    r.sandbox_binary = CAPSULE_SANDBOX_BINARY;
    return r;
  }
  static runtime::OpenRequest Holder(const std::string& capsule, const std::string& lic,
                                     const std::string& holder, const std::string& ledger,
                                     const std::string& out) {
    auto r = Req(capsule, out);
    r.license_path = lic;
    r.identity_path = D() + "/" + holder + ".key";
    r.ledger_spec = "file:" + D() + "/" + ledger;
    return r;
  }
};
std::string* OpenTest::dir_ = nullptr;

TEST_F(OpenTest, EntitledHolderGetsExactContent) {
  struct Case {
    std::string input, name;
  } cases[] = {{"/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3", "mp3"},
               {"/usr/share/asterisk/moh/macroform-robot_dity.wav", "wav"},
               {D() + "/gpl.txt", "txt"}};
  for (const auto& c : cases) {
    std::string manifest = c.name == "txt" ? "first.yaml" : "paid.yaml";
    std::string cap = Pack(c.input, manifest, c.name + ".capsule.wasm");
    std::string model = c.name == "txt" ? "rental" : "buy";
    std::string lic = Issue(cap, "holder", model, Now(), c.name + ".lic");
    Grant(cap, "holder", "ledger.json");
    auto r = runtime::Open(Holder(cap, lic, "holder", "ledger.json", c.name + ".out"));
    ASSERT_TRUE(r.status.ok()) << c.name << ": " << r.status.ToString();
    EXPECT_EQ(r.mode, "full");
    EXPECT_EQ(ReadAll(D() + "/" + c.name + ".out"), ReadAll(c.input)) << c.name;
  }
}

TEST_F(OpenTest, PreviewWithoutLicence) {
  std::string cap = Pack(D() + "/tone.wav", "paid.yaml", "prev.capsule.wasm");
  auto r = runtime::Open(Req(cap, "prev.out"));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.preview);
  VerifyOptions vo;
  auto c = OpenCapsule(cap, vo);
  EXPECT_EQ(ReadAll(D() + "/prev.out"), c->preview);
  EXPECT_LT(c->preview.size(), ReadAll(D() + "/tone.wav").size());
}

TEST_F(OpenTest, RefusalsHaveTheirOwnCodesAndLeaveNoOutput) {
  std::string cap = Pack(D() + "/tone.wav", "paid.yaml", "ref.capsule.wasm");
  std::string other = Pack(D() + "/tone.wav", "paid.yaml", "ref2.capsule.wasm");
  std::string lic = Issue(cap, "holder", "buy", Now(), "ref.lic");
  Grant(cap, "holder", "ref-ledger.json");
  auto expect = [&](runtime::OpenRequest r, Code code, const char* what) {
    r.output = D() + "/refused.out";
    auto rep = runtime::Open(r);
    EXPECT_EQ(rep.status.code(), code) << what << ": " << rep.status.ToString();
    EXPECT_FALSE(FileExists(r.output)) << what << " left output";
  };
  auto base = Holder(cap, lic, "holder", "ref-ledger.json", "ok.out");
  ASSERT_TRUE(runtime::Open(base).status.ok());

  auto r = base;
  r.trust_paths = {D() + "/stranger.pub"};
  expect(r, Code::UntrustedSigner, "untrusted creator");

  std::string tampered = D() + "/tampered.capsule.wasm";
  std::string bytes = ReadAll(cap);
  bytes[bytes.size() - 100] ^= 1;  // a payload byte
  WriteAll(tampered, bytes);
  r = base;
  r.capsule_path = tampered;
  expect(r, Code::ChunkHashMismatch, "tampered payload");

  std::string forged = D() + "/forged.capsule.wasm";
  WriteAll(forged, ReadAll(cap));
  Resign(forged, D() + "/stranger.key");
  r = base;
  r.capsule_path = forged;
  r.trust_paths = {D() + "/creator.pub", D() + "/stranger.pub"};
  expect(r, Code::CreatorNotSigner, "signed by someone else");

  std::string unsigned_cap = D() + "/unsigned.capsule.wasm";
  {
    auto f = InputFile::Open(cap);
    auto s = ScanSections(*f);
    WriteAll(unsigned_cap, bytes.substr(0, 8) + ReadAll(cap).substr((*s)[0].end()));
  }
  r = base;
  r.capsule_path = unsigned_cap;
  expect(r, Code::NoSignatureSection, "unsigned");

  r = base;
  r.license_path = Issue(other, "holder", "buy", Now(), "other.lic");
  expect(r, Code::LicenseWrongCapsule, "licence for another capsule");

  r = Holder(cap, lic, "holder2", "ref-ledger.json", "x");
  expect(r, Code::LicenseWrongHolder, "licence for another holder");

  // A licence signed by a key the manifest does not list as an issuer.
  {
    auto doc = nlohmann::json::parse(ReadAll(lic));
    auto stranger = LoadSecretKey(D() + "/stranger.key", DefaultPassphraseSource());
    doc["license"]["issuer"] = HexEncode(stranger->pub.ed25519);
    std::string body = *CanonicalJson(doc["license"]);
    Bytes msg(kLicenseDomain.begin(), kLicenseDomain.end());
    msg.push_back(0);
    msg.insert(msg.end(), body.begin(), body.end());
    uint8_t sig[64];
    Ed25519Sign(stranger->ed25519_sk.data(), msg, sig);
    doc["signature"]["key"] = HexEncode(stranger->pub.ed25519);
    doc["signature"]["sig"] = Base64Encode(ByteView(sig, 64));
    WriteAll(D() + "/unlisted.lic", doc.dump(2));
    r = base;
    r.license_path = D() + "/unlisted.lic";
    expect(r, Code::LicenseIssuerNotListed, "unlisted issuer");
    // The same licence with one body byte changed after signing.
    doc["license"]["not_before"] = doc["license"]["not_before"].get<int64_t>() - 1;
    WriteAll(D() + "/tampered.lic", doc.dump(2));
    r.license_path = D() + "/tampered.lic";
    expect(r, Code::LicenseBadSignature, "tampered licence");
  }
  // A model the manifest does not offer (re-signed by the real issuer).
  {
    auto doc = nlohmann::json::parse(ReadAll(lic));
    auto issuer = LoadSecretKey(D() + "/creator.key", DefaultPassphraseSource());
    doc["license"]["model"] = {{"type", "subscription"}, {"period_s", 86400},
                               {"price", doc["license"]["model"]["price"]}};
    std::string body = *CanonicalJson(doc["license"]);
    Bytes msg(kLicenseDomain.begin(), kLicenseDomain.end());
    msg.push_back(0);
    msg.insert(msg.end(), body.begin(), body.end());
    uint8_t sig[64];
    Ed25519Sign(issuer->ed25519_sk.data(), msg, sig);
    doc["signature"]["sig"] = Base64Encode(ByteView(sig, 64));
    WriteAll(D() + "/model.lic", doc.dump(2));
    r = base;
    r.license_path = D() + "/model.lic";
    expect(r, Code::ModelNotOffered, "model not offered");
  }
  r = base;
  r.ledger_spec = "file:" + D() + "/empty-ledger.json";
  expect(r, Code::NotHolder, "no token in the ledger");

  // Token transferred away: the old holder is refused, the new one (with a licence) opens.
  {
    VerifyOptions vo;
    vo.check_payload = false;
    auto c = OpenCapsule(cap, vo);
    runtime::LedgerChange ch;
    ch.path = D() + "/ref-ledger.json";
    ch.capsule = c->info.id;
    ch.holder = LoadPublicKey(D() + "/holder.pub")->address;
    ch.to = LoadPublicKey(D() + "/holder2.pub")->address;
    ch.now = Now();
    ASSERT_TRUE(runtime::LedgerTransfer(ch).ok());
    expect(base, Code::NotHolder, "token transferred away");
    std::string lic2 = Issue(cap, "holder2", "buy", Now(), "ref2.lic");
    auto r2 = Holder(cap, lic2, "holder2", "ref-ledger.json", "new-holder.out");
    auto rep = runtime::Open(r2);
    EXPECT_TRUE(rep.status.ok()) << rep.status.ToString();
  }
}

TEST_F(OpenTest, RentalExpiresAndASetBackClockDoesNotReviveIt) {
  std::string cap = Pack(D() + "/tone.wav", "paid.yaml", "rent.capsule.wasm");
  const int64_t t0 = Now();
  std::string lic = Issue(cap, "holder", "rental", t0, "rent.lic");
  Grant(cap, "holder", "rent-ledger.json");
  auto r = Holder(cap, lic, "holder", "rent-ledger.json", "rent.out");
  r.state_dir = D() + "/rent-state";
  r.clock = [t0] { return t0 + 3600; };
  EXPECT_TRUE(runtime::Open(r).status.ok());
  r.clock = [t0] { return t0 + 49 * 3600; };
  EXPECT_EQ(runtime::Open(r).status.code(), Code::LicenseExpired);
  r.clock = [t0] { return t0 + 2 * 3600; };  // the user sets the clock back
  EXPECT_EQ(runtime::Open(r).status.code(), Code::LicenseExpired);
}

TEST_F(OpenTest, RentalFromFirstPlay) {
  std::string cap = Pack(D() + "/gpl.txt", "first.yaml", "first.capsule.wasm");
  const int64_t t0 = Now();
  std::string lic = Issue(cap, "holder", "rental", t0, "first.lic");
  Grant(cap, "holder", "first-ledger.json");
  auto r = Holder(cap, lic, "holder", "first-ledger.json", "first.out");
  r.state_dir = D() + "/first-state";
  // Not played for ten days after the licence: the 48 h start at the first play.
  r.clock = [t0] { return t0 + 10 * 86400; };
  EXPECT_TRUE(runtime::Open(r).status.ok());
  r.clock = [t0] { return t0 + 10 * 86400 + 47 * 3600; };
  EXPECT_TRUE(runtime::Open(r).status.ok());
  r.clock = [t0] { return t0 + 10 * 86400 + 49 * 3600; };
  EXPECT_EQ(runtime::Open(r).status.code(), Code::LicenseExpired);
}

TEST_F(OpenTest, PayPerViewCountsEachOpen) {
  std::string cap = Pack(D() + "/tone.wav", "paid.yaml", "ppv.capsule.wasm");
  std::string lic = Issue(cap, "holder", "pay_per_view", Now(), "ppv.lic");
  Grant(cap, "holder", "ppv-ledger.json");
  auto r = Holder(cap, lic, "holder", "ppv-ledger.json", "ppv.out");
  r.state_dir = D() + "/ppv-state";
  auto a = runtime::Open(r);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.plays_used.value_or(0), 1u);
  auto b = runtime::Open(r);
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.plays_used.value_or(0), 2u);
  EXPECT_EQ(runtime::Open(r).status.code(), Code::PlaysExhausted);
}

TEST_F(OpenTest, FreeAndFreeWithAds) {
  // Free: no licence, no ledger; K is published in the manifest.
  std::string free_cap = Pack(D() + "/gpl.txt", "free.yaml", "free.capsule.wasm");
  auto r = runtime::Open(Req(free_cap, "free.out"));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(ReadAll(D() + "/free.out"), ReadAll(D() + "/gpl.txt"));

  // Free with ads: the ad capsule (found by id in the ad directory, verified) plays first.
  Shell("mkdir -p " + D() + "/ads");
  std::string ad = Pack(D() + "/tone.wav", "free.yaml", "ads/ad.capsule.wasm");
  VerifyOptions vo;
  auto ad_c = OpenCapsule(ad, vo);
  ASSERT_TRUE(ad_c.ok());
  WriteAll(D() + "/ads.yaml", std::string(kHead) + "models:\n  - type: free_with_ads\n    ad_capsule: \"" +
                                  HexEncode(ad_c->info.id) + "\"\n");
  std::string main = Pack(D() + "/gpl.txt", "ads.yaml", "with-ads.capsule.wasm");
  auto req = Req(main, "with-ads.out");
  req.ad_dir = D() + "/ads";
  auto rep = runtime::Open(req);
  ASSERT_TRUE(rep.status.ok()) << rep.status.ToString();
  EXPECT_TRUE(rep.ad_played);
  EXPECT_EQ(ReadAll(D() + "/with-ads.out"), ReadAll(D() + "/tone.wav") + ReadAll(D() + "/gpl.txt"));
  // Without the ad, nothing plays.
  req.ad_dir = D() + "/no-ads";
  Shell("mkdir -p " + D() + "/no-ads");
  req.output = D() + "/no-ad.out";
  EXPECT_EQ(runtime::Open(req).status.code(), Code::AdMissing);
  EXPECT_FALSE(FileExists(req.output));
}

TEST_F(OpenTest, HostileCodeIsStoppedAndNothingIsWritten) {
  struct Case {
    const char* name;
    const char* wat;
    Code code;
  } cases[] = {
      {"loop", R"((module (memory (export "memory") 1 1)
         (func (export "capsule_run") (result i32) (loop (br 0)) (i32.const 0))))",
       Code::SandboxInstructionLimit},
      {"nomax", R"((module (memory (export "memory") 1)
         (func (export "capsule_run") (result i32) (i32.const 0))))",
       Code::ModuleMemoryUnbounded},
      {"wasi", R"((module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
         (memory (export "memory") 1 1) (func (export "capsule_run") (result i32) (i32.const 0))))",
       Code::ModuleForbiddenImport},
      {"flood", R"((module (import "capsule_v1" "output_write" (func $w (param i32 i32) (result i32)))
         (memory (export "memory") 1 1)
         (func (export "capsule_run") (result i32)
           (loop (drop (call $w (i32.const 0) (i32.const 65536))) (br 0)) (i32.const 0))))",
       Code::SandboxOutputLimit},
      {"trap", R"((module (memory (export "memory") 1 1)
         (func (export "capsule_run") (result i32) (unreachable))))",
       Code::SandboxTrap},
  };
  // And the sandbox corpus (tests/sandbox/*.wat), through the whole runtime.
  struct FileCase {
    const char* file;
    Code code;
  } files[] = {{"memory_huge", Code::ModuleMemoryUnbounded},
               {"memory_no_max", Code::ModuleMemoryUnbounded},
               {"table_huge", Code::ModuleTableTooLarge},
               {"recursion_bomb", Code::SandboxTrap},
               {"forbidden_import", Code::ModuleForbiddenImport},
               {"wrong_signature", Code::ModuleForbiddenImport},
               {"output_flood", Code::SandboxOutputLimit},
               {"infinite_loop", Code::SandboxInstructionLimit},
               {"missing_run", Code::ModuleBadExports},
               {"feature_threads", Code::ModuleFeatureRefused}};
  for (const auto& f : files) {
    std::string wasm = D() + "/corpus-" + f.file + ".wasm";
    Shell(std::string("wat2wasm --enable-all ") + CAPSULE_SOURCE_DIR + "/tests/sandbox/" + f.file +
          ".wat -o " + wasm);
    std::string cap = Pack(D() + "/gpl.txt", "free.yaml", std::string("corpus-") + f.file + ".capsule.wasm");
    ReplaceCode(cap, wasm, D() + "/creator.key");
    auto r = Req(cap, std::string("corpus-") + f.file + ".out");
    r.limits.max_instructions = 50'000'000;
    auto rep = runtime::Open(r);
    EXPECT_EQ(rep.status.code(), f.code) << f.file << ": " << rep.status.ToString();
    EXPECT_FALSE(FileExists(r.output)) << f.file;
  }
  for (const auto& c : cases) {
    std::string wat = D() + "/" + c.name + ".wat", wasm = D() + "/" + c.name + ".wasm";
    WriteAll(wat, c.wat);
    Shell("wat2wasm " + wat + " -o " + wasm);
    std::string cap = Pack(D() + "/gpl.txt", "free.yaml", std::string(c.name) + ".capsule.wasm");
    ReplaceCode(cap, wasm, D() + "/creator.key");
    auto r = Req(cap, std::string(c.name) + ".out");
    r.limits.max_instructions = 50'000'000;
    auto rep = runtime::Open(r);
    EXPECT_EQ(rep.status.code(), c.code) << c.name << ": " << rep.status.ToString();
    EXPECT_FALSE(FileExists(r.output)) << c.name;
  }
  // The runtime is still healthy: a normal capsule opens.
  std::string ok = Pack(D() + "/gpl.txt", "free.yaml", "healthy.capsule.wasm");
  auto rep = runtime::Open(Req(ok, "healthy.out"));
  ASSERT_TRUE(rep.status.ok()) << rep.status.ToString();
  EXPECT_EQ(ReadAll(D() + "/healthy.out"), ReadAll(D() + "/gpl.txt"));
}

}  // namespace
