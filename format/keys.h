// Key files (DESIGN §4): one format for an identity's Ed25519 (signing), X25519 (receiving
// sealed content keys) and secp256k1 (EVM address) keys. See docs/spec/key-files.md.
//   NAME.pub  — JSON {"type":"capsule-public-key","version":1,"ed25519","x25519","secp256k1",
//               "address"}
//   NAME.key  — JSON {"type":"capsule-secret-key","version":1,"public":{…as .pub…},
//               "protection":"none"|"argon2id13-xchacha20poly1305", "kdf":{…}, "nonce", "secret"}
// Secret files are created 0600 and refused when group/world readable.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/crypto.h"

namespace capsule::format {

struct PublicIdentity {
  std::array<uint8_t, 32> ed25519{};
  std::array<uint8_t, 32> x25519{};
  std::array<uint8_t, 65> secp256k1{};  // uncompressed
  std::array<uint8_t, 20> address{};

  std::string KeyId() const;   // "ed25519:" + hex of the first 8 bytes of SHA-256(pk)
  std::string DidKey() const;  // did:key:z6Mk… (multicodec ed25519-pub, base58btc)
  std::string AddressChecksummed() const;
  std::string ToJson() const;  // the .pub file content
};

struct SecretIdentity {
  // ed25519 seed ‖ x25519 secret ‖ secp256k1 secret
  Secret<96> secret;
  Secret<64> ed25519_sk;  // libsodium's expanded form (seed ‖ pk)
  PublicIdentity pub;
  const uint8_t* x25519_sk() const { return secret.data() + 32; }
};

// Where a passphrase comes from when a key file is protected: environment variable
// CAPSULE_PASSPHRASE, else the file named by CAPSULE_PASSPHRASE_FILE, else a prompt on the
// controlling terminal. Never the command line.
using PassphraseSource = std::function<Result<std::string>(const std::string& prompt)>;
PassphraseSource DefaultPassphraseSource();

Result<SecretIdentity> GenerateIdentity(const uint8_t* seed96 = nullptr);
// Writes NAME.key (0600) and NAME.pub atomically. Refuses existing files unless overwrite.
Status WriteIdentity(const SecretIdentity& id, const std::string& key_path,
                     const std::string& pub_path, const std::optional<std::string>& passphrase,
                     bool overwrite);
Result<SecretIdentity> LoadSecretKey(const std::string& path, const PassphraseSource& pass);
// Accepts a .pub file or the public part of a .key file.
Result<PublicIdentity> LoadPublicKey(const std::string& path);
Result<PublicIdentity> PublicFromJson(const std::string& text, const std::string& where);

// $CAPSULE_HOME, else $XDG_CONFIG_HOME/capsule, else ~/.config/capsule.
std::string CapsuleHome();
std::string DefaultKeyPath();  // CapsuleHome()/default.key
// `given` when not empty; else the default identity when it exists; else NoIdentity, naming the
// flag (`--key`, `--identity`) that would have given one.
Result<std::string> GivenOrDefaultKey(const std::string& given, std::string_view flag);

}  // namespace capsule::format
