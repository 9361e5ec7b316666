// The one place that includes libsodium and OpenSSL (DESIGN §3.4–3.5). Failures of the
// primitives themselves (allocation inside OpenSSL) are reported as `false`, never thrown.
#include "format/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <secp256k1.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "format/keccak.h"

namespace capsule::format {

void CryptoInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing is safe to do
  });
}

template <size_t N>
Secret<N>::Secret() {
  sodium_mlock(bytes_, N);
  std::memset(bytes_, 0, N);
}
template <size_t N>
Secret<N>::~Secret() {
  sodium_munlock(bytes_, N);  // also wipes
}
template <size_t N>
Secret<N>::Secret(const Secret& o) {
  sodium_mlock(bytes_, N);
  std::memcpy(bytes_, o.bytes_, N);
}
template <size_t N>
Secret<N>& Secret<N>::operator=(const Secret& o) {
  std::memcpy(bytes_, o.bytes_, N);
  return *this;
}
template class Secret<32>;
template class Secret<64>;
template class Secret<96>;

void Wipe(void* p, size_t n) { sodium_memzero(p, n); }
void RandomBytes(uint8_t* out, size_t n) {
  CryptoInit();
  randombytes_buf(out, n);
}

Sha256::Sha256() {
  auto* c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_sha256(), nullptr);
  ctx_ = c;
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::Update(const uint8_t* p, size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), p, n);
}
Hash32 Sha256::Peek() const {
  Hash32 out{};
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, static_cast<EVP_MD_CTX*>(ctx_));
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, out.data(), &len);
  EVP_MD_CTX_free(copy);
  return out;
}
Hash32 Sha256::Final() {
  Hash32 out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
  return out;
}
Hash32 Sha256Of(ByteView b) {
  Sha256 h;
  h.Update(b);
  return h.Final();
}

Hash32 HmacSha256(ByteView key, ByteView msg) {
  Hash32 out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), out.data(),
       &len);
  return out;
}

void HkdfSha256(ByteView ikm, ByteView info, uint8_t* out, size_t out_len) {
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  size_t len = out_len;
  bool ok = pctx && EVP_PKEY_derive_init(pctx) > 0 &&
            EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) > 0 &&
            EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm.data(), static_cast<int>(ikm.size())) > 0 &&
            EVP_PKEY_CTX_add1_hkdf_info(pctx, info.data(), static_cast<int>(info.size())) > 0 &&
            EVP_PKEY_derive(pctx, out, &len) > 0;
  EVP_PKEY_CTX_free(pctx);
  if (!ok) std::abort();  // OpenSSL without HKDF: cannot continue safely
}

bool AesGcmSeal(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView plain,
                uint8_t* out) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key, nonce) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(c, out, &len, plain.data(), static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(c, out + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + plain.size()) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

bool AesGcmOpen(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView sealed,
                uint8_t* out) {
  if (sealed.size() < 16) return false;
  size_t n = sealed.size() - 16;
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int len = 0;
  uint8_t tag[16];
  std::memcpy(tag, sealed.data() + n, 16);
  bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key, nonce) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(c, out, &len, sealed.data(), static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
            EVP_DecryptFinal_ex(c, out + len, &len) == 1;
  EVP_CIPHER_CTX_free(c);
  if (!ok) Wipe(out, n);  // unauthenticated plaintext never leaves this function
  return ok;
}

void Ed25519KeypairFromSeed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64]) {
  CryptoInit();
  crypto_sign_seed_keypair(pk, sk, seed);
}
void Ed25519Sign(const uint8_t sk[64], ByteView msg, uint8_t sig[64]) {
  crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), sk);
}
bool Ed25519Verify(const uint8_t pk[32], ByteView msg, const uint8_t sig[64]) {
  CryptoInit();
  return crypto_sign_verify_detached(sig, msg.data(), msg.size(), pk) == 0;
}

void X25519PublicFromSecret(const uint8_t sk[32], uint8_t pk[32]) {
  crypto_scalarmult_base(pk, sk);
}

Bytes SealTo(const uint8_t recipient_pk[32], ByteView msg, const uint8_t* ephemeral_seed) {
  CryptoInit();
  Bytes out(msg.size() + crypto_box_SEALBYTES);
  if (!ephemeral_seed) {
    if (crypto_box_seal(out.data(), msg.data(), msg.size(), recipient_pk) != 0) return {};
    return out;
  }
  // crypto_box_seal with a derived ephemeral key: epk ‖ box(msg, nonce=BLAKE2b-192(epk‖pk)).
  uint8_t epk[32], esk[32], nonce[crypto_box_NONCEBYTES];
  crypto_box_seed_keypair(epk, esk, ephemeral_seed);
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof nonce);
  crypto_generichash_update(&st, epk, 32);
  crypto_generichash_update(&st, recipient_pk, 32);
  crypto_generichash_final(&st, nonce, sizeof nonce);
  std::memcpy(out.data(), epk, 32);
  int rc = crypto_box_easy(out.data() + 32, msg.data(), msg.size(), nonce, recipient_pk, esk);
  sodium_memzero(esk, sizeof esk);
  if (rc != 0) return {};  // a degenerate (low-order) public key
  return out;
}

bool SealOpen(const uint8_t pk[32], const uint8_t sk[32], ByteView sealed, uint8_t* out) {
  CryptoInit();
  if (sealed.size() < crypto_box_SEALBYTES) return false;
  return crypto_box_seal_open(out, sealed.data(), sealed.size(), pk, sk) == 0;
}

PwhashParams DefaultPwhashParams() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
bool DeriveFromPassphrase(std::string_view passphrase, const uint8_t salt[16], PwhashParams p,
                          uint8_t key[32]) {
  CryptoInit();
  if (p.opslimit < crypto_pwhash_OPSLIMIT_MIN || p.opslimit > 64 ||
      p.memlimit < crypto_pwhash_MEMLIMIT_MIN || p.memlimit > (size_t{1} << 31))
    return false;  // refuse absurd parameters from a hostile key file
  return crypto_pwhash(key, 32, passphrase.data(), passphrase.size(), salt, p.opslimit, p.memlimit,
                       crypto_pwhash_ALG_ARGON2ID13) == 0;
}
Bytes XChaChaSeal(const uint8_t key[32], const uint8_t nonce[24], ByteView plain) {
  Bytes out(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long n = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &n, plain.data(), plain.size(), nullptr, 0,
                                             nullptr, nonce, key);
  out.resize(n);
  return out;
}
bool XChaChaOpen(const uint8_t key[32], const uint8_t nonce[24], ByteView sealed, uint8_t* out) {
  unsigned long long n = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, nullptr, sealed.data(), sealed.size(),
                                                    nullptr, 0, nonce, key) == 0;
}

bool Secp256k1PublicKey(const uint8_t sk[32], uint8_t pub65[65]) {
  static secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (!secp256k1_ec_seckey_verify(ctx, sk)) return false;
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(ctx, &pk, sk)) return false;
  size_t len = 65;
  secp256k1_ec_pubkey_serialize(ctx, pub65, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  return len == 65;
}

std::array<uint8_t, 20> EvmAddressOf(const uint8_t pub65[65]) {
  auto h = Keccak256(pub65 + 1, 64);
  std::array<uint8_t, 20> out;
  std::memcpy(out.data(), h.data() + 12, 20);
  return out;
}

}  // namespace capsule::format
