// Licences on real capsules packed through the public API (format/license.h,
// docs/spec/license.md): issue → parse → check → unwrap, the terms rules, every refusal code
// (another capsule or manifest, another holder, an unlisted issuer, a model or terms beyond the
// offer, expired, not yet valid, tampering, non-canonical and unknown fields), the exact signed
// message, and a byte-flip sweep over a whole licence file.
#include "format/license.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"

using namespace capsule;          // NOLINT
using namespace capsule::format;  // NOLINT
using json = nlohmann::json;

namespace {

constexpr int64_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kHour = 3600, kDay = 86400;

std::string MakeTmp() {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/licXXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}
void WriteAll(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

const char* kHead = R"(title: Licence test
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
)";
// Paid: buy, resale, rental (48h from purchase), pay-per-view (3 plays).
const char* kPaidModels = R"(  - type: buy
    price: "2.50"
    currency: ELA
  - type: resale
    reseller_cut: 10%
  - type: rental
    price: "0.75"
    currency: ELA
    duration: 48h
  - type: pay_per_view
    price: "0.1"
    currency: USDC
    decimals: 6
    plays: 3
)";
// Paid: a rental counted from the first play, and a subscription.
const char* kTimedModels = R"(  - type: rental
    price: "1"
    currency: ELA
    duration: 7d
    from_first_play: true
  - type: subscription
    price: "5"
    currency: ELA
    period: 30d
)";
const char* kFreeModels = "  - type: free\n";

class LicenseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTmp());
    for (const char* n : {"creator", "shop", "bob", "eve", "stranger"}) {
      KeygenRequest k;
      k.key_path = D() + "/" + n + ".key";
      k.pub_path = D() + "/" + n + ".pub";
      ASSERT_TRUE(Keygen(k).ok());
    }
    WriteAll(D() + "/paid.yaml", std::string(kHead) + kPaidModels);
    WriteAll(D() + "/timed.yaml", std::string(kHead) + kTimedModels);
    WriteAll(D() + "/free.yaml", std::string(kHead) + kFreeModels);
    std::string cmd = "sox -n -r 8000 -c 1 -b 16 " + D() + "/tone.wav synth 1 sine 440 vol 0.5";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    // A and B: two capsules of the same file under the same manifest (distinct ids and K).
    Pack("paid.yaml", "a");
    Pack("paid.yaml", "b");
    Pack("timed.yaml", "timed");
    Pack("free.yaml", "free");
  }
  static void Pack(const std::string& manifest, const std::string& name) {
    PackRequest r;
    r.manifest_path = D() + "/" + manifest;
    r.key_path = D() + "/creator.key";
    r.issuer_paths = {D() + "/shop.pub"};
    r.overwrite = true;
    auto p = Packer::Create(r);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto out = (*p)->Pack(D() + "/tone.wav", D() + "/" + name + ".capsule.wasm", 0, nullptr);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  static const std::string& D() { return *dir_; }

  static OpenedCapsule Open(const std::string& name) {
    VerifyOptions vo;
    vo.check_payload = false;
    auto c = OpenCapsule(D() + "/" + name + ".capsule.wasm", vo);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  static SecretIdentity SecretOf(const std::string& who) {
    auto k = LoadSecretKey(D() + "/" + who + ".key", DefaultPassphraseSource());
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return std::move(k).value();
  }
  static PublicIdentity PublicOf(const std::string& who) { return SecretOf(who).pub; }

  static LicenseRequest Req(const std::string& model, int64_t not_before = kNow) {
    LicenseRequest r;
    r.model_type = model;
    r.not_before = not_before;
    return r;
  }
  // Issues (must succeed) and parses (must succeed).
  static std::string Issue(const std::string& capsule, const LicenseRequest& req,
                           const std::string& issuer = "creator",
                           const std::string& holder = "bob") {
    auto c = Open(capsule);
    auto t = IssueLicense(c, SecretOf(issuer), PublicOf(holder), req, kNow);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  }
  static License Parse(const std::string& text) {
    auto l = ParseLicense(text, "test.lic");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? std::move(l).value() : License();
  }
  static Code ParseCode(const std::string& text) {
    return ParseLicense(text, "test.lic").status().code();
  }
  static Code CheckCode(const std::string& text, const std::string& capsule,
                        const std::string& holder = "bob", int64_t now = kNow) {
    auto l = ParseLicense(text, "test.lic");
    if (!l.ok()) return l.status().code();
    return CheckLicense(*l, Open(capsule), PublicOf(holder), now).code();
  }
  // Re-signs an edited body with `signer` (to build licences IssueLicense would refuse).
  static std::string Forge(const std::string& text, const std::function<void(json&)>& edit,
                           const std::string& signer = "creator") {
    json body = json::parse(text)["license"];
    edit(body);
    auto t = SignLicenseBody(body, SecretOf(signer));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : std::string();
  }
  // Edits the file's JSON without re-signing.
  static std::string Edit(const std::string& text, const std::function<void(json&)>& edit) {
    json j = json::parse(text);
    edit(j);
    return j.dump(2);
  }
  static std::string* dir_;
};
std::string* LicenseTest::dir_ = nullptr;

TEST_F(LicenseTest, IssueParseCheckUnwrapEveryOfferedModel) {
  struct Case {
    std::string capsule, model, issuer;
  } cases[] = {
      {"a", "buy", "creator"},     {"a", "resale", "shop"},
      {"a", "rental", "creator"},  {"a", "pay_per_view", "shop"},
      {"timed", "rental", "shop"}, {"timed", "subscription", "creator"},
      {"free", "free", "creator"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.capsule + "/" + c.model + " by " + c.issuer);
    std::string text = Issue(c.capsule, Req(c.model), c.issuer);
    License l = Parse(text);
    auto cap = Open(c.capsule);
    EXPECT_TRUE(CheckLicense(l, cap, PublicOf("bob"), kNow).ok());
    EXPECT_EQ(l.capsule_id, cap.info.id);
    EXPECT_EQ(l.manifest_sha256, Sha256Of(AsBytes(cap.manifest_bytes)));
    EXPECT_EQ(l.issuer, PublicOf(c.issuer).ed25519);
    EXPECT_EQ(l.holder_address, PublicOf("bob").address);
    EXPECT_EQ(l.issued_at, kNow);
    EXPECT_EQ(l.not_before, kNow);
    EXPECT_EQ(l.model["type"], c.model);
    EXPECT_EQ(l.sealed_key.size(), 80u);
    // The unwrapped K is the capsule's (the creator opens its own sealed box to compare).
    ContentKey k, ref;
    ASSERT_TRUE(UnwrapLicenseKey(l, cap, SecretOf("bob"), &k).ok());
    auto creator = SecretOf("creator");
    ASSERT_TRUE(RecoverContentKey(cap, creator.pub.x25519.data(), creator.x25519_sk(), &ref).ok());
    EXPECT_EQ(std::memcmp(k.data(), ref.data(), 32), 0);
    // The file is the documented JSON: pretty, sorted, newline-terminated, and its body's
    // canonical form is what ParseLicense kept.
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(json::parse(text).dump(2) + "\n", text);
    EXPECT_EQ(*CanonicalJson(json::parse(text)["license"]), l.body_canonical);
  }
}

TEST_F(LicenseTest, IdsAndSealedKeysAreFreshEachTime) {
  std::set<std::string> ids, sealed;
  for (int i = 0; i < 8; ++i) {
    License l = Parse(Issue("a", Req("buy")));
    EXPECT_EQ(l.id.size(), 32u);
    ids.insert(l.id);
    sealed.insert(Base64Encode(l.sealed_key));
  }
  EXPECT_EQ(ids.size(), 8u);
  EXPECT_EQ(sealed.size(), 8u);
}

TEST_F(LicenseTest, SignedMessageIsDomainZeroCanonicalBody) {
  License l = Parse(Issue("a", Req("rental")));
  Bytes msg(kLicenseDomain.begin(), kLicenseDomain.end());
  msg.push_back(0);
  msg.insert(msg.end(), l.body_canonical.begin(), l.body_canonical.end());
  EXPECT_TRUE(Ed25519Verify(l.issuer.data(), msg, l.signature.data()));
  // Not over the bare body, nor without the separator.
  EXPECT_FALSE(Ed25519Verify(l.issuer.data(), AsBytes(l.body_canonical), l.signature.data()));
  Bytes no_zero(kLicenseDomain.begin(), kLicenseDomain.end());
  no_zero.insert(no_zero.end(), l.body_canonical.begin(), l.body_canonical.end());
  EXPECT_FALSE(Ed25519Verify(l.issuer.data(), no_zero, l.signature.data()));
  EXPECT_EQ(l.body_canonical.find(' '), std::string::npos);
  EXPECT_EQ(l.body_canonical.substr(0, 14), "{\"capsule_id\":");
}

TEST_F(LicenseTest, TermsDefaultToTheOfferAndMayOnlyBeLowered) {
  // Rental: default = offered 48h; the window is not_before + duration.
  License r = Parse(Issue("a", Req("rental")));
  EXPECT_EQ(r.model["duration_s"], 48 * kHour);
  EXPECT_EQ(r.model["from_first_play"], false);
  EXPECT_EQ(r.not_after, kNow + 48 * kHour);
  auto req = Req("rental");
  req.duration_s = 24 * kHour;
  r = Parse(Issue("a", req));
  EXPECT_EQ(r.model["duration_s"], 24 * kHour);
  EXPECT_EQ(r.not_after, kNow + 24 * kHour);
  EXPECT_EQ(r.model["price"]["amount"], "0.75");  // the rest of the offer, as offered
  // Pay-per-view: default 3 plays, fewer allowed; no window unless asked.
  License p = Parse(Issue("a", Req("pay_per_view")));
  EXPECT_EQ(p.model["plays"], 3);
  EXPECT_FALSE(p.not_after);
  req = Req("pay_per_view");
  req.plays = 2;
  req.not_after = kNow + 10 * kDay;
  p = Parse(Issue("a", req));
  EXPECT_EQ(p.model["plays"], 2);
  EXPECT_EQ(p.not_after, kNow + 10 * kDay);
  // Buy: perpetual.
  License b = Parse(Issue("a", Req("buy")));
  EXPECT_FALSE(b.not_after);
  EXPECT_TRUE(b.body.contains("not_after") && b.body["not_after"].is_null());
  // Rental from the first play: no fixed end (the runtime counts from the first play).
  License f = Parse(Issue("timed", Req("rental")));
  EXPECT_EQ(f.model["from_first_play"], true);
  EXPECT_EQ(f.model["duration_s"], 7 * kDay);
  EXPECT_FALSE(f.not_after);
  // Subscription: one period from not_before, shorter allowed.
  req = Req("subscription");
  req.duration_s = 7 * kDay;
  License s = Parse(Issue("timed", req));
  EXPECT_EQ(s.model["period_s"], 7 * kDay);
  EXPECT_EQ(s.not_after, kNow + 7 * kDay);
}

TEST_F(LicenseTest, IssueRefusals) {
  auto a = Open("a");
  auto code = [&](const LicenseRequest& req, const std::string& issuer = "creator",
                  const OpenedCapsule* c = nullptr) {
    return IssueLicense(c ? *c : a, SecretOf(issuer), PublicOf("bob"), req, kNow).status().code();
  };
  // Terms above the offer.
  auto req = Req("rental");
  req.duration_s = 72 * kHour;
  EXPECT_EQ(code(req), Code::ModelNotOffered);
  req.duration_s = 48 * kHour + 1;
  EXPECT_EQ(code(req), Code::ModelNotOffered);
  req.duration_s = 48 * kHour;
  EXPECT_EQ(code(req), Code::Ok);
  req = Req("pay_per_view");
  req.plays = 4;
  EXPECT_EQ(code(req), Code::ModelNotOffered);
  req.plays = 0;
  EXPECT_EQ(code(req), Code::Usage);
  auto timed = Open("timed");
  req = Req("subscription");
  req.duration_s = 31 * kDay;
  EXPECT_EQ(code(req, "creator", &timed), Code::ModelNotOffered);
  // Models not offered.
  EXPECT_EQ(code(Req("subscription")), Code::ModelNotOffered);
  EXPECT_EQ(code(Req("free")), Code::ModelNotOffered);
  EXPECT_EQ(code(Req("lease")), Code::ModelNotOffered);
  EXPECT_EQ(code(Req("buy"), "creator", &timed), Code::ModelNotOffered);
  // Terms that do not belong to the model.
  req = Req("buy");
  req.plays = 1;
  EXPECT_EQ(code(req), Code::Usage);
  req = Req("pay_per_view");
  req.duration_s = kHour;
  EXPECT_EQ(code(req), Code::Usage);
  req = Req("rental");
  req.not_after = kNow + kDay;  // a rental's end is fixed by its duration
  EXPECT_EQ(code(req), Code::Usage);
  req = Req("buy");
  req.not_after = kNow;  // not later than not_before
  EXPECT_EQ(code(req), Code::Usage);
  // Not an issuer: a stranger, and a holder.
  EXPECT_EQ(code(Req("buy"), "stranger"), Code::NotAnIssuer);
  EXPECT_EQ(code(Req("buy"), "bob"), Code::NotAnIssuer);
}

TEST_F(LicenseTest, CheckRefusesAnotherCapsuleOrManifest) {
  std::string text = Issue("a", Req("buy"));
  EXPECT_EQ(CheckCode(text, "a"), Code::Ok);
  EXPECT_EQ(CheckCode(text, "b"), Code::LicenseWrongCapsule);
  // Same capsule id, another manifest hash (signed by a listed issuer).
  std::string other = Forge(text, [](json& b) {
    std::string h = b["manifest_sha256"];
    h[0] = h[0] == '0' ? '1' : '0';
    b["manifest_sha256"] = h;
  });
  EXPECT_EQ(CheckCode(other, "a"), Code::LicenseWrongCapsule);
  // Unwrapping against another capsule is refused too (never a key for the wrong capsule).
  ContentKey k;
  EXPECT_EQ(UnwrapLicenseKey(Parse(text), Open("b"), SecretOf("bob"), &k).code(),
            Code::LicenseWrongCapsule);
}

TEST_F(LicenseTest, CheckRefusesAnotherHolder) {
  std::string text = Issue("a", Req("buy"));
  EXPECT_EQ(CheckCode(text, "a", "eve"), Code::LicenseWrongHolder);
  ContentKey k;
  EXPECT_EQ(UnwrapLicenseKey(Parse(text), Open("a"), SecretOf("eve"), &k).code(),
            Code::LicenseWrongHolder);
  // Bob's address with Eve's keys, and Bob's keys with Eve's address: both refused.
  for (const char* field : {"x25519", "address"}) {
    std::string forged = Forge(text, [&](json& b) {
      auto eve = PublicOf("eve");
      b["holder"][field] =
          std::string(field) == "address" ? EvmAddressLower(eve.address) : HexEncode(eve.x25519);
    });
    EXPECT_EQ(CheckCode(forged, "a", "bob"), Code::LicenseWrongHolder) << field;
  }
}

TEST_F(LicenseTest, CheckRefusesAnUnlistedIssuer) {
  // A stranger signs a perfectly shaped licence for capsule A.
  std::string text = Issue("a", Req("buy"));
  std::string forged = Forge(
      text, [](json& b) { b["issuer"] = HexEncode(PublicOf("stranger").ed25519); }, "stranger");
  EXPECT_EQ(ParseCode(forged), Code::Ok);  // well formed, validly signed…
  EXPECT_EQ(CheckCode(forged, "a"), Code::LicenseIssuerNotListed);  // …by nobody A lists
  // Claiming the creator as issuer while signing as the stranger: bad signature.
  std::string claimed = Forge(
      text, [](json&) {}, "stranger");
  claimed = Edit(claimed, [&](json& j) { j["signature"]["key"] = j["license"]["issuer"]; });
  EXPECT_EQ(ParseCode(claimed), Code::LicenseBadSignature);
}

TEST_F(LicenseTest, CheckRefusesModelsAndTermsBeyondTheOffer) {
  std::string rental = Issue("a", Req("rental"));
  std::string ppv = Issue("a", Req("pay_per_view"));
  std::string buy = Issue("a", Req("buy"));
  std::string resale = Issue("a", Req("resale"));
  struct Case {
    const char* what;
    std::string base;
    std::function<void(json&)> edit;
  } cases[] = {
      {"model not offered", rental,
       [](json& b) {
         b["model"] = {{"type", "subscription"}, {"price", b["model"]["price"]}, {"period_s", 100}};
       }},
      {"free on a paid capsule", rental,
       [](json& b) {
         b["model"] = {{"type", "free"}};
       }},
      {"plays above the offer", ppv, [](json& b) { b["model"]["plays"] = 4; }},
      {"duration above the offer", rental,
       [](json& b) {
         b["model"]["duration_s"] = 48 * kHour + 1;
         b["not_after"] = b["not_before"].get<int64_t>() + 48 * kHour + 1;
       }},
      {"window longer than the duration", rental,
       [](json& b) { b["not_after"] = b["not_before"].get<int64_t>() + 48 * kHour + 1; }},
      {"rental without an end", rental, [](json& b) { b["not_after"] = nullptr; }},
      {"from_first_play not as offered", rental,
       [](json& b) {
         b["model"]["from_first_play"] = true;
         b["not_after"] = nullptr;
       }},
      {"another price", ppv, [](json& b) { b["model"]["price"]["amount"] = "0.01"; }},
      {"a field the offer lacks", buy, [](json& b) { b["model"]["supply"] = 1; }},
      {"a resale price the offer leaves open", resale,
       [](json& b) {
         b["model"]["price"] = {
             {"amount", "1"}, {"base_units", "1"}, {"currency", "ELA"}, {"decimals", 0}};
       }},
      {"another reseller cut", resale, [](json& b) { b["model"]["reseller_cut_ppm"] = 1; }},
  };
  for (const auto& c : cases) {
    std::string forged = Forge(c.base, c.edit);
    ASSERT_EQ(ParseCode(forged), Code::Ok) << c.what;  // well formed and validly signed…
    EXPECT_EQ(CheckCode(forged, "a"), Code::ModelNotOffered) << c.what;  // …but not offered
  }
  // A model the schema does not know is malformed before any check.
  EXPECT_EQ(ParseCode(Forge(ppv, [](json& b) { b["model"].erase("price"); })),
            Code::LicenseMalformed);
  // Lowered terms and a shorter window are fine.
  EXPECT_EQ(CheckCode(Forge(ppv, [](json& b) { b["model"]["plays"] = 1; }), "a"), Code::Ok);
  EXPECT_EQ(CheckCode(Forge(rental,
                            [](json& b) { b["not_after"] = b["not_before"].get<int64_t>() + 60; }),
                      "a"),
            Code::Ok);
}

TEST_F(LicenseTest, WindowExpiredAndNotYetValidWithSkew) {
  // A rental bought three days ago: 48h, so expired for a day.
  std::string old = Issue("a", Req("rental", kNow - 3 * kDay));
  EXPECT_EQ(CheckCode(old, "a", "bob", kNow), Code::LicenseExpired);
  int64_t end = kNow - 3 * kDay + 48 * kHour;
  EXPECT_EQ(CheckCode(old, "a", "bob", end - 1), Code::Ok);
  EXPECT_EQ(CheckCode(old, "a", "bob", end), Code::LicenseExpired);  // no skew at the end
  // A licence valid from tomorrow.
  std::string later = Issue("a", Req("buy", kNow + kDay));
  EXPECT_EQ(CheckCode(later, "a", "bob", kNow), Code::LicenseNotYetValid);
  EXPECT_EQ(CheckCode(later, "a", "bob", kNow + kDay - kLicenseClockSkew - 1),
            Code::LicenseNotYetValid);
  EXPECT_EQ(CheckCode(later, "a", "bob", kNow + kDay - kLicenseClockSkew), Code::Ok);
  EXPECT_EQ(CheckCode(later, "a", "bob", kNow + 1000 * kDay), Code::Ok);  // no end
  // Subscription: one period.
  std::string sub = Issue("timed", Req("subscription"));
  EXPECT_EQ(CheckCode(sub, "timed", "bob", kNow + 30 * kDay - 1), Code::Ok);
  EXPECT_EQ(CheckCode(sub, "timed", "bob", kNow + 30 * kDay), Code::LicenseExpired);
  // Rental from the first play: the licence itself does not expire (the runtime counts).
  std::string ffp = Issue("timed", Req("rental"));
  EXPECT_EQ(CheckCode(ffp, "timed", "bob", kNow + 365 * kDay), Code::Ok);
}

TEST_F(LicenseTest, ChecksRunInTheDocumentedOrder) {
  // Everything wrong at once: a stranger's licence for A, checked against B, for Eve, expired.
  std::string text = Issue("a", Req("rental", kNow - 10 * kDay));
  std::string forged = Forge(
      text, [](json& b) { b["issuer"] = HexEncode(PublicOf("stranger").ed25519); }, "stranger");
  License l = Parse(forged);
  auto b = Open("b");
  auto eve = PublicOf("eve");
  auto checks = ExplainLicense(l, &b, &eve, kNow);
  std::vector<std::string> names;
  for (const auto& c : checks) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"issuer", "capsule", "holder", "model", "window"}));
  EXPECT_EQ(checks[0].status.code(), Code::LicenseIssuerNotListed);
  EXPECT_EQ(checks[1].status.code(), Code::LicenseWrongCapsule);
  EXPECT_EQ(checks[2].status.code(), Code::LicenseWrongHolder);
  EXPECT_EQ(checks[3].status.code(), Code::Ok);  // B offers the same rental
  EXPECT_EQ(checks[4].status.code(), Code::LicenseExpired);
  EXPECT_EQ(CheckLicense(l, b, eve, kNow).code(), Code::LicenseIssuerNotListed);
  // Without capsule and holder only the window is checked.
  checks = ExplainLicense(l, nullptr, nullptr, kNow);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].name, "window");
}

