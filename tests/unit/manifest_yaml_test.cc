// Tests for manifest.yaml parsing (packager/manifest_yaml.h) and its value grammars
// (packager/manifest_values.h). Error tests assert the code AND the exact line:column, because
// "the message names the place" is the promise made to creators (issue 2).
#include "packager/manifest_yaml.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "format/time.h"
#include "packager/manifest_values.h"

namespace capsule::packager {
namespace {

using format::DurationUnit;
using nlohmann::json;

constexpr char kPath[] = "m.yaml";

// The source tree: CMake defines it; a standalone build finds it from this file's path.
std::string SourceDir() {
#ifdef CAPSULE_SOURCE_DIR
  return CAPSULE_SOURCE_DIR;
#else
  std::string file = __FILE__;
  size_t at = file.rfind("tests/unit/");
  return at == std::string::npos || at == 0 ? "." : file.substr(0, at - 1);
#endif
}

// A valid manifest; tests replace one line to break it. Line numbers matter below.
constexpr char kBase[] =
    "title: Midnight Train\n"                                      // 1
    "creator:\n"                                                   // 2
    "  name: The Lanterns\n"                                       // 3
    "  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"      // 4
    "royalties:\n"                                                 // 5
    "  splits:\n"                                                  // 6
    "    - role: creator\n"                                        // 7
    "      address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n"  // 8
    "      share: 70%\n"                                           // 9
    "    - role: publisher\n"                                      // 10
    "      address: 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\n"  // 11
    "      share: 30%\n"                                           // 12
    "models:\n"                                                    // 13
    "  - type: buy\n"                                              // 14
    "    price: \"9.99\"\n"                                        // 15
    "    currency: ELA\n";                                         // 16

// kBase with lines first..last (1-based) replaced by `replacement` (which may hold several lines,
// or be empty to delete them).
std::string WithLines(int first, int last, const std::string& replacement) {
  std::string out;
  std::string base = kBase;
  int n = 1;
  for (size_t start = 0; start < base.size(); ++n) {
    size_t end = base.find('\n', start);
    if (n == first && !replacement.empty()) out += replacement + "\n";
    if (n < first || n > last) out += base.substr(start, end - start + 1);
    start = end + 1;
  }
  return out;
}
std::string WithLine(int line, const std::string& replacement) {
  return WithLines(line, line, replacement);
}
// kBase up to (not including) `models:`; line 13 is next.
std::string BaseWithoutModels() {
  std::string base = kBase;
  return base.substr(0, base.find("models:"));
}
std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << from;
  } else {
    s.replace(at, from.size(), to);
  }
  return s;
}

Result<AuthoredManifest> Parse(const std::string& yaml) { return ParseManifestYaml(yaml, kPath); }

// Asserts the code and that the detail starts with "m.yaml:LINE:COL: ".
void ExpectError(const std::string& yaml, Code code, int line, int column,
                 const std::string& needle = "") {
  Result<AuthoredManifest> r = Parse(yaml);
  ASSERT_FALSE(r.ok()) << "accepted:\n" << yaml;
  EXPECT_EQ(r.status().code(), code)
      << "got " << ReasonCode(r.status().code()) << ": " << r.status().detail();
  std::string prefix =
      std::string(kPath) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  EXPECT_EQ(r.status().detail().substr(0, prefix.size()), prefix) << r.status().detail();
  if (!needle.empty()) {
    EXPECT_NE(r.status().detail().find(needle), std::string::npos) << r.status().detail();
  }
}

// ---------------------------------------------------------------------------------------------
// Value grammars.

TEST(ManifestShare, ExactPpmConversions) {
  struct Case {
    const char* text;
    uint32_t ppm;
  } cases[] = {
      {"70%", 700000},
      {"12.5%", 125000},
      {"0.0001%", 1},
      {"700 bps", 70000},
      {"12.5 bps", 1250},
      {"0.01 bps", 1},
      {"100%", 1000000},
      {"10000 bps", 1000000},
      {"33.3333%", 333333},
      {"12.50000%", 125000},
      {"0%", 0},
      {"1bps", 100},
      {"007%", 70000},
      {"70 %", 700000},
      {"99.9999%", 999999},
      {"0.5 bps", 50},
  };
  for (const Case& c : cases) {
    Result<uint32_t> r = manifest::ParseShare(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().detail();
    EXPECT_EQ(*r, c.ppm) << c.text;
  }
}

TEST(ManifestShare, RejectsInexactOrUnitless) {
  for (const char* bad :
       {"70", "12.5", "0.00001%", "0.001 bps", "100.0001%", "101%", "-5%", "10001 bps", "%", "bps",
        ".5%", "5.%", "1e2%", "12,5%", "70 percent", "", "999999999999999999999%", "5 BPS"}) {
    Result<uint32_t> r = manifest::ParseShare(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::BadShare) << bad;
    }
  }
  Result<uint32_t> unitless = manifest::ParseShare("70");
  EXPECT_NE(unitless.status().detail().find("must end in % or bps"), std::string::npos);
}

