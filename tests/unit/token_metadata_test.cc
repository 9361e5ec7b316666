// packager/token_metadata.cc: the token-id rule (docs/spec/chain.md §2) and the MintPlan read
// from an embedded manifest (0xSplits order, refusals). The metadata document itself is checked
// end to end, against both JSON schemas, by tests/cli/mint_test.sh.
#include "packager/token_metadata.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace capsule::packager {
namespace {

nlohmann::json Manifest() {
  return nlohmann::json::parse(R"({
    "title": "T",
    "creator": {"name": "C", "address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                "ed25519": "290d5037b4851ae52027377d747ba17f5f3ba3e778e97b9930b68c8960091583"},
    "royalties": {"resale_royalty_ppm": 12345, "splits": [
      {"role": "creator", "address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "share_ppm": 700000},
      {"role": "publisher", "address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "share_ppm": 200000},
      {"role": "investor", "address": "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", "share_ppm": 100000}]},
    "models": [{"type": "free"}],
    "chain": {"chain_id": 21, "contract": "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb",
              "token_id": "derive"},
    "capsule": {"id": "000102030405060708090a0b0c0d0e0f",
                "media": {"type": "audio/wav", "duration_ms": 2345, "size": 10}}
  })");
}

TEST(TokenId, DeriveIsTheCapsuleIdBigEndian) {
  std::array<uint8_t, 16> id;
  for (int i = 0; i < 16; ++i) id[i] = static_cast<uint8_t>(i);
  TokenId t = DeriveTokenId(id);
  // docs/spec/chain.md §2's example.
  EXPECT_EQ(TokenIdDecimal(t), "5233100606242806050955395731361295");
  EXPECT_EQ(TokenIdHex64(t), "00000000000000000000000000000000000102030405060708090a0b0c0d0e0f");
  std::array<uint8_t, 16> ff;
  ff.fill(0xff);
  EXPECT_EQ(TokenIdDecimal(DeriveTokenId(ff)),
            "340282366920938463463374607431768211455");  // 2^128−1
}

TEST(TokenId, DecimalRoundTripAndRange) {
  EXPECT_EQ(TokenIdDecimal(*TokenIdFromDecimal("0")), "0");
  EXPECT_EQ(TokenIdDecimal(*TokenIdFromDecimal("007")), "7");
  const std::string max =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  auto m = TokenIdFromDecimal(max);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(TokenIdHex64(*m), std::string(64, 'f'));
  EXPECT_EQ(TokenIdDecimal(*m), max);
  EXPECT_FALSE(TokenIdFromDecimal(
      "115792089237316195423570985008687907853269984665640564039457584007913129639936"));
  EXPECT_FALSE(TokenIdFromDecimal(""));
  EXPECT_FALSE(TokenIdFromDecimal("12a"));
  EXPECT_FALSE(TokenIdFromDecimal("-1"));
  EXPECT_EQ(TokenIdHex64(*TokenIdFromDecimal("255")).substr(60), "00ff");
}

TEST(MintPlan, FromManifest) {
  const std::string bytes = Manifest().dump();
  auto p = PlanMint(Manifest(), bytes, "m");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(TokenIdDecimal(p->token_id), "5233100606242806050955395731361295");
  EXPECT_EQ(p->chain_id, 21u);
  EXPECT_EQ(p->royalty_ppm, 12345u);
  EXPECT_EQ(p->creator_ed25519[0], 0x29);
  EXPECT_EQ(p->contract[0], 0xd1);
  // 0xSplits order: strictly ascending addresses; the allocations travel with them.
  ASSERT_EQ(p->recipients.size(), 3u);
  EXPECT_EQ(p->recipients[0].address[0], 0x5a);
  EXPECT_EQ(p->recipients[0].allocation_ppm, 200000u);
  EXPECT_EQ(p->recipients[1].address[0], 0xdb);
  EXPECT_EQ(p->recipients[1].allocation_ppm, 100000u);
  EXPECT_EQ(p->recipients[2].address[0], 0xfb);
  EXPECT_EQ(p->recipients[2].allocation_ppm, 700000u);
}

TEST(MintPlan, ExplicitTokenId) {
  auto m = Manifest();
  m["chain"]["token_id"] = "42";
  auto p = PlanMint(m, m.dump(), "m");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(TokenIdHex64(p->token_id), std::string(62, '0') + "2a");
}

TEST(MintPlan, Refusals) {
  auto m = Manifest();
  m.erase("chain");
  auto p = PlanMint(m, m.dump(), "song.capsule.wasm");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::Usage);
  EXPECT_NE(p.status().detail().find("`chain:` in manifest.yaml"), std::string::npos);

  m = Manifest();
  m["royalties"]["splits"][0]["share_ppm"] = 699999;  // sums to 999,999
  EXPECT_EQ(PlanMint(m, m.dump(), "m").status().code(), Code::ManifestInvalid);
  m = Manifest();
  m["royalties"]["splits"][2]["address"] = m["royalties"]["splits"][1]["address"];
  EXPECT_EQ(PlanMint(m, m.dump(), "m").status().code(), Code::ManifestInvalid);
  m = Manifest();
  m["chain"]["token_id"] = "0x2a";
  EXPECT_EQ(PlanMint(m, m.dump(), "m").status().code(), Code::ManifestInvalid);
}

TEST(TokenMetadata, SplitExportAndRoyalty) {
  auto m = Manifest();
  auto p = PlanMint(m, m.dump(), "m");
  ASSERT_TRUE(p.ok());
  IpfsCid cid = IpfsCidOf({});
  auto j = TokenMetadata(m, *p, cid, 123, {}, std::nullopt);
  const auto& props = j["properties"];
  EXPECT_EQ(j["decimals"], 0);
  EXPECT_FALSE(j.contains("animation_url"));
  EXPECT_EQ(props["capsule_cid"], "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(props["chain"]["token_id"], "5233100606242806050955395731361295");
  EXPECT_EQ(props["split_0xsplits"]["recipients"][0], "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  EXPECT_EQ(props["split_0xsplits"]["percentAllocations"][2], 700000);
  EXPECT_EQ(props["split_0xsplits"]["distributorFee"], 0);
  // 12345 ppm is not a whole number of basis points: no eip2981_bps.
  EXPECT_EQ(props["royalty"]["royalty_ppm"], 12345);
  EXPECT_FALSE(props["royalty"].contains("eip2981_bps"));
  EXPECT_EQ(props["royalty"]["receiver"], "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb");
  // Duration attribute in seconds, exactly.
  bool found = false;
  for (const auto& a : j["attributes"])
    if (a["trait_type"] == "Duration (seconds)") {
      found = true;
      EXPECT_EQ(a["value"].dump(), "2.345");
    }
  EXPECT_TRUE(found);
  // One recipient: no 0xSplits form.
  m["royalties"]["splits"] =
      nlohmann::json::array({{{"role", "creator"},
                              {"address", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"},
                              {"share_ppm", 1000000}}});
  p = PlanMint(m, m.dump(), "m");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(
      TokenMetadata(m, *p, cid, 1, {}, std::nullopt)["properties"].contains("split_0xsplits"));
}

}  // namespace
}  // namespace capsule::packager
