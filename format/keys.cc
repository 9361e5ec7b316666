// Key-file codec. The secret blob is 96 bytes; when protected it is sealed with
// XChaCha20-Poly1305 under an Argon2id13 key (libsodium crypto_pwhash) from the passphrase.
// On load the public keys are re-derived from the secrets and must equal the recorded ones.
#include "format/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "format/canonical_json.h"
#include "format/file.h"

namespace capsule::format {
namespace {
constexpr std::string_view kProtectionNone = "none";
constexpr std::string_view kProtectionPw = "argon2id13-xchacha20poly1305";

nlohmann::json PublicJson(const PublicIdentity& p) {
  return {{"type", "capsule-public-key"},        {"version", 1},
          {"ed25519", HexEncode(p.ed25519)},     {"x25519", HexEncode(p.x25519)},
          {"secp256k1", HexEncode(p.secp256k1)}, {"address", p.AddressChecksummed()}};
}

bool DerivePublic(SecretIdentity& id) {
  uint8_t pk[32];
  Ed25519KeypairFromSeed(id.secret.data(), pk, id.ed25519_sk.data());
  std::memcpy(id.pub.ed25519.data(), pk, 32);
  X25519PublicFromSecret(id.secret.data() + 32, id.pub.x25519.data());
  if (!Secp256k1PublicKey(id.secret.data() + 64, id.pub.secp256k1.data())) return false;
  id.pub.address = EvmAddressOf(id.pub.secp256k1.data());
  return true;
}

template <size_t N>
bool HexField(const nlohmann::json& j, const char* key, std::array<uint8_t, N>* out) {
  if (!j.contains(key) || !j[key].is_string()) return false;
  auto b = HexDecode(j[key].get<std::string>());
  if (!b || b->size() != N) return false;
  std::memcpy(out->data(), b->data(), N);
  return true;
}

Result<std::string> ReadTty(const std::string& prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return Status(Code::Usage,
                  "a passphrase is needed: set CAPSULE_PASSPHRASE or CAPSULE_PASSPHRASE_FILE "
                  "(no terminal to ask on)");
  if (write(fd, prompt.data(), prompt.size()) < 0) {
  }
  termios old{}, quiet{};
  bool have_tc = tcgetattr(fd, &old) == 0;
  if (have_tc) {
    quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (have_tc) tcsetattr(fd, TCSAFLUSH, &old);
  if (write(fd, "\n", 1) < 0) {
  }
  close(fd);
  return line;
}
}  // namespace

std::string PublicIdentity::KeyId() const {
  auto h = Sha256Of(ed25519);
  return "ed25519:" + HexEncode(ByteView(h.data(), 8));
}

std::string PublicIdentity::DidKey() const {
  Bytes b{0xed, 0x01};
  b.insert(b.end(), ed25519.begin(), ed25519.end());
  return "did:key:z" + Base58Encode(b);
}

std::string PublicIdentity::AddressChecksummed() const { return EvmAddressChecksum(address); }

std::string PublicIdentity::ToJson() const { return PublicJson(*this).dump(2) + "\n"; }

PassphraseSource DefaultPassphraseSource() {
  return [](const std::string& prompt) -> Result<std::string> {
    if (const char* p = std::getenv("CAPSULE_PASSPHRASE")) return std::string(p);
    if (const char* f = std::getenv("CAPSULE_PASSPHRASE_FILE")) {
      auto s = ReadSmallFile(f, 4096);
      if (!s.ok()) return s.status();
      std::string v = *s;
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      return v;
    }
    return ReadTty(prompt);
  };
}

Result<SecretIdentity> GenerateIdentity(const uint8_t* seed96) {
  CryptoInit();
  SecretIdentity id;
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (seed96)
      std::memcpy(id.secret.data(), seed96, 96);
    else
      RandomBytes(id.secret.data(), 96);
    if (DerivePublic(id)) return id;
    if (seed96) break;
  }
  return Status(Code::Internal, "could not derive a valid secp256k1 key");
}

Status WriteIdentity(const SecretIdentity& id, const std::string& key_path,
                     const std::string& pub_path, const std::optional<std::string>& passphrase,
                     bool overwrite) {
  nlohmann::json j = {
      {"type", "capsule-secret-key"}, {"version", 1}, {"public", PublicJson(id.pub)}};
  if (passphrase) {
    uint8_t salt[16], nonce[24];
    Secret<32> k;
    RandomBytes(salt, sizeof salt);
    RandomBytes(nonce, sizeof nonce);
    PwhashParams p = DefaultPwhashParams();
    if (!DeriveFromPassphrase(*passphrase, salt, p, k.data()))
      return Status(Code::Internal, "Argon2id failed (out of memory?)");
    Bytes sealed = XChaChaSeal(k.data(), nonce, id.secret.view());
    j["protection"] = kProtectionPw;
    j["kdf"] = {{"opslimit", p.opslimit},
                {"memlimit", p.memlimit},
                {"salt", Base64Encode(ByteView(salt, 16))}};
    j["nonce"] = Base64Encode(ByteView(nonce, 24));
    j["secret"] = Base64Encode(sealed);
  } else {
    j["protection"] = kProtectionNone;
    j["secret"] = Base64Encode(id.secret.view());
  }
  std::string text = j.dump(2) + "\n";
  CAPSULE_ASSIGN_OR_RETURN(AtomicOutput key_out, AtomicOutput::Create(key_path, overwrite, 0600));
  CAPSULE_ASSIGN_OR_RETURN(AtomicOutput pub_out, AtomicOutput::Create(pub_path, overwrite, 0644));
  Status s = key_out.Write(AsBytes(text));
  Wipe(text.data(), text.size());
  CAPSULE_RETURN_IF_ERROR(s);
  CAPSULE_RETURN_IF_ERROR(pub_out.Write(AsBytes(id.pub.ToJson())));
  CAPSULE_RETURN_IF_ERROR(key_out.Commit());
  return pub_out.Commit();
}

Result<PublicIdentity> PublicFromJson(const std::string& text, const std::string& where) {
  auto j = ParseJsonText(text);
  if (j.is_discarded() || !j.is_object())
    return Status(Code::BadKeyFile, where + ": not a key file (invalid JSON)");
  if (JsonStr(j, "type") == "capsule-secret-key" && j.contains("public")) j = j["public"];
  if (JsonStr(j, "type") != "capsule-public-key" || JsonInt(j, "version", 0) != 1)
    return Status(Code::BadKeyFile, where + ": not a capsule public key (type/version)");
  PublicIdentity p;
  if (!HexField(j, "ed25519", &p.ed25519) || !HexField(j, "x25519", &p.x25519) ||
      !HexField(j, "secp256k1", &p.secp256k1))
    return Status(Code::BadKeyFile, where + ": a key field is missing or malformed");
  p.address = EvmAddressOf(p.secp256k1.data());
  if (!j.contains("address") || !j["address"].is_string() ||
      j["address"].get<std::string>() != p.AddressChecksummed())
    return Status(Code::BadKeyFile, where + ": address does not match the secp256k1 key");
  return p;
}

// A key file's text. One above 64 KiB is no key file (bad-key-file, as a malformed one), not an
// I/O error: `--trust song.mp3` is a mistake about the file, not a failure to read it.
static Result<std::string> ReadKeyText(const std::string& path) {
  return ReadSmallFile(path, 64 * 1024, [&path](uint64_t size) {
    return Status(Code::BadKeyFile, path + ": not a key file (" + std::to_string(size) +
                                        " bytes; key files are under 1 KiB)");
  });
}

Result<PublicIdentity> LoadPublicKey(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(std::string text, ReadKeyText(path));
  return PublicFromJson(text, path);
}

Result<SecretIdentity> LoadSecretKey(const std::string& path, const PassphraseSource& pass) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Status(Code::IoOpen, path + ": cannot open: " + std::strerror(errno));
  CAPSULE_ASSIGN_OR_RETURN(std::string text, ReadKeyText(path));
  auto j = ParseJsonText(text);
  Wipe(text.data(), text.size());
  struct WipeSecretField {  // the parsed copy of the (base64) secret, on every way out
    nlohmann::json& j;
    ~WipeSecretField() {
      if (!j.is_object() || !j.contains("secret") || !j["secret"].is_string()) return;
      auto& b64 = j["secret"].get_ref<std::string&>();
      Wipe(b64.data(), b64.size());
    }
  } wipe_secret_field{j};
  // A public key given where the secret one belongs (`--key alice.pub`) is said so, before its
  // (public) permissions are held against it.
  if (j.is_object() && JsonStr(j, "type") == "capsule-public-key")
    return Status(Code::BadKeyFile, path +
                                        ": a public key file; this needs the secret key file "
                                        "(.key) made with it");
  if (st.st_mode & 077)
    return Status(
        Code::KeyFilePermissions,
        path + ": secret key file is readable by group or others (run: chmod 600 " + path + ")");
  if (j.is_discarded() || !j.is_object() || JsonStr(j, "type") != "capsule-secret-key" ||
      JsonInt(j, "version", 0) != 1 || !j.contains("secret") || !j["secret"].is_string() ||
      !j.contains("public"))
    return Status(Code::BadKeyFile, path + ": not a capsule secret key file");
  auto sec = Base64Decode(j["secret"].get<std::string>());
  if (!sec) return Status(Code::BadKeyFile, path + ": secret is not base64");
  SecretIdentity id;
  std::string protection = JsonStr(j, "protection");
  if (protection == kProtectionNone) {
    if (sec->size() != 96) return Status(Code::BadKeyFile, path + ": secret has the wrong size");
    std::memcpy(id.secret.data(), sec->data(), 96);
  } else if (protection == kProtectionPw) {
    if (!j.contains("kdf") || !j["kdf"].is_object() || !j.contains("nonce"))
      return Status(Code::BadKeyFile, path + ": kdf parameters missing");
    const auto& kdf = j["kdf"];
    auto salt = Base64Decode(JsonStr(kdf, "salt"));
    auto nonce = Base64Decode(JsonStr(j, "nonce"));
    if (!salt || salt->size() != 16 || !nonce || nonce->size() != 24 || sec->size() != 96 + 16 ||
        !kdf.contains("opslimit") || !kdf["opslimit"].is_number_unsigned() ||
        !kdf.contains("memlimit") || !kdf["memlimit"].is_number_unsigned())
      return Status(Code::BadKeyFile, path + ": malformed protected secret");
    Result<std::string> got = pass("Passphrase for " + path + ": ");
    if (!got.ok()) return got.status().WithContext(path);
    std::string pw = std::move(*got);
    Secret<32> k;
    PwhashParams p{kdf["opslimit"].get<uint64_t>(), kdf["memlimit"].get<uint64_t>()};
    bool ok = DeriveFromPassphrase(pw, salt->data(), p, k.data());
    Wipe(pw.data(), pw.size());
    if (!ok) return Status(Code::BadKeyFile, path + ": unusable kdf parameters");
    if (!XChaChaOpen(k.data(), nonce->data(), *sec, id.secret.data()))
      return Status(Code::BadPassphrase, path + ": wrong passphrase (or the file was changed)");
  } else {
    return Status(Code::BadKeyFile, path + ": unknown protection \"" + protection + "\"");
  }
  Wipe(sec->data(), sec->size());
  if (!DerivePublic(id)) return Status(Code::BadKeyFile, path + ": invalid secp256k1 secret");
  auto recorded = PublicFromJson(j["public"].dump(), path);
  if (!recorded.ok()) return recorded.status();
  if (recorded->ed25519 != id.pub.ed25519 || recorded->x25519 != id.pub.x25519 ||
      recorded->secp256k1 != id.pub.secp256k1)
    return Status(Code::BadKeyFile, path + ": public keys do not match the secret keys");
  return id;
}

std::string CapsuleHome() {
  if (const char* h = std::getenv("CAPSULE_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::string(x) + "/capsule";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/capsule";
}

std::string DefaultKeyPath() { return CapsuleHome() + "/default.key"; }

Result<std::string> GivenOrDefaultKey(const std::string& given, std::string_view flag) {
  if (!given.empty()) return given;
  std::string def = DefaultKeyPath();
  if (FileExists(def)) return def;
  return Status(Code::NoIdentity, "no " + std::string(flag) + " given and no default identity at " +
                                      def + "; create one with `capsulec keygen` (or pass " +
                                      std::string(flag) + " FILE.key)");
}

}  // namespace capsule::format