TEST(ManifestShare, FormatPpmAsPercent) {
  EXPECT_EQ(manifest::FormatPpmAsPercent(995000), "99.5%");
  EXPECT_EQ(manifest::FormatPpmAsPercent(1), "0.0001%");
  EXPECT_EQ(manifest::FormatPpmAsPercent(1000000), "100%");
  EXPECT_EQ(manifest::FormatPpmAsPercent(1250000), "125%");
  EXPECT_EQ(manifest::FormatPpmAsPercent(0), "0%");
}

TEST(ManifestDuration, Seconds) {
  struct Case {
    const char* text;
    uint64_t seconds;
  } cases[] = {{"30s", 30},
               {"15m", 900},
               {"48h", 172800},
               {"30d", 2592000},
               {"2w", 1209600},
               {"1h30m", 5400},
               {"1w2d3h4m5s", 788645},
               {"0h5m", 300},
               {"9007199254740991s", 9007199254740991ull}};
  for (const Case& c : cases) {
    Result<uint64_t> r = format::ParseDuration(c.text, DurationUnit::kSeconds);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().detail();
    EXPECT_EQ(*r, c.seconds) << c.text;
  }
  for (const char* bad :
       {"30", "0s", "0h0m", "1.5h", "30 s", "30S", "1m1h", "1h1h", "h", "30sec", "", "-5s", "500ms",
        "9007199254740992s", "99999999999999999999999w", "1y"}) {
    Result<uint64_t> r = format::ParseDuration(bad, DurationUnit::kSeconds);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::BadDuration) << bad;
    }
  }
}

TEST(ManifestDuration, Milliseconds) {
  EXPECT_EQ(*format::ParseDuration("30s", DurationUnit::kMilliseconds), 30000u);
  EXPECT_EQ(*format::ParseDuration("500ms", DurationUnit::kMilliseconds), 500u);
  EXPECT_EQ(*format::ParseDuration("1m30s250ms", DurationUnit::kMilliseconds), 90250u);
  EXPECT_FALSE(format::ParseDuration("5ms1s", DurationUnit::kMilliseconds).ok());
}

TEST(ManifestPrice, BaseUnitsAreExact) {
  struct Case {
    const char* amount;
    uint32_t decimals;
    const char* normalized;
    const char* base_units;
  } cases[] = {
      {"9.99", 18, "9.99", "9990000000000000000"},
      {"1.50", 6, "1.5", "1500000"},
      {"0", 18, "0", "0"},
      {"0.000000000000000001", 18, "0.000000000000000001", "1"},
      {"007.100", 2, "7.1", "710"},
      {"42", 0, "42", "42"},
      {"12345678901234567890.123456789012345678", 18, "12345678901234567890.123456789012345678",
       "12345678901234567890123456789012345678"},
      // 2^256 - 1 base units exactly.
      {"115792089237316195423570985008687907853269984665640564039457.584007913129639935", 18,
       "115792089237316195423570985008687907853269984665640564039457.584007913129639935",
       "115792089237316195423570985008687907853269984665640564039457584007913129639935"},
  };
  for (const Case& c : cases) {
    Result<manifest::Price> r = manifest::ParsePrice(c.amount, c.decimals);
    ASSERT_TRUE(r.ok()) << c.amount << ": " << r.status().detail();
    EXPECT_EQ(r->amount, c.normalized);
    EXPECT_EQ(r->base_units, c.base_units);
  }
  for (auto [bad, decimals] : std::initializer_list<std::pair<const char*, uint32_t>>{
           {"-1", 18},
           {"1e3", 18},
           {".5", 18},
           {"5.", 18},
           {"1,000", 18},
           {"9.999", 2},
           {"0.5", 0},
           {"abc", 18},
           {"", 18},
           {"1_000", 18},
           {".inf", 18},
           {"115792089237316195423570985008687907853269984665640564039457.584007913129639936",
            18}}) {
    Result<manifest::Price> r = manifest::ParsePrice(bad, decimals);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::BadPrice) << bad;
    }
  }
}

