// Unit tests of chain/: published vectors (Keccak-256, RLP from the Ethereum wiki, EIP-55,
// the Solidity ABI spec's examples, EIP-712's Mail example and its signature, ethereumjs'
// EIP-1559 vectors), strict-decoding rejections, and the JSON-RPC client against a tiny HTTP
// server on 127.0.0.1 run by the test itself. tests/node/eth_crosscheck.mjs compares the same
// code with ethers on random inputs.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "chain/abi.h"
#include "chain/access_token.h"
#include "chain/contract_errors.h"
#include "chain/eip712.h"
#include "chain/rlp.h"
#include "chain/rpc.h"
#include "chain/secp256k1.h"
#include "chain/tx.h"
#include "chain/u256.h"
#include "format/bytes.h"
#include "format/keccak.h"

using namespace capsule;         // NOLINT
using namespace capsule::chain;  // NOLINT
using format::Bytes;
using format::HexDecode;
using format::HexEncode;

namespace {

Bytes Hex(std::string_view s) {
  if (s.substr(0, 2) == "0x") s.remove_prefix(2);
  auto b = HexDecode(s);
  EXPECT_TRUE(b.has_value()) << s;
  return b ? *b : Bytes();
}

template <size_t N>
std::array<uint8_t, N> Fixed(std::string_view s) {
  Bytes b = Hex(s);
  std::array<uint8_t, N> out{};
  EXPECT_EQ(b.size(), N) << s;
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

Address Addr(std::string_view s) { return Fixed<20>(s); }

std::string HexOf(const Bytes& b) { return HexEncode(b); }
Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

const char kMax256[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

}  // namespace

// ---- Keccak-256 and EIP-55 ----

TEST(Chain, Keccak256Vectors) {
  EXPECT_EQ(HexEncode(format::Keccak256("")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(HexEncode(format::Keccak256("abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // The transfer(address,uint256) selector every ERC-20 tool prints.
  auto sel = chain::abi::Selector("transfer(address,uint256)");
  EXPECT_EQ(HexEncode(sel), "a9059cbb");
  EXPECT_EQ(HexEncode(chain::abi::Selector("balanceOf(address)")), "70a08231");
}

TEST(Chain, Eip55Vectors) {
  // EIP-55's own examples: mixed case round-trips; all caps and all lower carry no checksum.
  for (const char* a :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    auto b = format::ParseEvmAddress(a);
    ASSERT_TRUE(b) << a;
    EXPECT_EQ(format::EvmAddressChecksum(*b), a);
  }
  for (const char* a :
       {"0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26"}) {
    EXPECT_TRUE(format::ParseEvmAddress(a)) << a;
  }
  EXPECT_FALSE(format::ParseEvmAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"));
}

// ---- U256 ----

TEST(Chain, U256DecimalRoundTrip) {
  for (const char* d : {"0", "1", "255", "256", "18446744073709551615", "18446744073709551616",
                        "5233100606242806050955395731361295", kMax256}) {
    auto u = U256::FromDecimal(d);
    ASSERT_TRUE(u) << d;
    EXPECT_EQ(u->ToDecimal(), d);
  }
  EXPECT_EQ(U256::FromDecimal(kMax256)->ToHex64(), std::string(64, 'f'));
  EXPECT_EQ(U256::FromDecimal("0000042")->ToDecimal(), "42");  // leading zeros accepted
  EXPECT_EQ(U256::FromDecimal("18446744073709551616")->ToQuantity(), "0x10000000000000000");
  // docs/spec/chain.md §2 example: capsule id 00..0f as a token id.
  EXPECT_EQ(U256::FromDecimal("5233100606242806050955395731361295")->ToHex64(),
            "00000000000000000000000000000000000102030405060708090a0b0c0d0e0f");
}

TEST(Chain, U256DecimalRejects) {
  // 2^256 and beyond overflow; anything but plain digits is refused.
  for (const char* d :
       {"115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "1157920892373161954235709850086879078532699846656405640394575840079131296399350", "", "+1",
        "-1", " 1", "1 ", "1a", "0x10", "1e3", "1.0"}) {
    EXPECT_FALSE(U256::FromDecimal(d)) << d;
  }
}

TEST(Chain, U256Hex) {
  EXPECT_EQ(U256::FromHex("0x0")->ToDecimal(), "0");
  EXPECT_EQ(U256::FromHex("0x1a")->ToDecimal(), "26");
  EXPECT_EQ(U256::FromHex("0x1A")->ToDecimal(), "26");
  EXPECT_EQ(U256::FromHex("0x" + std::string(64, 'f'))->ToDecimal(), kMax256);
  for (const char* q : {"0x", "0x00", "0x01", "0X1", "1a", "0x1g", "", "0x-1", " 0x1"}) {
    EXPECT_FALSE(U256::FromHex(q)) << q;
  }
  EXPECT_FALSE(U256::FromHex("0x1" + std::string(64, '0')));  // 2^256
  // Non-strict: leading zeros allowed, still at most 64 digits.
  EXPECT_EQ(U256::FromHex("0x00ff", false)->ToDecimal(), "255");
  EXPECT_EQ(U256::FromHex("0x" + std::string(64, '0'), false)->ToDecimal(), "0");
  EXPECT_FALSE(U256::FromHex("0x" + std::string(65, '0'), false));
  EXPECT_FALSE(U256::FromHex("0x", false));

  EXPECT_EQ(U256().ToQuantity(), "0x0");
  EXPECT_EQ(U256::FromU64(1024).ToQuantity(), "0x400");
  EXPECT_EQ(HexOf(U256::FromU64(1024).Minimal()), "0400");
  EXPECT_TRUE(U256().Minimal().empty());
  EXPECT_TRUE(U256().IsZero());
  EXPECT_TRUE(U256::FromDecimal("18446744073709551615")->FitsU64());
  EXPECT_EQ(U256::FromDecimal("18446744073709551615")->ToU64(), UINT64_MAX);
  EXPECT_FALSE(U256::FromDecimal("18446744073709551616")->FitsU64());
  EXPECT_LT(U256::FromU64(255), U256::FromU64(256));
  Bytes b33(33, 0);
  EXPECT_FALSE(U256::FromBigEndian(b33));
  EXPECT_EQ(U256::FromBigEndian(Hex("0102"))->ToU64(), 0x0102u);
}

// ---- RLP (Ethereum wiki "RLP" examples) ----

TEST(Chain, RlpVectors) {
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Str("dog"))), "83646f67");
  EXPECT_EQ(HexOf(rlp::EncodeList({rlp::EncodeBytes(Str("cat")), rlp::EncodeBytes(Str("dog"))})),
            "c88363617483646f67");
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Bytes())), "80");
  EXPECT_EQ(HexOf(rlp::EncodeList({})), "c0");
  EXPECT_EQ(HexOf(rlp::EncodeUint(uint64_t{0})), "80");
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Hex("00"))), "00");
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Hex("0f"))), "0f");
  EXPECT_EQ(HexOf(rlp::EncodeUint(uint64_t{15})), "0f");
  EXPECT_EQ(HexOf(rlp::EncodeUint(uint64_t{1024})), "820400");
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Hex("0400"))), "820400");
  EXPECT_EQ(HexOf(rlp::EncodeUint(uint64_t{0x80})), "8180");
  EXPECT_EQ(HexOf(rlp::EncodeUint(*U256::FromDecimal(kMax256))), "a0" + std::string(64, 'f'));
  // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
  Bytes empty = rlp::EncodeList({});
  Bytes one = rlp::EncodeList({empty});
  Bytes two = rlp::EncodeList({empty, one});
  EXPECT_EQ(HexOf(rlp::EncodeList({empty, one, two})), "c7c0c1c0c3c0c1c0");
  // A 56-byte string takes the long form.
  std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  ASSERT_EQ(lorem.size(), 56u);
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Str(lorem))), "b838" + HexEncode(format::AsBytes(lorem)));
  // A 55-byte string is still short; a list of 56 payload bytes is long.
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Bytes(55, 'a'))).substr(0, 2), "b7");
  EXPECT_EQ(HexOf(rlp::EncodeList({rlp::EncodeBytes(Str(lorem.substr(0, 55)))})).substr(0, 4),
            "f838");
  // A 1024-byte string: two length bytes.
  EXPECT_EQ(HexOf(rlp::EncodeBytes(Bytes(1024, 1))).substr(0, 6), "b90400");
}