TEST_F(LicenseTest, TamperingBreaksTheSignature) {
  std::string text = Issue("a", Req("pay_per_view"));
  auto tamper = [&](const std::function<void(json&)>& edit) {
    return ParseCode(Edit(text, [&](json& j) { edit(j["license"]); }));
  };
  EXPECT_EQ(tamper([](json& b) { b["model"]["plays"] = 2; }), Code::LicenseBadSignature);
  EXPECT_EQ(tamper([](json& b) { b["not_before"] = kNow - 1; }), Code::LicenseBadSignature);
  EXPECT_EQ(tamper([](json& b) { b["not_after"] = kNow + 1; }), Code::LicenseBadSignature);
  EXPECT_EQ(
      tamper([](json& b) { b["holder"]["address"] = EvmAddressLower(PublicOf("eve").address); }),
      Code::LicenseBadSignature);
  // One byte of the id (still 32 hex digits).
  std::string t = text;
  size_t pos = t.find("\"id\": \"") + 7;
  t[pos] = t[pos] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ParseCode(t), Code::LicenseBadSignature);
  // The signature itself.
  t = text;
  pos = t.find("\"sig\": \"") + 20;
  t[pos] = t[pos] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ParseCode(t), Code::LicenseBadSignature);
  // Layout is not signed: the same body re-indented (or minified) still verifies.
  EXPECT_EQ(ParseCode(json::parse(text).dump()), Code::Ok);
  EXPECT_EQ(ParseCode(json::parse(text).dump(7)), Code::Ok);
}