TEST(ManifestAddress, ChecksumAndForms) {
  // EIP-55's own test vectors.
  for (const char* good :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"}) {
    Result<std::string> r = manifest::ParseAddress(good);
    ASSERT_TRUE(r.ok()) << good << ": " << r.status().detail();
    std::string lower = good;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_EQ(*r, lower);
  }
  struct Bad {
    const char* text;
    const char* needle;
  } bads[] = {
      {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"},
      {"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", "39 hex digits"},
      {"5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "not an EVM address"},
      {"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", "not a hex digit"},
      {"0x0000000000000000000000000000000000000000", "zero address"},
  };
  for (const Bad& b : bads) {
    Result<std::string> r = manifest::ParseAddress(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_EQ(r.status().code(), Code::BadAddress);
    EXPECT_NE(r.status().detail().find(b.needle), std::string::npos) << r.status().detail();
  }
}

TEST(ManifestValues, Uint256AndHex) {
  EXPECT_EQ(manifest::NormalizeUint256("000123"), "123");
  EXPECT_EQ(manifest::NormalizeUint256("0"), "0");
  EXPECT_EQ(manifest::NormalizeUint256(manifest::kUint256Max), manifest::kUint256Max);
  EXPECT_EQ(manifest::NormalizeUint256(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
            "");
  EXPECT_EQ(manifest::NormalizeUint256("-1"), "");
  EXPECT_EQ(manifest::NormalizeUint256(""), "");
  EXPECT_EQ(manifest::NormalizeHex("ABCDEF0123456789abcdef0123456789", 32),
            "abcdef0123456789abcdef0123456789");
  EXPECT_EQ(manifest::NormalizeHex("abc", 32), "");
  size_t bad = 0;
  EXPECT_TRUE(manifest::IsValidUtf8("héllo ✓ 𝄞", &bad));
  EXPECT_FALSE(manifest::IsValidUtf8("ab\xC0\xAF", &bad));  // overlong '/'
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(manifest::IsValidUtf8("\xED\xA0\x80", &bad));  // surrogate
  EXPECT_FALSE(manifest::IsValidUtf8("\xE2\x82", &bad));      // truncated
  EXPECT_EQ(manifest::CountCodePoints("héllo ✓ 𝄞"), 9u);
}

// ---------------------------------------------------------------------------------------------
// Whole manifests.

TEST(ManifestYaml, BaseParsesToExpectedJson) {
  Result<AuthoredManifest> r = Parse(kBase);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  json expected = json::parse(R"({
    "title": "Midnight Train",
    "creator": {"name": "The Lanterns", "address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"},
    "royalties": {
      "splits": [
        {"role": "creator", "address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
         "share_ppm": 700000},
        {"role": "publisher", "address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
         "share_ppm": 300000}
      ],
      "resale_royalty_ppm": 0
    },
    "models": [
      {"type": "buy",
       "price": {"amount": "9.99", "currency": "ELA", "decimals": 18,
                 "base_units": "9990000000000000000"}}
    ]
  })");
  EXPECT_EQ(r->json, expected) << r->json.dump(2);
  EXPECT_FALSE(r->free);
  EXPECT_FALSE(r->has_signing_key);
  EXPECT_FALSE(r->preview.has_value());
}

TEST(ManifestYaml, FullManifestAllFields) {
  const std::string yaml = R"(title: "Song"
description: |
  Line one.
  Line two.
creator:
  name: A
  address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed
  signing_key: ed25519:290D5037B4851AE52027377D747BA17F5F3BA3E778E97B9930B68C8960091583
royalties:
  splits:
    - {role: creator, name: "A", address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed, share: 12.5%}
    - {role: investor, address: 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359, share: 700 bps}
    - {role: other, address: 0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb, share: "0.0001%"}
    - {role: distributor, address: 0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb, share: 80.4999%}
  resale_royalty: 250 bps
models:
  - type: buy
    price: 9.99
    currency: ELA
    supply: 1000
  - type: resale
    reseller_cut: 10%
    price: "12"
    currency: USDC
    decimals: 6
  - type: pay_per_view
    price: "0.5"
    currency: ELA
    decimals: 2
    plays: 3
  - type: rental
    price: "1"
    currency: ELA
    duration: 48h
    from_first_play: true
  - type: subscription
    price: "4"
    currency: ELA
    period: 30d
preview: 1m30s
chain:
  chain_id: 21
  contract: 0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb
  token_id: "000115792089237316195423570985008687907853269984665640564039457584007913129639935"
)";
  Result<AuthoredManifest> r = Parse(yaml);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  const json& j = r->json;
  EXPECT_EQ(j["description"], "Line one.\nLine two.\n");
  EXPECT_EQ(j["creator"]["ed25519"],
            "290d5037b4851ae52027377d747ba17f5f3ba3e778e97b9930b68c8960091583");
  EXPECT_TRUE(r->has_signing_key);
  const json& splits = j["royalties"]["splits"];
  ASSERT_EQ(splits.size(), 4u);
  EXPECT_EQ(splits[0]["share_ppm"], 125000);
  EXPECT_EQ(splits[0]["name"], "A");
  EXPECT_EQ(splits[1]["share_ppm"], 70000);
  EXPECT_FALSE(splits[1].contains("name"));
  EXPECT_EQ(splits[2]["share_ppm"], 1);
  EXPECT_EQ(splits[3]["share_ppm"], 804999);
  EXPECT_EQ(splits[3]["role"], "distributor");  // authored order is kept
  EXPECT_EQ(j["royalties"]["resale_royalty_ppm"], 25000);
  const json& m = j["models"];
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], json::parse(R"({"type":"buy","supply":1000,"price":{"amount":"9.99",
      "currency":"ELA","decimals":18,"base_units":"9990000000000000000"}})"));
  EXPECT_EQ(m[1], json::parse(R"({"type":"resale","reseller_cut_ppm":100000,"price":{
      "amount":"12","currency":"USDC","decimals":6,"base_units":"12000000"}})"));
  EXPECT_EQ(m[2], json::parse(R"({"type":"pay_per_view","plays":3,"price":{"amount":"0.5",
      "currency":"ELA","decimals":2,"base_units":"50"}})"));
  EXPECT_EQ(m[3], json::parse(R"({"type":"rental","duration_s":172800,"from_first_play":true,
      "price":{"amount":"1","currency":"ELA","decimals":18,"base_units":"1000000000000000000"}})"));
  EXPECT_EQ(m[4], json::parse(R"({"type":"subscription","period_s":2592000,"price":{
      "amount":"4","currency":"ELA","decimals":18,"base_units":"4000000000000000000"}})"));
  EXPECT_EQ(j["preview"], json::parse(R"({"milliseconds":90000})"));
  ASSERT_TRUE(r->preview.has_value());
  EXPECT_EQ(r->preview->unit, PreviewRequest::Unit::kMilliseconds);
  EXPECT_EQ(r->preview->amount, 90000u);
  EXPECT_EQ(j["chain"], json::parse(R"({"chain_id":21,
      "contract":"0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb",
      "token_id":"115792089237316195423570985008687907853269984665640564039457584007913129639935"})"));
  EXPECT_FALSE(r->free);
}

