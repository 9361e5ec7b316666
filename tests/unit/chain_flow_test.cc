// The chain pieces built on the primitives: token ids and token refs from a manifest
// (docs/spec/chain.md §2), the creator binding (§3) and licence requests (§6), including the
// bad inputs each must refuse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chain/creator_binding.h"
#include "chain/license_request.h"
#include "chain/token.h"
#include "format/bytes.h"
#include "format/crypto.h"
#include "format/keys.h"
#include "test_util.h"

namespace capsule::chain {
namespace {

using format::HexEncode;

format::SecretIdentity Identity() {
  format::CryptoInit();
  auto id = format::GenerateIdentity();
  EXPECT_TRUE(id.ok());
  return *id;
}

nlohmann::json Manifest(const format::SecretIdentity& creator) {
  return {
      {"creator",
       {{"address", format::EvmAddressLower(creator.pub.address)},
        {"ed25519", HexEncode(creator.pub.ed25519)},
        {"name", "C"}}},
      {"royalties",
       {{"resale_royalty_ppm", 50000},
        {"splits",
         {{{"address", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"}, {"share_ppm", 300000}},
          {{"address", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}, {"share_ppm", 700000}}}}}},
      {"chain",
       {{"chain_id", 21},
        {"contract", "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"},
        {"token_id", "derive"}}}};
}

const std::array<uint8_t, 16> kId = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

TEST(ChainToken, DeriveIsTheCapsuleIdAsABigEndianInteger) {
  // The worked example of docs/spec/chain.md §2 (python: int('000102…0f', 16)).
  EXPECT_EQ(DeriveTokenId(kId).ToDecimal(), "5233100606242806050955395731361295");
  EXPECT_EQ(DeriveTokenId(kId).ToHex64(),
            "00000000000000000000000000000000000102030405060708090a0b0c0d0e0f");
}

TEST(ChainToken, RefSortsSplitsAndRejectsBadManifests) {
  auto creator = Identity();
  nlohmann::json m = Manifest(creator);
  auto t = TokenRefOf(m, "manifest bytes", kId, "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->chain_id, 21u);
  EXPECT_EQ(t->royalty_ppm, 50000u);
  ASSERT_EQ(t->recipients.size(), 2u);
  EXPECT_LT(t->recipients[0], t->recipients[1]);  // strictly ascending, as the contract needs
  EXPECT_EQ(t->allocations[0], 700000u);          // 0x5aae… sorts first
  EXPECT_EQ(t->manifest_hash, format::Sha256Of(format::AsBytes("manifest bytes")));

  m["chain"]["token_id"] = "42";
  EXPECT_EQ(TokenRefOf(m, "", kId, "x")->token_id, U256::FromU64(42));
  // A number is not the string the manifest holds (it was read as `derive`).
  m["chain"]["token_id"] = 42;
  EXPECT_EQ(TokenRefOf(m, "", kId, "x").status().code(), Code::ManifestInvalid);
  m["chain"]["token_id"] = "42";

  auto no_chain = Manifest(creator);
  no_chain.erase("chain");
  EXPECT_EQ(TokenRefOf(no_chain, "", kId, "x").status().code(), Code::Usage);
  auto bad_sum = Manifest(creator);
  bad_sum["royalties"]["splits"][0]["share_ppm"] = 300001;
  EXPECT_EQ(TokenRefOf(bad_sum, "", kId, "x").status().code(), Code::ManifestInvalid);
  auto dup = Manifest(creator);
  dup["royalties"]["splits"][0]["address"] = dup["royalties"]["splits"][1]["address"];
  EXPECT_EQ(TokenRefOf(dup, "", kId, "x").status().code(), Code::ManifestInvalid);
  auto big = Manifest(creator);
  big["chain"]["token_id"] = std::string(79, '9');
  EXPECT_EQ(TokenRefOf(big, "", kId, "x").status().code(), Code::ManifestInvalid);
}

TEST(ChainBinding, MadeByTheCreatorVerifiesAndAnythingElseIsRefused) {
  auto creator = Identity();
  auto other = Identity();
  nlohmann::json m = Manifest(creator);
  EXPECT_EQ(*CheckCreatorBinding(m, "x"), BindingState::kAbsent);
  auto b = MakeCreatorBinding(creator.pub.address, creator.pub.ed25519, creator.secret.data() + 64);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->size(), 132u);
  m["creator"]["binding"] = *b;
  EXPECT_EQ(*CheckCreatorBinding(m, "x"), BindingState::kValid);

  // Another Ed25519 key under the same binding: the binding no longer recovers the address.
  auto rekeyed = m;
  rekeyed["creator"]["ed25519"] = HexEncode(other.pub.ed25519);
  EXPECT_EQ(CheckCreatorBinding(rekeyed, "x").status().code(), Code::CreatorBindingInvalid);
  // Another address.
  auto moved = m;
  moved["creator"]["address"] = format::EvmAddressLower(other.pub.address);
  EXPECT_EQ(CheckCreatorBinding(moved, "x").status().code(), Code::CreatorBindingInvalid);
  // Malformed forms.
  for (std::string bad : {std::string("0x"), b->substr(0, 130), "0x" + std::string(130, 'g')}) {
    auto mm = m;
    mm["creator"]["binding"] = bad;
    EXPECT_EQ(CheckCreatorBinding(mm, "x").status().code(), Code::CreatorBindingInvalid) << bad;
  }
  // Signing for an address the key does not control is refused up front.
  EXPECT_FALSE(
      MakeCreatorBinding(other.pub.address, creator.pub.ed25519, creator.secret.data() + 64).ok());
}

struct RequestFixture {
  format::SecretIdentity creator = Identity(), holder = Identity();
  TokenRef token;
  eip712::Domain domain;
  eip712::LicenseRequest msg;
  RequestFixture() {
    token = *TokenRefOf(Manifest(creator), "m", kId, "x");
    domain.chain_id = token.chain_id;
    domain.verifying_contract = token.contract;
    msg.holder = holder.pub.address;
    msg.holder_ed25519 = holder.pub.ed25519;
    msg.holder_x25519 = holder.pub.x25519;
    msg.manifest_hash = token.manifest_hash;
    msg.token_id = token.token_id;
    msg.model = "buy";
    msg.nonce = U256::FromU64(7);
    msg.expiry = 2000000000;
  }
  std::string Make() { return *MakeLicenseRequest(domain, msg, holder.secret.data() + 64); }
};

TEST(ChainLicenseRequest, RoundTripAndChecks) {
  RequestFixture f;
  auto r = ParseLicenseRequest(f.Make(), "req");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->signer, f.holder.pub.address);
  EXPECT_EQ(r->message.holder_x25519, f.holder.pub.x25519);
  EXPECT_TRUE(CheckLicenseRequestFor(*r, f.token, 1900000000, "req").ok());
  EXPECT_EQ(CheckLicenseRequestFor(*r, f.token, 2000000000, "req").code(),
            Code::LicenseRequestExpired);
  TokenRef other = f.token;
  other.token_id = U256::FromU64(1);
  EXPECT_EQ(CheckLicenseRequestFor(*r, other, 0, "req").code(), Code::LicenseRequestMismatch);
  other = f.token;
  other.chain_id = 20;
  EXPECT_EQ(CheckLicenseRequestFor(*r, other, 0, "req").code(), Code::LicenseRequestMismatch);
}

TEST(ChainLicenseRequest, EditsBreakTheSignatureAndBadShapesAreMalformed) {
  RequestFixture f;
  nlohmann::json j = nlohmann::json::parse(f.Make());
  // Re-keyed: the holder's X25519 key replaced — the signature no longer recovers the holder.
  auto rekeyed = j;
  rekeyed["typed_data"]["message"]["holderX25519"] = "0x" + std::string(64, '1');
  EXPECT_EQ(ParseLicenseRequest(rekeyed.dump(), "req").status().code(),
            Code::LicenseRequestBadSignature);
  auto other_nonce = j;
  other_nonce["typed_data"]["message"]["nonce"] = "8";
  EXPECT_EQ(ParseLicenseRequest(other_nonce.dump(), "req").status().code(),
            Code::LicenseRequestBadSignature);
  auto other_chain = j;
  other_chain["typed_data"]["domain"]["chainId"] = 20;
  EXPECT_EQ(ParseLicenseRequest(other_chain.dump(), "req").status().code(),
            Code::LicenseRequestBadSignature);
  // Shapes.
  std::vector<nlohmann::json> bad;
  bad.push_back(nlohmann::json::array());
  auto extra = j;
  extra["typed_data"]["message"]["extra"] = 1;
  bad.push_back(extra);
  auto types = j;
  types["typed_data"]["types"]["LicenseRequest"][0]["type"] = "bytes32";
  bad.push_back(types);
  auto num_nonce = j;
  num_nonce["typed_data"]["message"]["nonce"] = 7;
  bad.push_back(num_nonce);
  auto short_sig = j;
  short_sig["signature"] = "0x00";
  bad.push_back(short_sig);
  // The same numbers in another text (the signature, over the numbers, would still verify).
  auto padded_token = j;
  padded_token["typed_data"]["message"]["tokenId"] =
      "0" + j["typed_data"]["message"]["tokenId"].get<std::string>();
  bad.push_back(padded_token);
  auto padded_nonce = j;
  padded_nonce["typed_data"]["message"]["nonce"] =
      "00" + j["typed_data"]["message"]["nonce"].get<std::string>();
  bad.push_back(padded_nonce);
  auto signed_nonce = j;
  signed_nonce["typed_data"]["message"]["nonce"] =
      "+" + j["typed_data"]["message"]["nonce"].get<std::string>();
  bad.push_back(signed_nonce);
  for (const auto& b : bad)
    EXPECT_EQ(ParseLicenseRequest(b.dump(), "req").status().code(), Code::LicenseRequestMalformed)
        << b.dump().substr(0, 200);
  EXPECT_EQ(ParseLicenseRequest("not json", "req").status().code(), Code::LicenseRequestMalformed);
}

TEST(ChainLicenseRequest, NonceLogRefusesAReplay) {
  RequestFixture f;
  auto r = ParseLicenseRequest(f.Make(), "req");
  ASSERT_TRUE(r.ok());
  std::string dir = testing::MakeTmp("nonces");
  std::string log = dir + "/nonces.log";
  EXPECT_TRUE(RecordRequestNonce(log, *r).ok());
  EXPECT_EQ(RecordRequestNonce(log, *r).code(), Code::LicenseRequestReplayed);
  f.msg.nonce = U256::FromU64(70);  // "7" must not match a prefix of "70" or vice versa
  auto r2 = ParseLicenseRequest(f.Make(), "req");
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(RecordRequestNonce(log, *r2).ok());
  EXPECT_EQ(RecordRequestNonce(log, *r2).code(), Code::LicenseRequestReplayed);
}

// A log the check cannot read in full is refused, never trusted: a torn last line would
// otherwise swallow the next record (written onto it) and a replay would go unseen.
TEST(ChainLicenseRequest, NonceLogThatCannotBeReadFailsClosed) {
  RequestFixture f;
  auto r = ParseLicenseRequest(f.Make(), "req");
  ASSERT_TRUE(r.ok());
  const std::string dir = testing::MakeTmp("nonces");
  for (const std::string& bad : std::vector<std::string>{
           "x", "this is not a nonce record\n", "21 0xAB 0xcd 7\n",
           "21 0x" + std::string(40, 'a') + " 0x" + std::string(40, 'b') + " 07\n"}) {
    const std::string log = dir + "/bad.log";
    testing::WriteAll(log, bad);
    EXPECT_EQ(RecordRequestNonce(log, *r).code(), Code::NonceLogCorrupt) << bad;
    EXPECT_EQ(testing::ReadAll(log), bad) << "the refused log was changed";
  }
  const std::string good = dir + "/good.log";
  testing::WriteAll(good, "21 0x" + std::string(40, 'a') + " 0x" + std::string(40, 'b') + " 7\n");
  EXPECT_TRUE(RecordRequestNonce(good, *r).ok());
  EXPECT_EQ(RecordRequestNonce(good, *r).code(), Code::LicenseRequestReplayed);
}

}  // namespace
}  // namespace capsule::chain