TEST_F(LicenseTest, StrictParsing) {
  std::string text = Issue("a", Req("rental"));
  auto malformed = [&](const std::string& what, const std::function<void(json&)>& edit) {
    EXPECT_EQ(ParseCode(Edit(text, edit)), Code::LicenseMalformed) << what;
  };
  // Unknown fields, at every level.
  malformed("unknown top-level", [](json& j) { j["comment"] = "hi"; });
  malformed("unknown body", [](json& j) { j["license"]["note"] = "hi"; });
  malformed("unknown holder", [](json& j) { j["license"]["holder"]["name"] = "Bob"; });
  malformed("unknown model", [](json& j) { j["license"]["model"]["plays"] = 1; });
  malformed("unknown price", [](json& j) { j["license"]["model"]["price"]["usd"] = "1"; });
  malformed("unknown signature", [](json& j) { j["signature"]["kid"] = "x"; });
  // Missing fields.
  for (const char* f : {"version", "id", "capsule_id", "manifest_sha256", "holder", "issuer",
                        "model", "not_before", "not_after", "issued_at", "sealed_key"})
    malformed(std::string("missing ") + f, [&](json& j) { j["license"].erase(f); });
  malformed("missing signature", [](json& j) { j.erase("signature"); });
  malformed("missing sig", [](json& j) { j["signature"].erase("sig"); });
  // Wrong types and forms.
  malformed("version 2", [](json& j) { j["license"]["version"] = 2; });
  malformed("version string", [](json& j) { j["license"]["version"] = "1"; });
  malformed("negative time", [](json& j) { j["license"]["not_before"] = -1; });
  malformed("time as string", [](json& j) { j["license"]["issued_at"] = "1700000000"; });
  malformed("uppercase hex", [](json& j) {
    std::string s = j["license"]["capsule_id"];
    j["license"]["capsule_id"] = "A" + s.substr(1);
  });
  malformed("short id", [](json& j) { j["license"]["id"] = "00"; });
  malformed("checksummed address", [](json& j) {
    j["license"]["holder"]["address"] = PublicOf("bob").AddressChecksummed();
  });
  malformed("sealed key length", [](json& j) { j["license"]["sealed_key"] = "AAAA"; });
  malformed("alg", [](json& j) { j["signature"]["alg"] = "ed448"; });
  malformed("key is not the issuer",
            [](json& j) { j["signature"]["key"] = HexEncode(PublicOf("stranger").ed25519); });
  malformed("sig length", [](json& j) { j["signature"]["sig"] = "AAAA"; });
  malformed("not_after before not_before", [](json& j) {
    j["license"]["not_after"] = j["license"]["not_before"].get<int64_t>() - 1;
  });
  malformed("model type", [](json& j) { j["license"]["model"]["type"] = "lease"; });
  malformed("holder array", [](json& j) { j["license"]["holder"] = json::array(); });
  malformed("top array", [](json& j) { j = json::array({j}); });
  // Base64 has one spelling: the unused low bits of the last character must be zero (else
  // one signature or sealed key would have several encodings).
  for (const char* field : {"sig", "sealed_key"}) {
    std::string t = text;
    size_t start = t.find(std::string("\"") + field + "\": \"") + std::strlen(field) + 5;
    size_t last = t.find('=', start) - 1;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t v = alphabet.find(t[last]);
    ASSERT_NE(v, std::string::npos);
    t[last] = alphabet[v ^ 1];  // a padding bit in both cases (4 or 2 unused bits)
    EXPECT_EQ(ParseCode(t), Code::LicenseMalformed) << field;
  }
  // Invalid UTF-8 inside a string.
  std::string bad_utf8 = text;
  bad_utf8.insert(bad_utf8.find("\"ELA\"") + 1, "\xff");
  EXPECT_EQ(ParseCode(bad_utf8), Code::LicenseMalformed);
  // Deep nesting is refused without recursion trouble.
  EXPECT_EQ(ParseCode("{\"license\":" + std::string(30000, '[') + std::string(30000, ']') +
                      ",\"signature\":{}}"),
            Code::LicenseMalformed);
  EXPECT_EQ(ParseCode(std::string(60000, '[')), Code::LicenseMalformed);
  // Bytes after a NUL (which nlohmann takes for the end of its input) are not ignored.
  EXPECT_EQ(ParseCode(text + std::string("\0garbage{", 10)), Code::LicenseMalformed);
  // Not JSON, too large.
  EXPECT_EQ(ParseCode("{"), Code::LicenseMalformed);
  EXPECT_EQ(ParseCode(""), Code::LicenseMalformed);
  EXPECT_EQ(ParseCode(text + "x"), Code::LicenseMalformed);
  EXPECT_EQ(ParseCode(text + std::string(kMaxLicenseSize, ' ')), Code::LicenseMalformed);
  WriteAll(D() + "/big.lic", text + std::string(kMaxLicenseSize, ' '));
  EXPECT_EQ(ReadLicenseFile(D() + "/big.lic").status().code(), Code::LicenseMalformed);
  WriteAll(D() + "/ok.lic", text);
  EXPECT_EQ(*ReadLicenseFile(D() + "/ok.lic"), text);
}