// No number in the JSON is a float, and none exceeds 2^53 - 1.
void ExpectNoFloats(const json& j) {
  if (j.is_number()) {
    EXPECT_FALSE(j.is_number_float()) << j.dump();
    if (j.is_number_unsigned()) {
      EXPECT_LE(j.get<uint64_t>(), manifest::kMaxJsonInteger);
    }
  }
  if (j.is_structured())
    for (const json& v : j) ExpectNoFloats(v);
}

TEST(ManifestYaml, DefaultsAndFreeModels) {
  Result<AuthoredManifest> r = Parse(WithLines(14, 16, "  - type: free"));
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_TRUE(r->free);
  EXPECT_EQ(r->json["models"], json::parse(R"([{"type":"free"}])"));

  r = Parse(BaseWithoutModels() +
            "models:\n  - type: free_with_ads\n    ad_capsule: 2856095450899FDED41E26C1801DB9B5\n"
            "chain:\n  contract: 0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb\n"
            "preview:\n  characters: 500\n");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_TRUE(r->free);
  EXPECT_EQ(r->json["models"][0]["ad_capsule_id"], "2856095450899fded41e26c1801db9b5");
  EXPECT_EQ(r->json["chain"]["chain_id"], 20);
  EXPECT_EQ(r->json["chain"]["token_id"], "derive");
  EXPECT_EQ(r->json["preview"], json::parse(R"({"characters":500})"));
  EXPECT_EQ(r->preview->unit, PreviewRequest::Unit::kCharacters);
  ExpectNoFloats(r->json);
}

TEST(ManifestYaml, PlainScalarsKeepTheirText) {
  // `title: 1984` is the string "1984"; a plain float price is read as its literal text, which
  // a double could not hold.
  std::string yaml = Replace(WithLine(1, "title: 1984"), "price: \"9.99\"",
                             "price: 0.1000000000000000055511151231257827\n    decimals: 36");
  Result<AuthoredManifest> r = Parse(yaml);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->json["title"], "1984");
  EXPECT_EQ(r->json["models"][0]["price"]["amount"], "0.1000000000000000055511151231257827");
  EXPECT_EQ(r->json["models"][0]["price"]["base_units"], "100000000000000005551115123125782700");
  ExpectNoFloats(r->json);
}

TEST(ManifestYaml, Utf8BomAndCrlfAccepted) {
  std::string yaml = "\xEF\xBB\xBF";
  for (char c : std::string(kBase)) {
    if (c == '\n') yaml += '\r';
    yaml += c;
  }
  Result<AuthoredManifest> r = Parse(yaml);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->json["title"], "Midnight Train");
}

TEST(ManifestYaml, TextPreviewLines) {
  Result<AuthoredManifest> r = Parse(std::string(kBase) + "preview: {lines: 20}\n");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ(r->preview->unit, PreviewRequest::Unit::kLines);
  EXPECT_EQ(r->preview->amount, 20u);
  EXPECT_EQ(r->json["preview"], json::parse(R"({"lines":20})"));
}

// ---------------------------------------------------------------------------------------------
// Errors: code and position.

TEST(ManifestYamlErrors, WrongSplitSum) {
  ExpectError(WithLine(12, "      share: 29.5%"), Code::BadSplitSum, 6, 3, "99.5% (0.5% missing)");
  ExpectError(WithLine(12, "      share: 31%"), Code::BadSplitSum, 6, 3, "101% (1% too much)");
}

TEST(ManifestYamlErrors, EmptySplits) {
  ExpectError(WithLines(6, 12, "  splits: []"), Code::BadSplitSum, 6, 3, "empty");
  ExpectError(WithLines(6, 12, ""), Code::YamlType, 5, 1, "is empty");
}