// ---- ABI (Solidity "Contract ABI Specification" examples) ----

TEST(Chain, AbiEncodeSpecExamples) {
  // baz(uint32,bool) with 69, true.
  EXPECT_EQ(HexOf(chain::abi::Encoder("baz(uint32,bool)").Uint(69).Bool(true).Finish()),
            "cdcd77c0"
            "0000000000000000000000000000000000000000000000000000000000000045"
            "0000000000000000000000000000000000000000000000000000000000000001");
  // sam(bytes,bool,uint256[]) with "dave", true, [1,2,3]: a string and bytes encode alike.
  const std::string sam =
      "a5643bf2"
      "0000000000000000000000000000000000000000000000000000000000000060"
      "0000000000000000000000000000000000000000000000000000000000000001"
      "00000000000000000000000000000000000000000000000000000000000000a0"
      "0000000000000000000000000000000000000000000000000000000000000004"
      "6461766500000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000003"
      "0000000000000000000000000000000000000000000000000000000000000001"
      "0000000000000000000000000000000000000000000000000000000000000002"
      "0000000000000000000000000000000000000000000000000000000000000003";
  EXPECT_EQ(HexOf(chain::abi::Encoder("sam(bytes,bool,uint256[])")
                      .String("dave")
                      .Bool(true)
                      .UintArray({1, 2, 3})
                      .Finish()),
            sam);
  // The same words decode back.
  Bytes args = Hex(sam.substr(8));
  auto d = chain::abi::Decoder::Create(args, 3, /*exact=*/false);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(*d->Bool(1));
  auto arr = d->UintArray(2);
  ASSERT_TRUE(arr.ok()) << arr.status().ToString();
  ASSERT_EQ(arr->size(), 3u);
  EXPECT_EQ((*arr)[2].ToU64(), 3u);
  EXPECT_EQ(d->Uint(0)->ToU64(), 0x60u);

  // An address array and an empty string: offsets, lengths, padding.
  Address a1 = Addr("0x00000000000000000000000000000000000000aa");
  Bytes enc = chain::abi::Encoder("f(address[],string,address)")
                  .AddressArray({a1, a1})
                  .String("")
                  .Address(a1)
                  .Finish();
  EXPECT_EQ(enc.size(), 4u + 32 * (3 + 3 + 1));
  auto d2 = chain::abi::Decoder::Create(Bytes(enc.begin() + 4, enc.end()), 3, false);
  ASSERT_TRUE(d2.ok());
  auto addrs = d2->AddressArray(0);
  ASSERT_TRUE(addrs.ok()) << addrs.status().ToString();
  EXPECT_EQ(addrs->size(), 2u);
  EXPECT_EQ((*addrs)[1], a1);
  EXPECT_EQ(d2->Uint(1)->ToU64(), 0xc0u);  // 3 head words, then the array's 3 words
  EXPECT_EQ(*d2->Address(2), a1);
}