TEST_F(LicenseTest, BodiesWithoutOneCanonicalFormAreMalformed) {
  std::string text = Issue("a", Req("buy"));
  // A duplicate key (nlohmann would keep the last one silently): in the body and nested.
  std::string dup = text;
  size_t pos = dup.find("\"version\": 1");
  dup.insert(pos, "\"version\": 1,\n    ");
  EXPECT_EQ(ParseCode(dup), Code::LicenseMalformed);
  dup = text;
  pos = dup.find("\"ed25519\": \"");
  dup.insert(pos, "\"ed25519\": \"00\",\n      ");
  EXPECT_EQ(ParseCode(dup), Code::LicenseMalformed);
  // Numbers that are not integers in [0, 2^53 − 1]: float forms of a valid value, too large.
  for (const char* n : {"1.7e9", "1700000000.0", "9007199254740992", "1e400"}) {
    std::string t = text;
    pos = t.find("\"issued_at\": ") + 13;
    t.replace(pos, t.find(',', pos) - pos, n);
    EXPECT_EQ(ParseCode(t), Code::LicenseMalformed) << n;
  }
  // Escapes are fine: the same value, the same canonical body, the same signature.
  std::string esc = text;
  pos = esc.find("\"type\": \"buy\"");
  esc.replace(pos, 13, "\"type\": \"\\u0062uy\"");
  EXPECT_EQ(ParseCode(esc), Code::Ok);
}