TEST(ManifestYamlErrors, BadAddress) {
  ExpectError(WithLine(4, "  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"), Code::BadAddress,
              4, 12, "39 hex digits");
  ExpectError(WithLine(11, "      address: alice.eth"), Code::BadAddress, 11, 16,
              "not an EVM address");
}

TEST(ManifestYamlErrors, BadChecksum) {
  ExpectError(WithLine(11, "      address: 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5D359"),
              Code::BadAddress, 11, 16, "EIP-55");
}

TEST(ManifestYamlErrors, DuplicateRecipientIgnoresCase) {
  ExpectError(WithLine(11, "      address: 0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"),
              Code::DuplicateRecipient, 11, 16, "line 8, column 16");
}

TEST(ManifestYamlErrors, UnknownKeys) {
  ExpectError(WithLine(1, "titel: Midnight Train"), Code::YamlUnknownKey, 1, 1,
              "did you mean `title`?");
  ExpectError(WithLine(3, "  name: X\n  email: x@example.com"), Code::YamlUnknownKey, 4, 3,
              "expected one of: name, address, signing_key");
  ExpectError(std::string(kBase) + "    plays: 3\n", Code::YamlUnknownKey, 17, 5,
              "in a `buy` model");
  ExpectError(WithLine(9, "      share: 70%\n      percent: 1"), Code::YamlUnknownKey, 10, 7);
}

TEST(ManifestYamlErrors, DuplicateKeys) {
  ExpectError(WithLine(1, "title: A\ntitle: B"), Code::YamlDuplicateKey, 2, 1,
              "first at line 1, column 1");
  ExpectError(WithLine(16, "    currency: ELA\n    currency: USDC"), Code::YamlDuplicateKey, 17, 5,
              "first at line 16, column 5");
  // Flow maps too.
  ExpectError(WithLines(14, 16, "  - {type: buy, type: rental}"), Code::YamlDuplicateKey, 14, 17);
  // Quoting does not make a different key.
  ExpectError(WithLine(1, "title: A\n\"title\": B"), Code::YamlDuplicateKey, 2, 1);
}

TEST(ManifestYamlErrors, DuplicateModelType) {
  ExpectError(std::string(kBase) + "  - type: buy\n    price: \"1\"\n    currency: ELA\n",
              Code::YamlDuplicateKey, 17, 11, "line 14, column 11");
}

TEST(ManifestYamlErrors, BadDuration) {
  ExpectError(
      WithLines(14, 16, "  - type: rental\n    price: \"1\"\n    currency: ELA\n    duration: 48"),
      Code::BadDuration, 17, 15, "has no unit");
  ExpectError(WithLines(14, 16,
                        "  - type: subscription\n    price: \"1\"\n    currency: ELA\n"
                        "    period: 1mo"),
              Code::BadDuration, 17, 13);
  ExpectError(std::string(kBase) + "preview: 1.5m\n", Code::BadDuration, 17, 10, "fraction");
  ExpectError(std::string(kBase) + "preview: 0s\n", Code::BadDuration, 17, 10, "zero");
}

TEST(ManifestYamlErrors, BadPrice) {
  ExpectError(WithLine(15, "    price: \"-1\""), Code::BadPrice, 15, 12, "negative");
  ExpectError(WithLine(15, "    price: 1e3"), Code::BadPrice, 15, 12, "exponent");
  ExpectError(WithLine(16, "    currency: USDC\n    decimals: 1"), Code::BadPrice, 15, 12,
              "2 fractional digits");
  ExpectError(WithLine(16, "    currency: ela"), Code::BadPrice, 16, 15, "uppercase");
  ExpectError(WithLine(16, "    currency: ELA\n    decimals: 37"), Code::BadPrice, 17, 15);
}

TEST(ManifestYamlErrors, NoBusinessModel) {
  ExpectError(BaseWithoutModels(), Code::NoBusinessModel, 1, 1, "missing key `models`");
  ExpectError(BaseWithoutModels() + "models: []\n", Code::NoBusinessModel, 13, 1, "empty");
  // Resale alone is not a way to get a token.
  ExpectError(BaseWithoutModels() + "models:\n  - type: resale\n    reseller_cut: 10%\n",
              Code::NoBusinessModel, 14, 11, "without `buy`");
}

TEST(ManifestYamlErrors, MixedFreeAndPaid) {
  ExpectError(std::string(kBase) + "  - type: free\n", Code::MixedFreeAndPaid, 17, 11,
              "line 14, column 11");
  ExpectError(BaseWithoutModels() + "models:\n  - type: free\n  - type: rental\n",
              Code::MixedFreeAndPaid, 15, 11, "`rental` cannot be combined with `free`");
  ExpectError(BaseWithoutModels() +
                  "models:\n  - type: free\n  - {type: free_with_ads, "
                  "ad_capsule: 2856095450899fded41e26c1801db9b5}\n",
              Code::MixedFreeAndPaid, 15, 12, "not both");
}

