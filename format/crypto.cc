// The one place that includes libsodium, Nettle and OpenSSL (DESIGN §3.4–3.5). Failures of
// the primitives themselves (allocation inside OpenSSL) are reported as `false`, never thrown.
//
// Symmetric crypto has two implementations of the same standard algorithms:
// - OpenSSL's libcrypto for bulk work (AES-256-GCM 4.5 GB/s, SHA-256 1.8 GB/s here). It is
//   loaded with dlopen, not linked: linked, loading it (its ~3,200 symbol bindings, all bound
//   at start) and its first use (configuration, algorithm tables) cost 2–2.5 ms before a
//   command can hash anything — half of `open`'s time to first byte (docs/performance.md).
// - Nettle (already linked for Keccak; no start-up cost; SHA-256 with the CPU's SHA
//   extensions 1.6 GB/s, AES-256-GCM 2.4 GB/s) for HMAC and HKDF, and for SHA-256 and
//   AES-256-GCM until libcrypto is loaded (or when it cannot be).
// A command that will do bulk work calls RequireBulkCrypto() first (it waits for libcrypto);
// `capsule-run open` checks the capsule and releases its first byte with Nettle, then (for a
// content of 8 MiB or more) loads libcrypto on a thread (BulkCryptoLoader) and moves to it when
// it is ready. Both give the same
// bytes (tests/unit/crypto_test.cc checks them against each other and against published vectors).
#include "format/crypto.h"

#include <dlfcn.h>
#include <nettle/gcm.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <nettle/version.h>
#include <openssl/crypto.h>  // declarations only: libcrypto is loaded with dlopen
#include <openssl/evp.h>
#include <secp256k1.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <type_traits>

#include "format/keccak.h"

namespace capsule::format {

void CryptoInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing is safe to do
  });
}

namespace {

// The libcrypto functions used, resolved once by dlsym.
struct LibCrypto {
  decltype(&EVP_MD_fetch) md_fetch;
  decltype(&EVP_CIPHER_fetch) cipher_fetch;
  decltype(&EVP_MD_CTX_new) md_ctx_new;
  decltype(&EVP_MD_CTX_free) md_ctx_free;
  decltype(&EVP_MD_CTX_copy_ex) md_ctx_copy;
  decltype(&EVP_DigestInit_ex) digest_init;
  decltype(&EVP_DigestUpdate) digest_update;
  decltype(&EVP_DigestFinal_ex) digest_final;
  decltype(&EVP_CIPHER_CTX_new) cipher_ctx_new;
  decltype(&EVP_CIPHER_CTX_free) cipher_ctx_free;
  decltype(&EVP_CIPHER_CTX_ctrl) cipher_ctx_ctrl;
  decltype(&EVP_EncryptInit_ex) encrypt_init;
  decltype(&EVP_EncryptUpdate) encrypt_update;
  decltype(&EVP_EncryptFinal_ex) encrypt_final;
  decltype(&EVP_DecryptInit_ex) decrypt_init;
  decltype(&EVP_DecryptUpdate) decrypt_update;
  decltype(&EVP_DecryptFinal_ex) decrypt_final;
  decltype(&OpenSSL_version) version;
  // Fetched once (an implicit EVP_sha256() in every init would look the algorithm up again).
  EVP_MD* sha256 = nullptr;
  EVP_CIPHER* aes256gcm = nullptr;
};

std::atomic<const LibCrypto*> g_libcrypto{nullptr};  // in use: set when loaded and usable
const LibCrypto* g_loaded = nullptr;                 // loaded (for the tests' switch)

// Loads and initialises libcrypto; nullptr when it is missing or lacks an algorithm (Nettle
// then does all the work).
const LibCrypto* LoadLibCrypto(std::string* error) {
  // Never unloaded: OpenSSL's exit handlers live in it.
  void* lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    *error = e ? e : "libcrypto.so.3: cannot be loaded";
    return nullptr;
  }
  static LibCrypto c;
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    ok = ok && fn != nullptr;
  };
  sym(c.md_fetch, "EVP_MD_fetch");
  sym(c.cipher_fetch, "EVP_CIPHER_fetch");
  sym(c.md_ctx_new, "EVP_MD_CTX_new");
  sym(c.md_ctx_free, "EVP_MD_CTX_free");
  sym(c.md_ctx_copy, "EVP_MD_CTX_copy_ex");
  sym(c.digest_init, "EVP_DigestInit_ex");
  sym(c.digest_update, "EVP_DigestUpdate");
  sym(c.digest_final, "EVP_DigestFinal_ex");
  sym(c.cipher_ctx_new, "EVP_CIPHER_CTX_new");
  sym(c.cipher_ctx_free, "EVP_CIPHER_CTX_free");
  sym(c.cipher_ctx_ctrl, "EVP_CIPHER_CTX_ctrl");
  sym(c.encrypt_init, "EVP_EncryptInit_ex");
  sym(c.encrypt_update, "EVP_EncryptUpdate");
  sym(c.encrypt_final, "EVP_EncryptFinal_ex");
  sym(c.decrypt_init, "EVP_DecryptInit_ex");
  sym(c.decrypt_update, "EVP_DecryptUpdate");
  sym(c.decrypt_final, "EVP_DecryptFinal_ex");
  sym(c.version, "OpenSSL_version");
  if (!ok) {
    *error = "libcrypto.so.3 lacks an EVP function this program uses (not OpenSSL 3?)";
    return nullptr;
  }
  c.sha256 = c.md_fetch(nullptr, "SHA2-256", nullptr);
  c.aes256gcm = c.cipher_fetch(nullptr, "AES-256-GCM", nullptr);
  if (c.sha256 == nullptr || c.aes256gcm == nullptr) {
    *error = "libcrypto.so.3 offers no SHA2-256 or AES-256-GCM (its configuration?)";
    return nullptr;
  }
  return &c;
}