TEST_F(LicenseTest, EveryFlippedByteIsRefusedOrHarmless) {
  const std::string text = Issue("a", Req("rental"));
  const License ref = Parse(text);
  const size_t step = std::getenv("CAPSULE_SAMPLED_FLIPS") ? 7 : 1;
  size_t refused = 0, harmless = 0;
  for (size_t i = 0; i < text.size(); i += step) {
    for (uint8_t mask : {0x01, 0x20}) {
      std::string t = text;
      t[i] = static_cast<char>(t[i] ^ mask);
      auto l = ParseLicense(t, "flip");
      if (l.ok()) {
        // Only layout may change (e.g. a newline becoming another whitespace).
        EXPECT_EQ(l->body_canonical, ref.body_canonical) << "byte " << i;
        ++harmless;
      } else {
        Code c = l.status().code();
        EXPECT_TRUE(c == Code::LicenseMalformed || c == Code::LicenseBadSignature)
            << "byte " << i << ": " << l.status().ToString();
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, text.size() / step);
  (void)harmless;
}

TEST_F(LicenseTest, UnwrapRefusesAWrongOrBrokenSealedKey) {
  std::string text = Issue("a", Req("buy"));
  // K of capsule B sealed to Bob, in a licence for A signed by A's creator: it opens, but the
  // key commitment refuses it.
  std::string b_key = Base64Encode(Parse(Issue("b", Req("buy"))).sealed_key);
  std::string swapped = Forge(text, [&](json& b) { b["sealed_key"] = b_key; });
  ContentKey k;
  auto a = Open("a");
  EXPECT_EQ(CheckCode(swapped, "a"), Code::Ok);
  EXPECT_EQ(UnwrapLicenseKey(Parse(swapped), a, SecretOf("bob"), &k).code(),
            Code::KeyCommitmentMismatch);
  // A sealed box that does not open.
  std::string broken = Forge(text, [&](json& b) {
    Bytes s = *Base64Decode(b["sealed_key"].get<std::string>());
    s[40] ^= 1;
    b["sealed_key"] = Base64Encode(s);
  });
  EXPECT_EQ(UnwrapLicenseKey(Parse(broken), a, SecretOf("bob"), &k).code(),
            Code::KeyCommitmentMismatch);
}

TEST_F(LicenseTest, FreeCapsuleLicenceCarriesThePublishedKey) {
  License l = Parse(Issue("free", Req("free")));
  auto c = Open("free");
  ContentKey k;
  ASSERT_TRUE(UnwrapLicenseKey(l, c, SecretOf("bob"), &k).ok());
  ASSERT_TRUE(c.info.content_key);
  EXPECT_EQ(std::memcmp(k.data(), c.info.content_key->data(), 32), 0);
  EXPECT_EQ(DescribeLicenseModel(l.model), "free");
}

// The example in docs/spec/license.md §3 is a real licence: it parses and its signature verifies
// over the message §4 describes.
TEST(LicenseSpec, ExampleInTheSpecVerifies) {
  std::ifstream f(std::string(CAPSULE_SOURCE_DIR) + "/docs/spec/license.md");
  std::string doc((std::istreambuf_iterator<char>(f)), {});
  size_t start = doc.find("```json\n");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  std::string example = doc.substr(start, doc.find("```", start) - start);
  auto l = ParseLicense(example, "license.md");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->body_canonical.rfind(
                "{\"capsule_id\":\"009cb3c983e3ad7290da374902fa95c0\",\"holder\":{\"address\":", 0),
            0u);
  EXPECT_EQ(l->not_after, 1893542400);
  EXPECT_EQ(l->model["duration_s"], 86400);
}

TEST_F(LicenseTest, DescribeModel) {
  EXPECT_EQ(DescribeLicenseModel(Parse(Issue("a", Req("rental"))).model),
            "rental: 2d from not_before (0.75 ELA)");
  EXPECT_EQ(DescribeLicenseModel(Parse(Issue("timed", Req("rental"))).model),
            "rental: 1w from the first play (1 ELA)");
  EXPECT_EQ(DescribeLicenseModel(Parse(Issue("a", Req("pay_per_view"))).model),
            "pay_per_view: 3 play(s) (0.1 USDC)");
  EXPECT_EQ(DescribeLicenseModel(Parse(Issue("a", Req("resale"))).model),
            "resale: reseller cut 10%");
  json m = {{"type", "resale"}, {"reseller_cut_ppm", 125}};
  EXPECT_EQ(DescribeLicenseModel(m), "resale: reseller cut 0.0125%");
  EXPECT_EQ(DescribeLicenseModel(json::object()), "(malformed model)");
}

}  // namespace