TEST(ManifestYamlErrors, UnitlessShare) {
  ExpectError(WithLine(9, "      share: 70"), Code::BadShare, 9, 14, "must end in % or bps");
  ExpectError(WithLine(9, "      share: \"70\""), Code::BadShare, 9, 14, "must end in % or bps");
}

TEST(ManifestYamlErrors, InexactAndZeroShares) {
  ExpectError(WithLine(9, "      share: 69.99999%"), Code::BadShare, 9, 14, "parts per million");
  ExpectError(WithLine(9, "      share: 0%"), Code::BadShare, 9, 14, "zero");
}

TEST(ManifestYamlErrors, MissingKeys) {
  ExpectError(WithLine(1, ""), Code::YamlMissingKey, 1, 1, "missing key `title`");
  ExpectError(WithLine(4, ""), Code::YamlMissingKey, 2, 1, "missing key `address`");
  ExpectError(WithLine(9, ""), Code::YamlMissingKey, 7, 7, "missing key `share`");
  ExpectError(WithLine(16, ""), Code::YamlMissingKey, 14, 5, "missing key `currency`");
  ExpectError(WithLine(15, ""), Code::YamlMissingKey, 14, 5, "missing key `price`");
  ExpectError(WithLine(14, "  - supply: 1"), Code::YamlMissingKey, 14, 5, "missing key `type`");
  ExpectError(WithLines(5, 12, ""), Code::YamlMissingKey, 1, 1, "missing key `royalties`");
  ExpectError(std::string(kBase) + "chain:\n  chain_id: 21\n", Code::YamlMissingKey, 17, 1,
              "missing key `contract`");
}

TEST(ManifestYamlErrors, Types) {
  ExpectError(WithLine(1, "title: [a, b]"), Code::YamlType, 1, 8, "is a list");
  ExpectError(WithLine(1, "title:"), Code::YamlType, 1, 1, "is empty");
  ExpectError(WithLine(1, "title: \"  \""), Code::YamlType, 1, 8, "blank");
  ExpectError(WithLine(1, "title: " + std::string(201, 'x')), Code::YamlType, 1, 8,
              "201 characters");
  ExpectError(WithLine(7, "    - role: singer"), Code::YamlType, 7, 13, "expected one of");
  ExpectError(WithLine(14, "  - type: rent"), Code::YamlType, 14, 11, "did you mean");
  ExpectError(std::string(kBase) + "    supply: \"10\"\n", Code::YamlType, 17, 13, "quoted");
  ExpectError(std::string(kBase) + "    supply: 0\n", Code::YamlType, 17, 13, "out of range");
  ExpectError(std::string(kBase) + "    supply: 010\n", Code::YamlType, 17, 13, "leading zero");
  ExpectError(std::string(kBase) + "    supply: 0x10\n", Code::YamlType, 17, 13);
  ExpectError(WithLine(3, "  name: X\n  signing_key: ed25519:abcd"), Code::YamlType, 4, 16,
              "64 hex digits");
  ExpectError(std::string(kBase) +
                  "chain:\n  contract: 0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"
                  "\n  token_id: -1\n",
              Code::YamlType, 19, 13, "derive");
  ExpectError("- a\n- b\n", Code::YamlType, 1, 1, "is a list");
  ExpectError("", Code::YamlType, 1, 1, "empty");
  ExpectError("# just a comment\n", Code::YamlType, 1, 1, "empty");
}

TEST(ManifestYamlErrors, ModelFields) {
  ExpectError(WithLines(5, 5, "royalties:\n  resale_royalty: 100.5%"), Code::BadShare, 6, 19,
              "exceeds 100%");
  // A resale currency without a price.
  ExpectError(std::string(kBase) + "  - type: resale\n    reseller_cut: 5%\n    currency: ELA\n",
              Code::YamlMissingKey, 17, 5, "missing key `price`");
  ExpectError(std::string(kBase) + "  - type: resale\n", Code::YamlMissingKey, 17, 5,
              "missing key `reseller_cut`");
  ExpectError(std::string(kBase) + "  - type: resale\n    reseller_cut: 0 bps\n", Code::BadShare,
              18, 19, "zero");
  ExpectError(WithLines(14, 16, "  - type: pay_per_view\n    price: \"1\"\n    currency: ELA"),
              Code::YamlMissingKey, 14, 5, "missing key `plays`");
  ExpectError(WithLines(14, 16, "  - type: free_with_ads\n    ad_capsule: 1234"), Code::YamlType,
              15, 17, "32 hex digits");
  ExpectError(WithLines(14, 16, "  - type: free\n    price: \"1\""), Code::YamlUnknownKey, 15, 5,
              "in a `free` model");
  ExpectError(WithLines(14, 16, "  - buy"), Code::YamlType, 14, 5, "is `buy`");
  ExpectError(WithLines(2, 4, "creator: The Lanterns"), Code::YamlType, 2, 10, "expected a map");
}

