// Unit tests of the symmetric primitives (format/crypto.cc) on both implementations: libcrypto
// (bulk work, loaded with dlopen) and Nettle (start-up, and when libcrypto is missing). Each is
// checked against published vectors and against the other, byte for byte.
#include "format/crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/bytes.h"

using namespace capsule::format;  // NOLINT

namespace {

Bytes Hex(const std::string& h) { return *HexDecode(h); }
std::string HexOf(const uint8_t* p, size_t n) { return HexEncode(ByteView(p, n)); }
std::string HexOf(const Hash32& h) { return HexEncode(ByteView(h.data(), h.size())); }

Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : b) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<uint8_t>(x);
  }
  return b;
}

// Runs `body` once on libcrypto and once on Nettle, naming the implementation on failure.
template <typename F>
void OnBoth(F body) {
  for (bool lib : {true, false}) {
    SCOPED_TRACE(lib ? "libcrypto" : "Nettle");
    ASSERT_TRUE(UseBulkCryptoForTesting(lib)) << "libcrypto.so.3 did not load";
    ASSERT_EQ(BulkCryptoLoaded(), lib);
    body();
  }
  UseBulkCryptoForTesting(true);
}

// GCM test case 16 (McGrew & Viega, "The Galois/Counter Mode of Operation", AES-256, 96-bit IV,
// 20 bytes of associated data, 60 bytes of plaintext).
const char* kGcmKey = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char* kGcmIv = "cafebabefacedbaddecaf888";
const char* kGcmAad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const char* kGcmPlain =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const char* kGcmCipher =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
const char* kGcmTag = "76fc6ece0f4e1768cddf8853bb2d551b";

}  // namespace

TEST(Crypto, Sha256KnownVectors) {
  OnBoth([] {
    EXPECT_EQ(HexOf(Sha256Of(ByteView())),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    std::string abc = "abc";
    EXPECT_EQ(HexOf(Sha256Of(AsBytes(abc))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // A million 'a', fed in uneven pieces; Peek leaves the hasher usable; Final starts over.
    Sha256 h;
    Bytes a(1000000, 'a');
    size_t at = 0;
    for (size_t piece = 1; at < a.size(); piece = piece * 3 + 7) {
      size_t n = std::min(piece, a.size() - at);
      h.Update(a.data() + at, n);
      at += n;
      if (at == 64) {
        EXPECT_EQ(HexOf(h.Peek()), HexOf(Sha256Of(ByteView(a.data(), 64))));
      }
    }
    EXPECT_EQ(HexOf(h.Peek()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(HexOf(h.Final()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    EXPECT_EQ(HexOf(h.Final()), HexOf(Sha256Of(ByteView())));
  });
}

TEST(Crypto, HmacAndHkdfKnownVectors) {
  OnBoth([] {
    // RFC 4231, test case 2.
    std::string key = "Jefe", msg = "what do ya want for nothing?";
    EXPECT_EQ(HexOf(HmacSha256(AsBytes(key), AsBytes(msg))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // RFC 5869, test case 3 (no salt, no info) — the salt is always empty here.
    Bytes ikm(22, 0x0b);
    uint8_t okm[42];
    HkdfSha256(ikm, ByteView(), okm, sizeof okm);
    EXPECT_EQ(HexOf(okm, sizeof okm),
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
              "9d201395faa4b61a96c8");
  });
}

TEST(Crypto, AesGcmKnownVector) {
  OnBoth([] {
    Bytes key = Hex(kGcmKey), iv = Hex(kGcmIv), aad = Hex(kGcmAad), plain = Hex(kGcmPlain);
    Bytes sealed(plain.size() + 16);
    ASSERT_TRUE(AesGcmSeal(key.data(), iv.data(), aad, plain, sealed.data()));
    EXPECT_EQ(HexEncode(sealed), std::string(kGcmCipher) + kGcmTag);
    Bytes back(plain.size());
    ASSERT_TRUE(AesGcmOpen(key.data(), iv.data(), aad, sealed, back.data()));
    EXPECT_EQ(back, plain);
  });
}

TEST(Crypto, AesGcmImplementationsAgreeAndRefuseTheSameChanges) {
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{65536}, size_t{100001}}) {
    SCOPED_TRACE(n);
    Bytes key = Pattern(32, 1), nonce = Pattern(12, 2), aad = Pattern(61, 3), plain = Pattern(n, 4);
    Bytes by_lib(n + 16), by_nettle(n + 16);
    ASSERT_TRUE(UseBulkCryptoForTesting(true));
    ASSERT_TRUE(AesGcmSeal(key.data(), nonce.data(), aad, plain, by_lib.data()));
    UseBulkCryptoForTesting(false);
    ASSERT_TRUE(AesGcmSeal(key.data(), nonce.data(), aad, plain, by_nettle.data()));
    EXPECT_EQ(by_lib, by_nettle);
    OnBoth([&] {
      Bytes out(n);
      ASSERT_TRUE(AesGcmOpen(key.data(), nonce.data(), aad, by_lib, out.data()));
      EXPECT_EQ(out, plain);
      // A changed byte of the ciphertext, of the tag, of the associated data; a short input.
      for (size_t at : {size_t{0}, n / 2, n + 15}) {
        if (at >= by_lib.size()) continue;
        Bytes bad = by_lib;
        bad[at] ^= 0x20;
        Bytes got(n, 0x55);
        EXPECT_FALSE(AesGcmOpen(key.data(), nonce.data(), aad, bad, got.data()));
        EXPECT_EQ(got, Bytes(n, 0)) << "unauthenticated plaintext left in the output";
      }
      Bytes other_aad = aad;
      other_aad[0] ^= 1;
      EXPECT_FALSE(AesGcmOpen(key.data(), nonce.data(), other_aad, by_lib, out.data()));
      EXPECT_FALSE(
          AesGcmOpen(key.data(), nonce.data(), aad, ByteView(by_lib.data(), 15), out.data()));
    });
  }
}

TEST(Crypto, HashersKeepTheirImplementationAcrossTheSwitch) {
  Bytes data = Pattern(200000, 9);
  UseBulkCryptoForTesting(false);
  Sha256 early;  // made on Nettle, as `open`'s parts 1–2 are
  early.Update(ByteView(data.data(), 1000));
  ASSERT_TRUE(UseBulkCryptoForTesting(true));
  Sha256 late;
  late.Update(ByteView(data.data(), 1000));
  early.Update(ByteView(data.data() + 1000, data.size() - 1000));
  late.Update(ByteView(data.data() + 1000, data.size() - 1000));
  EXPECT_EQ(HexOf(early.Final()), HexOf(late.Final()));
}

TEST(Crypto, Base64IsStrictAndRoundTrips) {
  for (size_t n = 0; n < 70; ++n) {
    Bytes b = Pattern(n, static_cast<uint32_t>(n));
    std::string e = Base64Encode(b);
    EXPECT_EQ(e.size(), (n + 2) / 3 * 4);
    auto d = Base64Decode(e);
    ASSERT_TRUE(d.has_value()) << e;
    EXPECT_EQ(*d, b);
  }
  EXPECT_EQ(Base64Encode(AsBytes(std::string("foobar"))), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(AsBytes(std::string("fo"))), "Zm8=");
  for (const char* bad :
       {"Zm8", "Zm9=", "Zm==", "Z===", "Zm8=Zm8=", "Zm 8", "Zm8\n", "Zm-8", "====", "Zg=a"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
  EXPECT_EQ(*Base64Decode(""), Bytes());
}
