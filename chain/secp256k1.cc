// Recoverable ECDSA with libsecp256k1 0.2. Signing uses the library's default nonce function
// (RFC 6979), so a key and digest always give the same signature, and the library only ever
// produces low-s signatures. Parsing enforces what Ethereum enforces (EIP-2: s ≤ n/2), so a
// malleated copy of a signature never verifies here.
#include "chain/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "format/crypto.h"

namespace capsule::chain {
namespace {

// The group order n and ⌊n/2⌋, big-endian.
constexpr std::array<uint8_t, 32> kOrder = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
constexpr std::array<uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

bool IsZero(const std::array<uint8_t, 32>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

// The checks every signature we accept must pass: 0 < r < n, 0 < s ≤ n/2, parity 0 or 1.
bool InRange(const RecoverableSignature& sig) {
  return sig.y_parity <= 1 && !IsZero(sig.r) && sig.r < kOrder && !IsZero(sig.s) &&
         sig.s <= kHalfOrder;
}

// One context for the process. It is randomized once (side-channel blinding for signing) and
// only read afterwards, which libsecp256k1 documents as safe across threads.
const secp256k1_context* Context() {
  static secp256k1_context* ctx = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    format::CryptoInit();
    uint8_t seed[32];
    format::RandomBytes(seed, sizeof seed);
    // Randomization only hardens against side channels; a failure leaves a working context.
    bool randomized = secp256k1_context_randomize(ctx, seed) == 1;
    (void)randomized;
    format::Wipe(seed, sizeof seed);
  });
  return ctx;
}

}  // namespace

format::Bytes RecoverableSignature::ToRsv() const {
  format::Bytes out(r.begin(), r.end());
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(static_cast<uint8_t>(27 + y_parity));
  return out;
}

Result<RecoverableSignature> SignDigest(const uint8_t secret[32], const Hash32& digest) {
  const secp256k1_context* ctx = Context();
  if (!secp256k1_ec_seckey_verify(ctx, secret)) {
    return Status(Code::BadKeyFile, "secp256k1 secret key is zero or not below the group order");
  }
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest.data(), secret, nullptr, nullptr)) {
    return Status(Code::Internal, "secp256k1 signing failed");
  }
  uint8_t compact[64];
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, compact, &recid, &rsig);
  RecoverableSignature sig;
  std::memcpy(sig.r.data(), compact, 32);
  std::memcpy(sig.s.data(), compact + 32, 32);
  // recid 2 or 3 means the nonce point's x was ≥ n (probability about 2^-127); Ethereum's
  // yParity cannot express it, so such a signature is refused rather than emitted.
  if (recid < 0 || recid > 1) return Status(Code::Internal, "secp256k1 recovery id out of range");
  sig.y_parity = static_cast<uint8_t>(recid);
  if (!InRange(sig)) return Status(Code::Internal, "secp256k1 produced a high-s signature");
  return sig;
}

std::optional<RecoverableSignature> ParseRsv(format::ByteView sig65) {
  if (sig65.size() != 65) return std::nullopt;
  RecoverableSignature sig;
  std::copy(sig65.begin(), sig65.begin() + 32, sig.r.begin());
  std::copy(sig65.begin() + 32, sig65.begin() + 64, sig.s.begin());
  uint8_t v = sig65[64];
  if (v == 27 || v == 28) v = static_cast<uint8_t>(v - 27);
  if (v > 1) return std::nullopt;
  sig.y_parity = v;
  if (!InRange(sig)) return std::nullopt;
  return sig;
}

std::optional<Address> RecoverAddress(const Hash32& digest, const RecoverableSignature& sig) {
  // The struct may have been filled by hand rather than by ParseRsv: same rules either way.
  if (!InRange(sig)) return std::nullopt;
  const secp256k1_context* ctx = Context();
  uint8_t compact[64];
  std::memcpy(compact, sig.r.data(), 32);
  std::memcpy(compact + 32, sig.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature rsig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, compact, sig.y_parity)) {
    return std::nullopt;
  }
  secp256k1_pubkey pk;
  if (!secp256k1_ecdsa_recover(ctx, &pk, &rsig, digest.data())) return std::nullopt;
  uint8_t pub65[65];
  size_t len = sizeof pub65;
  if (!secp256k1_ec_pubkey_serialize(ctx, pub65, &len, &pk, SECP256K1_EC_UNCOMPRESSED) ||
      len != 65) {
    return std::nullopt;
  }
  return format::EvmAddressOf(pub65);
}

std::optional<Address> AddressOfSecret(const uint8_t secret[32]) {
  uint8_t pub65[65];
  if (!format::Secp256k1PublicKey(secret, pub65)) return std::nullopt;
  return format::EvmAddressOf(pub65);
}

}  // namespace capsule::chain