std::once_flag g_load_once;
std::string g_load_error;               // written once, before g_load_tried
std::atomic<bool> g_load_tried{false};  // the load has run (g_load_error is final)
void LoadOnce() {
  std::call_once(g_load_once, [] {
    g_loaded = LoadLibCrypto(&g_load_error);
    g_libcrypto.store(g_loaded, std::memory_order_release);
    g_load_tried.store(true, std::memory_order_release);
  });
}

// libcrypto when it is loaded now; nullptr: use Nettle.
const LibCrypto* Bulk() { return g_libcrypto.load(std::memory_order_acquire); }

}  // namespace

void RequireBulkCrypto() { LoadOnce(); }
bool BulkCryptoLoaded() { return Bulk() != nullptr; }
std::string BulkCryptoLoadError() {
  return g_load_tried.load(std::memory_order_acquire) ? g_load_error : std::string();
}
std::string BulkCryptoWarning() {
  const std::string why = BulkCryptoLoadError();
  if (why.empty()) return why;
  return "OpenSSL's libcrypto could not be used (" + why +
         "); Nettle did its work: same result, slower";
}
std::string CryptoVersions() {
  LoadOnce();
  const std::string nettle = "Nettle " + std::to_string(nettle_version_major()) + "." +
                             std::to_string(nettle_version_minor());
  std::string out = "crypto: ";
  if (g_loaded != nullptr) {
    out += std::string(g_loaded->version(0 /* OPENSSL_VERSION */)) +
           ": bulk AES-256-GCM and SHA-256 (loaded when needed)\n        " + nettle +
           ": start-up checks, HMAC, HKDF, Keccak-256";
  } else {
    out += nettle + ": all symmetric crypto (libcrypto: " + g_load_error + ")";
  }
  return out + "\n        libsodium " + sodium_version_string() + ": Ed25519, X25519, randomness";
}
bool UseBulkCryptoForTesting(bool libcrypto) {
  if (libcrypto) LoadOnce();
  g_libcrypto.store(libcrypto ? g_loaded : nullptr, std::memory_order_release);
  return !libcrypto || g_loaded != nullptr;
}

struct BulkCryptoLoaderThread {
  std::thread thread;
};

BulkCryptoLoader::BulkCryptoLoader() : thread_(std::make_unique<BulkCryptoLoaderThread>()) {}
void BulkCryptoLoader::Start() {
  if (thread_->thread.joinable() || BulkCryptoLoaded()) return;
  try {
    thread_->thread = std::thread([] {
      // Lowest priority: it takes a core nobody else wants.
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
      LoadOnce();
    });
  } catch (const std::system_error&) {
    // No thread: Nettle goes on doing the work.
  }
}
BulkCryptoLoader::~BulkCryptoLoader() {
  if (thread_->thread.joinable()) thread_->thread.join();
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

// One hasher, on whichever implementation was ready when it was made.
struct Sha256Impl {
  const LibCrypto* lib = nullptr;  // with libcrypto's context, or
  EVP_MD_CTX* evp = nullptr;
  sha256_ctx nettle;  // Nettle's
};

Sha256::Sha256() {
  auto* h = new Sha256Impl;
  const LibCrypto* c = Bulk();
  if (c != nullptr) h->evp = c->md_ctx_new();
  if (h->evp != nullptr) {
    h->lib = c;
    c->digest_init(h->evp, c->sha256, nullptr);
  } else {
    sha256_init(&h->nettle);
  }
  ctx_ = h;
}
Sha256::~Sha256() {
  auto* h = static_cast<Sha256Impl*>(ctx_);
  if (h->evp != nullptr) h->lib->md_ctx_free(h->evp);
  delete h;
}
void Sha256::Update(const uint8_t* p, size_t n) {
  auto* h = static_cast<Sha256Impl*>(ctx_);
  if (h->evp != nullptr) {
    h->lib->digest_update(h->evp, p, n);
  } else {
    sha256_update(&h->nettle, n, p);
  }
}
Hash32 Sha256::Peek() const {
  auto* h = static_cast<const Sha256Impl*>(ctx_);
  Hash32 out{};
  if (h->evp != nullptr) {
    const LibCrypto* c = h->lib;
    EVP_MD_CTX* copy = c->md_ctx_new();
    c->md_ctx_copy(copy, h->evp);
    unsigned int len = 0;
    c->digest_final(copy, out.data(), &len);
    c->md_ctx_free(copy);
  } else {
    sha256_ctx copy = h->nettle;
    sha256_digest(&copy, out.size(), out.data());
  }
  return out;
}
Hash32 Sha256::Final() {
  auto* h = static_cast<Sha256Impl*>(ctx_);
  Hash32 out{};
  if (h->evp != nullptr) {
    const LibCrypto* c = h->lib;
    unsigned int len = 0;
    c->digest_final(h->evp, out.data(), &len);
    c->digest_init(h->evp, c->sha256, nullptr);
  } else {
    sha256_digest(&h->nettle, out.size(), out.data());  // also starts over
  }
  return out;
}
Hash32 Sha256Of(ByteView b) {
  Sha256 h;
  h.Update(b);
  return h.Final();
}

Hash32 HmacSha256(ByteView key, ByteView msg) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), key.data());
  hmac_sha256_update(&ctx, msg.size(), msg.data());
  Hash32 out{};
  hmac_sha256_digest(&ctx, out.size(), out.data());
  Wipe(&ctx, sizeof ctx);
  return out;
}

