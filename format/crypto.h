// The crypto wrapper: the only code that includes libsodium and OpenSSL's EVP (DESIGN §3.4–3.5).
// Bulk work (AES-256-GCM, SHA-256, HKDF) goes through OpenSSL; asymmetric work (Ed25519,
// X25519 sealed boxes), randomness and memory wiping through libsodium.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "capsule/status.h"
#include "format/bytes.h"

namespace capsule::format {

// Must be called once before any other function here (idempotent, thread-safe).
void CryptoInit();

// libcrypto (bulk AES-256-GCM and SHA-256) is loaded on first need, not at start (see
// crypto.cc). A command about to do bulk work calls RequireBulkCrypto(): it loads libcrypto
// (once; it waits if another thread is loading it). Until then, and if it is missing,
// Nettle does the same work, slower.
void RequireBulkCrypto();
bool BulkCryptoLoaded();
// Why libcrypto is not doing the bulk work although it was asked for (RequireBulkCrypto, a
// BulkCryptoLoader): the loader's error, e.g. dlopen's. Empty when it loaded, or when nothing
// asked for it. Nettle did that work instead (same bytes, slower); the commands say so.
std::string BulkCryptoLoadError();
// The warning for the user when there is such an error (the result stands: Nettle gives the same
// bytes, but more slowly), or empty.
std::string BulkCryptoWarning();
// For --version: which implementation does what, with their versions. Loads libcrypto.
std::string CryptoVersions();
// Tests: the symmetric primitives on libcrypto (true: loads it; false if it cannot) or on
// Nettle. Hashers made before keep the implementation they were made with.
bool UseBulkCryptoForTesting(bool libcrypto);

// Loads libcrypto (~2–3.5 ms: loading, configuration, algorithm tables) on a thread of its
// own, at the lowest priority, from Start() on — for a command that must not wait for it (`open`
// starts it once its first byte is out: loading it meanwhile, even on the other core, delayed that
// byte by ~2 ms here). The destructor waits for the thread.
class BulkCryptoLoader {
 public:
  BulkCryptoLoader();
  ~BulkCryptoLoader();
  BulkCryptoLoader(const BulkCryptoLoader&) = delete;
  BulkCryptoLoader& operator=(const BulkCryptoLoader&) = delete;
  void Start();  // idempotent; without a thread, Nettle goes on doing the work

 private:
  std::unique_ptr<struct BulkCryptoLoaderThread> thread_;
};

using Hash32 = std::array<uint8_t, 32>;

// A fixed-size secret, wiped on destruction and locked in memory where the OS allows it.
template <size_t N>
class Secret {
 public:
  Secret();
  ~Secret();
  Secret(const Secret& o);
  Secret& operator=(const Secret& o);
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  static constexpr size_t size() { return N; }
  ByteView view() const { return ByteView(bytes_, N); }

 private:
  uint8_t bytes_[N];
};
using ContentKey = Secret<32>;

void Wipe(void* p, size_t n);
void RandomBytes(uint8_t* out, size_t n);

// Streaming SHA-256 (libcrypto when loaded at construction, else Nettle).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const uint8_t* p, size_t n);
  void Update(ByteView b) { Update(b.data(), b.size()); }
  // The digest of everything so far; the hasher stays usable (cumulative hashing).
  Hash32 Peek() const;
  Hash32 Final();

 private:
  void* ctx_;  // EVP_MD_CTX
};
Hash32 Sha256Of(ByteView b);
Hash32 HmacSha256(ByteView key, ByteView msg);
// HKDF-SHA-256 (RFC 5869) with empty salt.
void HkdfSha256(ByteView ikm, ByteView info, uint8_t* out, size_t out_len);

// AES-256-GCM with a 96-bit nonce and 128-bit tag appended to the ciphertext.
bool AesGcmSeal(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView plain,
                uint8_t* out /* plain.size() + 16 */);
bool AesGcmOpen(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView sealed,
                uint8_t* out /* sealed.size() - 16 */);

// Ed25519.
struct Ed25519Public {
  std::array<uint8_t, 32> bytes;
};
void Ed25519KeypairFromSeed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64]);
void Ed25519Sign(const uint8_t sk[64], ByteView msg, uint8_t sig[64]);
bool Ed25519Verify(const uint8_t pk[32], ByteView msg, const uint8_t sig[64]);

// X25519.
void X25519PublicFromSecret(const uint8_t sk[32], uint8_t pk[32]);
constexpr size_t kSealOverhead = 48;  // crypto_box_SEALBYTES
// crypto_box_seal; when `ephemeral_seed` is given, the ephemeral key pair is derived from it
// (byte-compatible with crypto_box_seal otherwise: see --reproducible, DESIGN §3.14).
// Empty when the recipient key is degenerate (low order).
Bytes SealTo(const uint8_t recipient_pk[32], ByteView msg, const uint8_t* ephemeral_seed);
// Opens a sealed box; false when it is not for this key or was changed.
bool SealOpen(const uint8_t pk[32], const uint8_t sk[32], ByteView sealed, uint8_t* out);

// Passphrase protection of key files: Argon2id13 + XChaCha20-Poly1305.
struct PwhashParams {
  uint64_t opslimit;
  uint64_t memlimit;
};
PwhashParams DefaultPwhashParams();
bool DeriveFromPassphrase(std::string_view passphrase, const uint8_t salt[16], PwhashParams p,
                          uint8_t key[32]);
Bytes XChaChaSeal(const uint8_t key[32], const uint8_t nonce[24], ByteView plain);
bool XChaChaOpen(const uint8_t key[32], const uint8_t nonce[24], ByteView sealed, uint8_t* out);

// secp256k1: public key (uncompressed 65 bytes) from a 32-byte secret; false if invalid.
bool Secp256k1PublicKey(const uint8_t sk[32], uint8_t pub65[65]);
// EVM address (Keccak-256 of the 64-byte uncompressed key, last 20 bytes).
std::array<uint8_t, 20> EvmAddressOf(const uint8_t pub65[65]);

}  // namespace capsule::format