TEST(ManifestYamlErrors, BoolMustBeUnquotedTrueFalse) {
  ExpectError(BaseWithoutModels() +
                  "models:\n  - type: rental\n    price: \"1\"\n    currency: ELA\n"
                  "    duration: 2d\n    from_first_play: yes\n",
              Code::YamlType, 18, 22, "true or false");
}

TEST(ManifestYamlErrors, Preview) {
  ExpectError(std::string(kBase) + "preview: {lines: 2, characters: 3}\n", Code::BadPreview, 17, 21,
              "both");
  ExpectError(std::string(kBase) + "preview: {lines: 0}\n", Code::BadPreview, 17, 18);
  ExpectError(std::string(kBase) + "preview: {seconds: 3}\n", Code::YamlUnknownKey, 17, 11);
  ExpectError(std::string(kBase) + "preview: [30s]\n", Code::YamlType, 17, 10);
}

TEST(ManifestYamlErrors, SyntaxWithPosition) {
  ExpectError(WithLine(3, "  name: X\n   address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
              Code::YamlSyntax, 4, 11);
  // yaml-cpp notices the missing `]` only at the next `:`.
  ExpectError(WithLine(1, "title: [unclosed"), Code::YamlSyntax, 2, 8, "end of sequence flow");
  // A quote never closed at all: yaml-cpp would read the rest of the file into it.
  ExpectError(WithLine(16, "    currency: \"ELA"), Code::YamlSyntax, 16, 15, "never closed");
  // A quote closed only by a later one: the error comes later, with a hint to the cause.
  ExpectError(WithLine(1, "title: \"Midnight Train"), Code::YamlSyntax, 15, 13,
              "opened at line 1, column 8");
  ExpectError(WithLine(16, "    currency: 'it''s"), Code::YamlSyntax, 16, 15, "never closed");
}

TEST(ManifestYamlErrors, AnchorsAliasesTagsAndDocuments) {
  ExpectError(WithLine(4, "  address: &a 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
              Code::YamlSyntax, 4, 12, "anchors");
  // An alias needs an anchor, which is refused first; an undefined one is a YAML error.
  ExpectError(WithLine(8, "      address: *a"), Code::YamlSyntax, 8, 16);
  ExpectError(WithLine(1, "title: !!str Midnight"), Code::YamlSyntax, 1, 8, "tags");
  ExpectError(WithLine(1, "title: !custom Midnight"), Code::YamlSyntax, 1, 8, "tags");
  ExpectError(std::string(kBase) + "---\ntitle: again\n", Code::YamlSyntax, 17, 1,
              "second YAML document");
}

TEST(ManifestYamlErrors, ColumnsCountCharactersNotBytes) {
  // "é" is two bytes but one column: the bad address is at character column 29.
  ExpectError(
      WithLines(2, 4, "creator: {name: é, address: 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeX}"),
      Code::BadAddress, 2, 29, "not a hex digit");
  ExpectError(WithLine(1, "title: \"é\"\n\"ü\": 1"), Code::YamlUnknownKey, 2, 1);
}

TEST(ManifestYamlErrors, InvalidUtf8) {
  ExpectError(WithLine(3, "  name: The \xFFLanterns"), Code::YamlSyntax, 3, 13, "UTF-8");
}

TEST(ManifestYamlErrors, ControlCharacterInTitle) {
  ExpectError(WithLine(1, "title: \"a\\u0007b\""), Code::YamlType, 1, 8, "control character");
}

TEST(ManifestYaml, LoadFromFile) {
  std::string path = testing::TempDir() + "/manifest_yaml_test.yaml";
  {
    std::ofstream out(path, std::ios::binary);
    out << WithLine(9, "      share: 70");
  }
  Result<AuthoredManifest> bad = LoadManifestYaml(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::BadShare);
  EXPECT_EQ(bad.status().detail().substr(0, path.size() + 6), path + ":9:14:");
  std::remove(path.c_str());

  Result<AuthoredManifest> missing = LoadManifestYaml("/nonexistent/manifest.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::IoOpen);
  EXPECT_NE(missing.status().detail().find("/nonexistent/manifest.yaml"), std::string::npos);
}

// The schemas are valid JSON and name exactly the keys this reader accepts (a cheap guard
// against the code and the schema drifting apart; full validation is in the docs' checks).
json LoadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}
std::vector<std::string> Keys(const json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.push_back(it.key());
  return out;
}
using Names = std::vector<std::string>;

TEST(ManifestSchemas, InputSchemaMatchesReader) {
  json s = LoadJson(SourceDir() + "/schemas/manifest.schema.json");
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
  // json objects iterate in sorted order.
  EXPECT_EQ(Keys(s["properties"]),
            (Names{"chain", "creator", "description", "models", "preview", "royalties", "title"}));
  EXPECT_EQ(Keys(s["properties"]["creator"]["properties"]),
            (Names{"address", "name", "signing_key"}));
  EXPECT_EQ(Keys(s["properties"]["royalties"]["properties"]), (Names{"resale_royalty", "splits"}));
  EXPECT_EQ(Keys(s["properties"]["royalties"]["properties"]["splits"]["items"]["properties"]),
            (Names{"address", "name", "role", "share"}));
  EXPECT_EQ(Keys(s["properties"]["chain"]["properties"]),
            (Names{"chain_id", "contract", "token_id"}));
  const json& d = s["$defs"];
  EXPECT_EQ(Keys(d["buy"]["properties"]),
            (Names{"currency", "decimals", "price", "supply", "type"}));
  EXPECT_EQ(Keys(d["resale"]["properties"]),
            (Names{"currency", "decimals", "price", "reseller_cut", "type"}));
  EXPECT_EQ(Keys(d["pay_per_view"]["properties"]),
            (Names{"currency", "decimals", "plays", "price", "type"}));
  EXPECT_EQ(Keys(d["rental"]["properties"]),
            (Names{"currency", "decimals", "duration", "from_first_play", "price", "type"}));
  EXPECT_EQ(Keys(d["subscription"]["properties"]),
            (Names{"currency", "decimals", "period", "price", "type"}));
  EXPECT_EQ(Keys(d["free"]["properties"]), (Names{"type"}));
  EXPECT_EQ(Keys(d["free_with_ads"]["properties"]), (Names{"ad_capsule", "type"}));
}

TEST(ManifestSchemas, EmbeddedSchemaCoversReaderOutput) {
  json s = LoadJson(SourceDir() + "/schemas/capsule-manifest.schema.json");
  ASSERT_TRUE(s.is_object());
  // Every key the reader emits for the richest example is declared by the embedded schema.
  Result<AuthoredManifest> r = LoadManifestYaml(SourceDir() + "/examples/song-buy-resale.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& props = s["properties"];
  for (auto it = r->json.begin(); it != r->json.end(); ++it) {
    EXPECT_TRUE(props.contains(it.key())) << it.key();
  }
  for (auto it = r->json["creator"].begin(); it != r->json["creator"].end(); ++it) {
    EXPECT_TRUE(props["creator"]["properties"].contains(it.key())) << it.key();
  }
  for (const json& split : r->json["royalties"]["splits"]) {
    for (auto it = split.begin(); it != split.end(); ++it) {
      EXPECT_TRUE(
          props["royalties"]["properties"]["splits"]["items"]["properties"].contains(it.key()))
          << it.key();
    }
  }
  for (const json& model : r->json["models"]) {
    const json& def = s["$defs"][model["type"].get<std::string>()];
    for (auto it = model.begin(); it != model.end(); ++it) {
      EXPECT_TRUE(def["properties"].contains(it.key())) << model["type"] << "." << it.key();
    }
  }
  EXPECT_EQ(Keys(s["$defs"]["generated"]["properties"]),
            (Names{"chunk_count", "chunk_size", "content_key", "file_name", "format", "id",
                   "issuers", "key_commitment", "media", "plaintext_size", "preview", "suite"}));
}

// Every example in examples/ parses, and each business model shape appears at least once.
TEST(ManifestExamples, AllParse) {
  const std::string dir = SourceDir() + "/examples/";
  struct Example {
    const char* file;
    bool free;
    const char* first_model;
  } examples[] = {
      {"song-buy-resale.yaml", false, "buy"},
      {"audiobook-rental-ppv.yaml", false, "rental"},
      {"podcast-subscription.yaml", false, "subscription"},
      {"story-free-with-ads.yaml", true, "free_with_ads"},
      {"poem-free.yaml", true, "free"},
  };
  for (const Example& e : examples) {
    Result<AuthoredManifest> r = LoadManifestYaml(dir + e.file);
    ASSERT_TRUE(r.ok()) << e.file << ": " << r.status().ToString();
    EXPECT_EQ(r->free, e.free) << e.file;
    EXPECT_EQ(r->json["models"][0]["type"], e.first_model) << e.file;
    ExpectNoFloats(r->json);
  }
  Result<AuthoredManifest> song = LoadManifestYaml(dir + "song-buy-resale.yaml");
  ASSERT_TRUE(song.ok());
  EXPECT_EQ(song->json["royalties"]["splits"][1]["share_ppm"], 125000);
  EXPECT_EQ(song->json["royalties"]["splits"][2]["share_ppm"], 100000);
  EXPECT_EQ(song->json["royalties"]["resale_royalty_ppm"], 50000);
  EXPECT_EQ(song->json["models"][0]["price"]["base_units"], "9990000000000000000");
  EXPECT_TRUE(song->has_signing_key);
  Result<AuthoredManifest> book = LoadManifestYaml(dir + "audiobook-rental-ppv.yaml");
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(book->json["models"][0]["price"]["base_units"], "1500000");
  EXPECT_EQ(book->json["models"][0]["duration_s"], 172800);
  EXPECT_EQ(book->json["models"][0]["from_first_play"], true);
  EXPECT_EQ(book->json["preview"]["milliseconds"], 120000);
}

}  // namespace
}  // namespace capsule::packager