void HkdfSha256(ByteView ikm, ByteView info, uint8_t* out, size_t out_len) {
  if (out_len > 255 * SHA256_DIGEST_SIZE) std::abort();  // RFC 5869's limit; callers ask ≤ 64
  // Extract with an empty salt (RFC 5869: a string of HashLen zeros), then expand.
  hmac_sha256_ctx ctx;
  uint8_t salt[SHA256_DIGEST_SIZE] = {}, prk[SHA256_DIGEST_SIZE];
  hmac_sha256_set_key(&ctx, sizeof salt, salt);
  hkdf_extract(&ctx, reinterpret_cast<nettle_hash_update_func*>(hmac_sha256_update),
               reinterpret_cast<nettle_hash_digest_func*>(hmac_sha256_digest), SHA256_DIGEST_SIZE,
               ikm.size(), ikm.data(), prk);
  hmac_sha256_set_key(&ctx, sizeof prk, prk);
  hkdf_expand(&ctx, reinterpret_cast<nettle_hash_update_func*>(hmac_sha256_update),
              reinterpret_cast<nettle_hash_digest_func*>(hmac_sha256_digest), SHA256_DIGEST_SIZE,
              info.size(), info.data(), out_len, out);
  Wipe(prk, sizeof prk);
  Wipe(&ctx, sizeof ctx);
}

bool AesGcmSeal(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView plain,
                uint8_t* out) {
  if (const LibCrypto* c = Bulk()) {
    EVP_CIPHER_CTX* x = c->cipher_ctx_new();
    int len = 0;
    bool ok = x && c->encrypt_init(x, c->aes256gcm, nullptr, key, nonce) == 1 &&
              c->encrypt_update(x, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
              c->encrypt_update(x, out, &len, plain.data(), static_cast<int>(plain.size())) == 1 &&
              c->encrypt_final(x, out + len, &len) == 1 &&
              c->cipher_ctx_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, out + plain.size()) == 1;
    c->cipher_ctx_free(x);
    return ok;
  }
  gcm_aes256_ctx g;
  gcm_aes256_set_key(&g, key);
  gcm_aes256_set_iv(&g, 12, nonce);
  gcm_aes256_update(&g, aad.size(), aad.data());
  gcm_aes256_encrypt(&g, plain.size(), out, plain.data());
  gcm_aes256_digest(&g, 16, out + plain.size());
  Wipe(&g, sizeof g);
  return true;
}

bool AesGcmOpen(const uint8_t key[32], const uint8_t nonce[12], ByteView aad, ByteView sealed,
                uint8_t* out) {
  if (sealed.size() < 16) return false;
  size_t n = sealed.size() - 16;
  bool ok;
  if (const LibCrypto* c = Bulk()) {
    EVP_CIPHER_CTX* x = c->cipher_ctx_new();
    int len = 0;
    uint8_t tag[16];
    std::memcpy(tag, sealed.data() + n, 16);
    ok = x && c->decrypt_init(x, c->aes256gcm, nullptr, key, nonce) == 1 &&
         c->decrypt_update(x, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
         c->decrypt_update(x, out, &len, sealed.data(), static_cast<int>(n)) == 1 &&
         c->cipher_ctx_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
         c->decrypt_final(x, out + len, &len) == 1;
    c->cipher_ctx_free(x);
  } else {
    gcm_aes256_ctx g;
    uint8_t tag[16];
    gcm_aes256_set_key(&g, key);
    gcm_aes256_set_iv(&g, 12, nonce);
    gcm_aes256_update(&g, aad.size(), aad.data());
    gcm_aes256_decrypt(&g, n, out, sealed.data());
    gcm_aes256_digest(&g, 16, tag);
    ok = memeql_sec(tag, sealed.data() + n, 16) != 0;
    Wipe(&g, sizeof g);
  }
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