namespace {
Bytes Word(std::string_view hex64_suffix) {
  std::string w(64 - hex64_suffix.size(), '0');
  return Hex(w + std::string(hex64_suffix));
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
void ExpectBad(const Status& s, std::string_view needle) {
  EXPECT_EQ(s.code(), Code::ChainBadResponse) << s.ToString();
  EXPECT_NE(s.detail().find(needle), std::string::npos) << s.detail();
}
}  // namespace

TEST(Chain, AbiDecoderIsStrict) {
  // Length: not whole words, not exactly the expected size, too short.
  ExpectBad(chain::abi::Decoder::Create(Bytes(31, 0), 1).status(), "whole number");
  ExpectBad(chain::abi::Decoder::Create(Bytes(64, 0), 1).status(), "expected 32 bytes, got 64");
  ExpectBad(chain::abi::Decoder::Create(Bytes(32, 0), 2, false).status(), "at least 64");
  ExpectBad(chain::abi::Decoder::Create(Bytes(), 1).status(), "expected 32 bytes, got 0");
  EXPECT_TRUE(chain::abi::Decoder::Create(Bytes(64, 0), 1, false).ok());

  // bool: only 0 and 1.
  for (const char* w : {"02", "ff", "0100"}) {
    auto d = chain::abi::Decoder::Create(Word(w), 1);
    ASSERT_TRUE(d.ok());
    ExpectBad(d->Bool(0).status(), "neither 0 nor 1");
  }
  Bytes dirty_bool = Word("01");
  dirty_bool[0] = 1;
  ExpectBad(chain::abi::Decoder::Create(dirty_bool, 1)->Bool(0).status(), "neither 0 nor 1");
  EXPECT_FALSE(*chain::abi::Decoder::Create(Word("00"), 1)->Bool(0));
  EXPECT_TRUE(*chain::abi::Decoder::Create(Word("01"), 1)->Bool(0));

  // address: the upper 12 bytes must be zero.
  Bytes addr = Word("aa");
  addr[11] = 1;
  ExpectBad(chain::abi::Decoder::Create(addr, 1)->Address(0).status(), "nonzero upper");
  EXPECT_TRUE(chain::abi::Decoder::Create(Word("aa"), 1)->Address(0).ok());

  // Word index out of range.
  ExpectBad(chain::abi::Decoder::Create(Word("01"), 1)->Uint(1).status(), "past the end");

  // Dynamic arrays: offset past the end, misaligned, astronomically large; length too long.
  auto arr = [](const Bytes& data) { return chain::abi::Decoder::Create(data, 1, false); };
  ExpectBad(arr(Cat({Word("40"), Word("00")}))->UintArray(0).status(), "past the end");
  ExpectBad(arr(Cat({Word("10"), Word("00"), Word("00")}))->UintArray(0).status(),
            "not word-aligned");
  ExpectBad(arr(Cat({Word("8" + std::string(63, '0')), Word("00")}))->UintArray(0).status(),
            "past the end");
  ExpectBad(arr(Cat({Word("20"), Word("02"), Word("01")}))->UintArray(0).status(),
            "array length 2 exceeds the 1 words");
  ExpectBad(arr(Cat({Word("20"), Word("ff" + std::string(62, '0'))}))->AddressArray(0).status(),
            "exceeds");
  // An array element that is a dirty address.
  Bytes bad_elem = Cat({Word("20"), Word("01"), Word("aa")});
  bad_elem[64] = 0xff;
  ExpectBad(arr(bad_elem)->AddressArray(0).status(), "element 0: address has nonzero upper");
  // Empty array at the very end is fine.
  auto empty = arr(Cat({Word("20"), Word("00")}))->UintArray(0);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
}

// ---- secp256k1 and EIP-712 (EIP-712's Mail example) ----

namespace {

using capsule::chain::Hash32;

Hash32 KeccakWords(std::initializer_list<Hash32> words) {
  Bytes b;
  for (const auto& w : words) b.insert(b.end(), w.begin(), w.end());
  return format::Keccak256(b.data(), b.size());
}
Hash32 Padded(const Address& a) {
  Hash32 w{};
  std::copy(a.begin(), a.end(), w.begin() + 12);
  return w;
}
// A test-only encoder for the Mail example's two struct types (the library has fixed types).
Hash32 HashPerson(std::string_view name, const Address& wallet) {
  return KeccakWords({format::Keccak256("Person(string name,address wallet)"),
                      format::Keccak256(name), Padded(wallet)});
}
Hash32 HashMail(const Hash32& from, const Hash32& to, std::string_view contents) {
  return KeccakWords({format::Keccak256("Mail(Person from,Person to,string contents)"
                                        "Person(string name,address wallet)"),
                      from, to, format::Keccak256(contents)});
}

eip712::Domain MailDomain() {
  eip712::Domain d;
  d.name = "Ether Mail";
  d.version = "1";
  d.chain_id = 1;
  d.verifying_contract = Addr("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC");
  return d;
}

const char kMailSig[] =
    "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
    "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"
    "1c";

}  // namespace

TEST(Chain, Eip712MailExample) {
  eip712::Domain domain = MailDomain();
  EXPECT_EQ(HexEncode(domain.Separator()),
            "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  Hash32 mail = HashMail(HashPerson("Cow", Addr("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")),
                         HashPerson("Bob", Addr("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB")),
                         "Hello, Bob!");
  EXPECT_EQ(HexEncode(mail), "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  Hash32 digest = eip712::Digest(domain, mail);
  EXPECT_EQ(HexEncode(digest), "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

  // The EIP's signature by keccak256("cow"): RFC 6979 makes ours byte-identical.
  Hash32 cow = format::Keccak256("cow");
  auto sig = SignDigest(cow.data(), digest);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(HexOf(sig->ToRsv()), kMailSig);
  auto who = RecoverAddress(digest, *sig);
  ASSERT_TRUE(who);
  EXPECT_EQ(format::EvmAddressChecksum(*who), "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
  EXPECT_EQ(AddressOfSecret(cow.data()), who);
  auto parsed = ParseRsv(Hex(kMailSig));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->y_parity, 1);
  EXPECT_EQ(RecoverAddress(digest, *parsed), who);
  // A different digest recovers someone else.
  Hash32 other = digest;
  other[0] ^= 1;
  EXPECT_NE(RecoverAddress(other, *parsed), who);
}

TEST(Chain, Eip712DomainsAndJson) {
  eip712::Domain plain;
  EXPECT_EQ(plain.TypesJson().size(), 2u);
  EXPECT_EQ(plain.ToJson().dump(), R"({"name":"Capsule SDK","version":"1"})");
  // Separator of name+version only: keccak(typeHash ‖ keccak(name) ‖ keccak(version)).
  EXPECT_EQ(plain.Separator(),
            KeccakWords({format::Keccak256("EIP712Domain(string name,string version)"),
                         format::Keccak256("Capsule SDK"), format::Keccak256("1")}));
  eip712::Domain full = MailDomain();
  EXPECT_EQ(
      full.TypesJson().dump(),
      R"([{"name":"name","type":"string"},{"name":"version","type":"string"},)"
      R"({"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}])");
  EXPECT_EQ(full.ToJson()["chainId"], 1);
  EXPECT_EQ(full.ToJson()["verifyingContract"], "0xcccccccccccccccccccccccccccccccccccccccc");

  eip712::CreatorBinding b;
  b.creator = Addr("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
  b.signing_key.fill(0xab);
  EXPECT_EQ(b.ToJson()["creator"], "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826");
  std::string ab;
  for (int i = 0; i < 32; ++i) ab += "ab";
  EXPECT_EQ(b.ToJson()["signingKey"], "0x" + ab);
  EXPECT_EQ(b.StructHash(), KeccakWords({format::Keccak256(eip712::CreatorBinding::kType),
                                         Padded(b.creator), b.signing_key}));

  eip712::LicenseRequest r;
  r.token_id = *U256::FromDecimal(kMax256);
  r.nonce = U256::FromU64(7);
  r.expiry = 1893456000;
  r.model = "rent";
  nlohmann::json j = r.ToJson();
  EXPECT_EQ(j["tokenId"], kMax256);  // uint256 as a decimal string
  EXPECT_EQ(j["nonce"], "7");
  EXPECT_TRUE(j["expiry"].is_number_unsigned());
  EXPECT_EQ(j["expiry"], 1893456000);
  EXPECT_EQ(j["model"], "rent");
  EXPECT_EQ(j.size(), 8u);
}

TEST(Chain, ParseRsvRejects) {
  Bytes good = Hex(kMailSig);
  EXPECT_TRUE(ParseRsv(good));
  for (uint8_t v : {0, 1, 27, 28}) {
    Bytes s = good;
    s[64] = v;
    auto p = ParseRsv(s);
    ASSERT_TRUE(p) << int(v);
    EXPECT_EQ(p->y_parity, (v == 1 || v == 28) ? 1 : 0);
  }
  for (uint8_t v : {2, 26, 29, 35, 37, 255}) {
    Bytes s = good;
    s[64] = v;
    EXPECT_FALSE(ParseRsv(s)) << int(v);
  }
  EXPECT_FALSE(ParseRsv(Bytes(good.begin(), good.end() - 1)));
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(ParseRsv(longer));

  const std::string n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
  const std::string half = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
  const std::string half1 = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1";
  auto with = [&](std::string r, std::string s) { return ParseRsv(Hex(r + s + "1b")); };
  std::string r = std::string(kMailSig).substr(0, 64);
  std::string s = std::string(kMailSig).substr(64, 64);
  EXPECT_FALSE(with(std::string(64, '0'), s));  // r = 0
  EXPECT_FALSE(with(r, std::string(64, '0')));  // s = 0
  EXPECT_FALSE(with(n, s));                     // r = n
  EXPECT_FALSE(with(std::string(64, 'f'), s));  // r > n
  EXPECT_FALSE(with(r, half1));                 // s = n/2 + 1: high
  EXPECT_TRUE(with(r, half));                   // s = ⌊n/2⌋: the largest low s
  EXPECT_TRUE(with(std::string(63, '0') + "1", s));

  // The malleated twin (n − s, flipped parity) of a valid signature is refused.
  auto sn = *U256::FromHex("0x" + n);
  auto ss = *U256::FromHex("0x" + s, false);
  U256 neg;  // n − s by byte-wise subtraction
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int v = int(sn.be[i]) - int(ss.be[i]) - borrow;
    borrow = v < 0;
    neg.be[i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
  }
  EXPECT_FALSE(ParseRsv(Hex(r + neg.ToHex64() + "1b")));
  // A hand-made struct with a high s does not recover either.
  RecoverableSignature high = *ParseRsv(good);
  high.s = neg.be;
  high.y_parity ^= 1;
  EXPECT_FALSE(RecoverAddress(Hash32{}, high));
}

TEST(Chain, SignRejectsBadSecret) {
  uint8_t zero[32] = {0};
  EXPECT_FALSE(SignDigest(zero, Hash32{}).ok());
  EXPECT_FALSE(AddressOfSecret(zero));
  auto n = Fixed<32>("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  EXPECT_FALSE(SignDigest(n.data(), Hash32{}).ok());
}

// ---- EIP-1559 (ethereumjs' eip1559.json vectors, chain id 7822) ----

TEST(Chain, Eip1559Vectors) {
  struct Vector {
    uint64_t nonce, value, gas_limit, max_priority, max_fee;
    const char* raw;
  };
  const Vector vectors[] = {
      {819, 43203529, 35552, 75853, 121212,
       "02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000aaaa8402933b"
       "c980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fd"
       "ba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e"},
      {353, 61901619, 32593, 38850, 136295,
       "02f86f821e8e8201618297c283021467827f5194000000000000000000000000000000000000aaaa8403b08b33"
       "80c001a004205678f13fc1d7b10feea6513dfa76e24418b6e08097d95c6f93a3b64e536da01d45ad61bfece438"
       "62de2cce7d2575a8c1d08c26c87f3cb5f26d7b0be54a91b2"},
      {985, 32531825, 68541, 66377, 136097,
       "02f871821e8e8203d983010349830213a183010bbd94000000000000000000000000000000000000aaaa8401f0"
       "657180c001a0e6d23c5ecc0f388a4d41a9523c3ad171e98083a61288c340b968dfe0903a6741a07319e8d54a4f"
       "d8f0c081d3ce093d869f9df598481991c8534bfd8f2c163884b4"},
      {119, 65456115, 62341, 24721, 107729,
       "02f86d821e8e778260918301a4d182f38594000000000000000000000000000000000000aaaa8403e6c7f380c0"
       "01a0e38e239770801eb995498c821e55ac9c19ae09184bb27b34be105e02fe3b7615a067c64ca6bd6d9107e85f"
       "d581ab2e70a14b637eb36505bb40861ef9d6e800cab6"},
  };
  auto sk = Fixed<32>("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63");
  for (const auto& v : vectors) {
    Eip1559Tx tx;
    tx.chain_id = 7822;
    tx.nonce = v.nonce;
    tx.max_priority_fee_per_gas = U256::FromU64(v.max_priority);
    tx.max_fee_per_gas = U256::FromU64(v.max_fee);
    tx.gas_limit = v.gas_limit;
    tx.to = Addr("0x000000000000000000000000000000000000aaaa");
    tx.value = U256::FromU64(v.value);
    auto raw = SignTx(tx, sk.data());
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(HexOf(*raw), v.raw);
    EXPECT_EQ(TxHash(*raw), format::Keccak256(raw->data(), raw->size()));
    // The signature recovers the key's address over the signing payload.
    Bytes payload = SigningPayload(tx);
    EXPECT_EQ(payload[0], 0x02);
    Bytes r(raw->end() - 66, raw->end() - 33), s(raw->end() - 32, raw->end());
    ASSERT_EQ(r[0], 0xa0);
    RecoverableSignature sig;
    std::copy(r.begin() + 1, r.end(), sig.r.begin());
    std::copy(s.begin(), s.end(), sig.s.begin());
    sig.y_parity = (*raw)[raw->size() - 67] == 0x01 ? 1 : 0;
    EXPECT_EQ(RecoverAddress(format::Keccak256(payload.data(), payload.size()), sig),
              AddressOfSecret(sk.data()));
  }
}

TEST(Chain, Eip1559MinimalSignatureIntegers) {
  // Over many signatures some r or s has a leading zero byte; the raw form must drop it.
  auto sk = Fixed<32>("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63");
  bool saw_short = false;
  for (uint64_t nonce = 0; nonce < 2000 && !saw_short; ++nonce) {
    Eip1559Tx tx;
    tx.chain_id = 1;
    tx.nonce = nonce;
    auto raw = SignTx(tx, sk.data());
    ASSERT_TRUE(raw.ok());
    Bytes payload = SigningPayload(tx);
    auto sig = SignDigest(sk.data(), format::Keccak256(payload.data(), payload.size()));
    ASSERT_TRUE(sig.ok());
    if (sig->s[0] == 0 || sig->r[0] == 0) {
      saw_short = true;
      U256 r{sig->r}, s{sig->s};
      Bytes tail = rlp::EncodeUint(r);
      Bytes stail = rlp::EncodeUint(s);
      tail.insert(tail.end(), stail.begin(), stail.end());
      ASSERT_GE(raw->size(), tail.size());
      EXPECT_TRUE(std::equal(tail.begin(), tail.end(), raw->end() - tail.size()));
      EXPECT_LT(tail.size(), 66u);
    }
  }
  EXPECT_TRUE(saw_short);
}

// ---- JSON-RPC ----

TEST(Chain, RpcUrlPolicy) {
  for (const char* ok : {"https://rpc.example.com", "https://rpc.example.com:8443/v1/key",
                         "http://127.0.0.1:8545", "http://127.1.2.3/", "http://localhost:8545",
                         "http://LOCALHOST", "http://[::1]:8545", "HTTPS://example.org"}) {
    auto c = RpcClient::Create({ok});
    EXPECT_TRUE(c.ok()) << ok << ": " << c.status().ToString();
  }
  for (const char* bad :
       {"http://example.com", "http://example.com:8545", "ftp://127.0.0.1/", "ws://127.0.0.1:8545",
        "http://128.0.0.1", "http://localhost.example.com", "http://127.0.0.1.nip.io",
        "http://[::2]", "http://10.0.0.1:8545", "file:///etc/passwd"}) {
    auto c = RpcClient::Create({bad});
    EXPECT_EQ(c.status().code(), Code::ChainInsecureRpc) << bad << ": " << c.status().ToString();
  }
  EXPECT_EQ(RpcClient::Create({"not a url"}).status().code(), Code::Usage);
  EXPECT_EQ(RpcClient::Create({""}).status().code(), Code::Usage);
  EXPECT_EQ(RpcClient::Create({"https://x.org", 0}).status().code(), Code::Usage);
  // Credentials in the URL never reach messages.
  auto c = RpcClient::Create({"http://user:secret@example.com"});
  EXPECT_EQ(c.status().code(), Code::ChainInsecureRpc);
  EXPECT_EQ(c.status().detail().find("secret"), std::string::npos) << c.status().detail();

  EXPECT_EQ(ParseEvmLedgerSpec("evm:https://x.org"), "https://x.org");
  EXPECT_EQ(ParseEvmLedgerSpec("file:ledger.json"), std::nullopt);
  EXPECT_EQ(ParseEvmLedgerSpec("ledger.json"), std::nullopt);
}

namespace {

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 for the client tests. The handler
// sees the parsed request and returns the reply; `never` holds the connection open without
// answering until the client gives up (or the server stops).
struct Reply {
  int status = 200;
  std::string body;
  bool never = false;
};

class TestServer {
 public:
  using Handler = std::function<Reply(const nlohmann::json& request)>;

  explicit TestServer(Handler h) : handler_(std::move(h)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
        pipe(stop_) != 0) {
      ADD_FAILURE() << "cannot start the test server";
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestServer() {
    if (thread_.joinable()) {
      char c = 0;
      (void)!write(stop_[1], &c, 1);
      thread_.join();
    }
    if (fd_ >= 0) close(fd_);
    close(stop_[0]);
    close(stop_[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  // Waits until `fd` is readable or the server is told to stop; false on stop or timeout.
  bool WaitReadable(int fd, int timeout_ms) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (poll(p, 2, timeout_ms) <= 0) return false;
    return (p[1].revents & POLLIN) == 0;
  }

  void Run() {
    while (WaitReadable(fd_, -1)) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Serve(c);
      close(c);
    }
  }

  void Serve(int c) {
    std::string in;
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    char buf[4096];
    while (true) {
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::string head = in.substr(0, header_end);
          for (auto& ch : head) ch = static_cast<char>(std::tolower(ch));
          size_t cl = head.find("content-length:");
          if (cl != std::string::npos) content_length = std::stoul(head.substr(cl + 15));
        }
      }
      if (header_end != std::string::npos && in.size() >= header_end + 4 + content_length) break;
      if (!WaitReadable(c, 5000)) return;
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    ++requests_;
    auto req = nlohmann::json::parse(in.substr(header_end + 4), nullptr, false);
    Reply r = handler_(req);
    if (r.never) {
      // Hold the connection until the client closes it (recv → 0) or the server stops.
      while (WaitReadable(c, 10000) && recv(c, buf, sizeof buf, 0) > 0) {
      }
      return;
    }
    std::string out = "HTTP/1.1 " + std::to_string(r.status) +
                      " X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      "Content-Length: " +
                      std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the client hung up (e.g. it refused an oversize answer)
      off += static_cast<size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string Answer(const nlohmann::json& req, const nlohmann::json& result) {
  return nlohmann::json({{"jsonrpc", "2.0"}, {"id", req["id"]}, {"result", result}}).dump();
}

RpcClient Client(const std::string& url, int timeout_ms = 5000) {
  auto c = RpcClient::Create({url, timeout_ms, 2000});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

}  // namespace

TEST(Chain, RpcClosedPortIsUnreachable) {
  // Bind an ephemeral port, then close it: nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(fd);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto start = std::chrono::steady_clock::now();
  auto r = Client(url).ChainId();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::ChainRpcUnreachable) << r.status().ToString();
  EXPECT_EQ(r.status().detail().rfind(url, 0), 0u) << r.status().detail();  // names the URL
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(Chain, RpcGoodAnswers) {
  std::string last_method;
  nlohmann::json last_params;
  TestServer server([&](const nlohmann::json& req) {
    last_method = req.value("method", "");
    last_params = req["params"];
    EXPECT_EQ(req["jsonrpc"], "2.0");
    const std::string& m = last_method;
    if (m == "eth_chainId") return Reply{200, Answer(req, "0x15")};
    if (m == "eth_blockNumber") return Reply{200, Answer(req, "0x0")};
    if (m == "eth_getBlockByNumber") {
      return Reply{200, Answer(req, {{"timestamp", "0x65"}, {"baseFeePerGas", "0x3b9aca00"}})};
    }
    if (m == "eth_getCode") return Reply{200, Answer(req, "0x6001")};
    if (m == "eth_call") return Reply{200, Answer(req, "0x")};
    if (m == "eth_gasPrice") return Reply{200, Answer(req, "0x" + std::string(64, 'f'))};
    if (m == "eth_sendRawTransaction") return Reply{200, Answer(req, "0x" + std::string(64, 'a'))};
    if (m == "eth_getTransactionReceipt") return Reply{200, Answer(req, nullptr)};
    return Reply{200, Answer(req, "0x1")};
  });
  RpcClient c = Client(server.url());
  auto id = c.ChainId();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 21u);
  EXPECT_EQ(last_params, nlohmann::json::array());
  EXPECT_EQ(*c.BlockNumber(), 0u);
  EXPECT_EQ(*c.BlockTimestamp(300), 0x65u);
  EXPECT_EQ(last_params, nlohmann::json::array({"0x12c", false}));
  EXPECT_EQ(c.BaseFee()->ToU64(), 1000000000u);
  Address a = Addr("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  EXPECT_EQ(HexOf(*c.GetCode(a, "0x10")), "6001");
  EXPECT_EQ(last_params,
            nlohmann::json::array({"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x10"}));
  EXPECT_TRUE(c.EthCall(a, Hex("70a08231"))->empty());
  EXPECT_EQ(last_params[0]["data"], "0x70a08231");
  EXPECT_EQ(last_params[1], "latest");
  EXPECT_EQ(c.GasPrice()->ToDecimal(), kMax256);
  EXPECT_EQ(c.SendRawTransaction(Hex("02c0"))->at(31), 0xaa);
  EXPECT_EQ(last_params[0], "0x02c0");
  auto receipt = c.TransactionReceipt(Hash32{});
  ASSERT_TRUE(receipt.ok());
  EXPECT_FALSE(receipt->has_value());
  EXPECT_EQ(*c.TransactionCount(a), 1u);
  EXPECT_EQ(last_params[1], "pending");
  EXPECT_EQ(*c.EstimateGas(a, a, Hex("00")), 1u);
  // A bad block parameter is the caller's mistake, not the node's.
  EXPECT_EQ(c.GetCode(a, "0x010").status().code(), Code::Usage);
  EXPECT_EQ(c.GetCode(a, "newest").status().code(), Code::Usage);
}

TEST(Chain, RpcMalformedAnswers) {
  std::string body;
  int status = 200;
  TestServer server([&](const nlohmann::json& req) {
    std::string b = body;
    size_t p = b.find("ID");
    if (p != std::string::npos) b.replace(p, 2, req["id"].dump());
    return Reply{status, b};
  });
  RpcClient c = Client(server.url());
  auto expect = [&](const std::string& answer, Code code, std::string_view needle) {
    body = answer;
    auto r = c.Call("eth_chainId", nlohmann::json::array());
    EXPECT_EQ(r.status().code(), code) << answer << " → " << r.status().ToString();
    EXPECT_NE(r.status().detail().find(needle), std::string::npos)
        << answer << " → " << r.status().detail();
  };
  expect("garbage", Code::ChainBadResponse, "not JSON");
  expect("", Code::ChainBadResponse, "not JSON");
  expect("[1]", Code::ChainBadResponse, "not a JSON object");
  expect(R"({"jsonrpc":"2.0","id":ID})", Code::ChainBadResponse, "no result");
  expect(R"({"jsonrpc":"2.0","id":999999999,"result":"0x1"})", Code::ChainBadResponse,
         "does not match");
  expect(R"({"jsonrpc":"2.0","result":"0x1"})", Code::ChainBadResponse, "does not match");
  expect(R"({"jsonrpc":"2.0","id":"ID","result":"0x1"})", Code::ChainBadResponse, "does not match");
  expect(R"({"jsonrpc":"1.0","id":ID,"result":"0x1"})", Code::ChainBadResponse, "jsonrpc");
  expect(R"({"jsonrpc":"2.0","id":ID,"result":"0x1","error":{"code":1,"message":"x"}})",
         Code::ChainBadResponse, "both");
  expect(R"({"jsonrpc":"2.0","id":ID,"error":"boom"})", Code::ChainBadResponse, "malformed error");
  expect(
      R"({"jsonrpc":"2.0","id":ID,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}})",
      Code::ChainRpcError, "node error 3: execution reverted (revert data 0x08c379a0)");
  expect(R"({"jsonrpc":"2.0","id":ID,"error":{"code":-32601,"message":"no such method"}})",
         Code::ChainRpcError, "-32601: no such method");
  // A custom error of the contract is named (selectors as anvil reported them for the
  // contract's SplitAlreadySet and NotCreator).
  body =
      R"({"jsonrpc":"2.0","id":ID,"error":{"code":3,"message":"execution reverted","data":"0x00dca073"}})";
  EXPECT_NE(c.Call("eth_call", nlohmann::json::array())
                .status()
                .detail()
                .find(": SplitAlreadySet(uint256)"),
            std::string::npos);
  EXPECT_EQ(ContractErrorOf("0x5dfb745e0000"), "NotCreator(uint256,address,address)");
  EXPECT_EQ(ContractErrorOf("0x12345678"), std::nullopt);
  // The node's text is escaped: no control sequence, no second line reaches the terminal.
  body = R"({"jsonrpc":"2.0","id":ID,"error":{"code":1,"message":"\u001b[31mred\u0007\r\n[ok]"}})";
  auto escaped = c.Call("eth_chainId", nlohmann::json::array());
  EXPECT_NE(escaped.status().detail().find("\\x1b[31mred\\x07\\x0d\\x0a[ok]"), std::string::npos)
      << escaped.status().detail();
  for (char ch : escaped.status().detail()) EXPECT_GE(static_cast<unsigned char>(ch), 0x20);
  // A huge message from the node is clipped (and escaped: valid UTF-8, short).
  std::string long_msg;
  for (int i = 0; i < 2000; ++i) long_msg += "\u00e9";
  body = R"({"jsonrpc":"2.0","id":ID,"error":{"code":1,"message":")" + long_msg + R"("}})";
  auto clipped = c.Call("eth_chainId", nlohmann::json::array());
  EXPECT_EQ(clipped.status().code(), Code::ChainRpcError);
  EXPECT_LT(clipped.status().detail().size(), 700u);
  EXPECT_TRUE(format::IsValidUtf8(clipped.status().detail()));
  status = 503;
  expect(R"({"jsonrpc":"2.0","id":ID,"result":"0x1"})", Code::ChainRpcUnreachable,
         "HTTP status 503");
  status = 200;

  // Typed helpers parse strictly.
  auto typed = [&](const std::string& result) {
    body = R"({"jsonrpc":"2.0","id":ID,"result":)" + result + "}";
  };
  for (const char* q : {R"("0x015")", R"("15")", R"(21)", R"("0x")", R"(null)", R"("0xzz")",
                        R"("0x10000000000000000")"}) {
    typed(q);
    EXPECT_EQ(c.ChainId().status().code(), Code::ChainBadResponse) << q;
  }
  typed(R"("0x15")");
  EXPECT_EQ(*c.ChainId(), 21u);
  Address a{};
  for (const char* d : {R"("0xabc")", R"("abcd")", R"(12)", R"("0xgg")"}) {
    typed(d);
    EXPECT_EQ(c.GetCode(a).status().code(), Code::ChainBadResponse) << d;
  }
  typed(R"("0x1234")");
  EXPECT_EQ(c.SendRawTransaction(Hex("00")).status().code(), Code::ChainBadResponse);
  typed(R"({"number":"0x1"})");
  EXPECT_EQ(c.BaseFee().status().code(), Code::ChainBadResponse);
  EXPECT_EQ(c.BlockTimestamp(1).status().code(), Code::ChainBadResponse);
  typed(R"(null)");
  EXPECT_EQ(c.BlockTimestamp(1).status().code(), Code::ChainBadResponse);
  typed(R"("pending")");
  EXPECT_EQ(c.TransactionReceipt(Hash32{}).status().code(), Code::ChainBadResponse);
  typed(R"({"status":"0x1"})");
  auto receipt = c.TransactionReceipt(Hash32{});
  ASSERT_TRUE(receipt.ok());
  ASSERT_TRUE(receipt->has_value());
  EXPECT_EQ((**receipt)["status"], "0x1");
}

// tokenInfo's answer decoded strictly, and a malformed one names the endpoint, the call and the
// contract (the decoder alone says only "word 2: ...", which a user cannot place).
TEST(Chain, TokenInfoDecodesStrictlyAndNamesTheCall) {
  std::string result;
  TestServer server([&](const nlohmann::json& req) { return Reply{200, Answer(req, result)}; });
  RpcClient c = Client(server.url());
  const Address contract = Addr("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  const std::string word_a(64, 'a'), word_b(64, 'b');
  const std::string creator = std::string(24, '0') + "fb6916095ca1df60bb79ce92ce3ea74c37c5d359";
  result = "0x" + word_a + word_b + creator + std::string(63, '0') + "7";
  auto info = ReadTokenInfo(c, contract, U256::FromU64(5), "latest");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(HexEncode(info->manifest_hash), word_a);
  EXPECT_EQ(HexEncode(info->creator_key), word_b);
  EXPECT_EQ(HexEncode(info->creator), creator.substr(24));
  auto expect_named = [&](const std::string& answer, std::string_view fault) {
    result = answer;
    auto r = ReadTokenInfo(c, contract, U256::FromU64(5), "0x10");
    ASSERT_FALSE(r.ok()) << answer;
    EXPECT_EQ(r.status().code(), Code::ChainBadResponse);
    const std::string& d = r.status().detail();
    EXPECT_NE(d.find(server.url() + ": tokenInfo(5) on " + format::EvmAddressChecksum(contract)),
              std::string::npos)
        << d;
    EXPECT_NE(d.find(fault), std::string::npos) << d;
  };
  // Three words (an older contract), and an address with dirty upper bytes.
  expect_named("0x" + word_a + word_b + creator, "expected 128 bytes, got 96");
  expect_named("0x" + word_a + word_b + "01" + creator.substr(2) + word_a, "nonzero upper");
}

TEST(Chain, RpcOversizeAnswerIsRefused) {
  TestServer server([](const nlohmann::json& req) {
    return Reply{200, Answer(req, std::string(5u << 20, 'a'))};
  });
  auto r = Client(server.url()).Call("eth_chainId", nlohmann::json::array());
  EXPECT_EQ(r.status().code(), Code::ChainBadResponse) << r.status().ToString();
  EXPECT_NE(r.status().detail().find("larger than 4 MiB"), std::string::npos);
  // Just under the cap is fine.
  TestServer ok([](const nlohmann::json& req) {
    return Reply{200, Answer(req, std::string((4u << 20) - 100, 'a'))};
  });
  EXPECT_TRUE(Client(ok.url()).Call("eth_chainId", nlohmann::json::array()).ok());
}

TEST(Chain, RpcSilentServerTimesOut) {
  TestServer server([](const nlohmann::json&) { return Reply{200, "", true}; });
  auto start = std::chrono::steady_clock::now();
  auto r = Client(server.url(), 300).ChainId();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Code::ChainRpcUnreachable) << r.status().ToString();
  EXPECT_NE(r.status().detail().find("no answer within 300 ms"), std::string::npos)
      << r.status().detail();
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(server.requests(), 1);  // one request, no retry
}
