// docs/spec/chain.md §6.
#include "chain/license_request.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "chain/secp256k1.h"
#include "format/bytes.h"
#include "format/canonical_json.h"

namespace capsule::chain {
namespace {

constexpr const char* kFileType = "capsule-license-request";

nlohmann::json TypesJson(const eip712::Domain& d) {
  return {{"EIP712Domain", d.TypesJson()},
          {"LicenseRequest",
           {{{"name", "holder"}, {"type", "address"}},
            {{"name", "holderEd25519"}, {"type", "bytes32"}},
            {{"name", "holderX25519"}, {"type", "bytes32"}},
            {{"name", "manifestHash"}, {"type", "bytes32"}},
            {{"name", "tokenId"}, {"type", "uint256"}},
            {{"name", "model"}, {"type", "string"}},
            {{"name", "nonce"}, {"type", "uint256"}},
            {{"name", "expiry"}, {"type", "uint64"}}}}};
}

Hash32 DigestOf(const eip712::Domain& d, const eip712::LicenseRequest& m) {
  return eip712::Digest(d, m.StructHash());
}

}  // namespace

Result<std::string> MakeLicenseRequest(const eip712::Domain& domain,
                                       const eip712::LicenseRequest& message,
                                       const uint8_t secp256k1_secret[32]) {
  auto self = AddressOfSecret(secp256k1_secret);
  if (!self || *self != message.holder)
    return Status(Code::Internal, "licence request: the key is not the holder's");
  CAPSULE_ASSIGN_OR_RETURN(RecoverableSignature sig,
                           SignDigest(secp256k1_secret, DigestOf(domain, message)));
  nlohmann::json j = {{"type", kFileType},
                      {"version", 1},
                      {"typed_data",
                       {{"types", TypesJson(domain)},
                        {"primaryType", "LicenseRequest"},
                        {"domain", domain.ToJson()},
                        {"message", message.ToJson()}}},
                      {"signature", "0x" + format::HexEncode(sig.ToRsv())}};
  return j.dump(2) + "\n";
}

Result<SignedLicenseRequest> ParseLicenseRequest(const std::string& text,
                                                 const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status(Code::LicenseRequestMalformed, where + ": " + why);
  };
  nlohmann::json j = format::ParseJsonText(text);
  if (!j.is_object()) return bad("not a JSON object");
  auto keys_are = [](const nlohmann::json& o, std::initializer_list<const char*> ks) {
    if (!o.is_object() || o.size() != ks.size()) return false;
    for (const char* k : ks)
      if (!o.contains(k)) return false;
    return true;
  };
  if (!keys_are(j, {"type", "version", "typed_data", "signature"}) || j["type"] != kFileType ||
      j["version"] != 1)
    return bad("not a version-1 capsule-license-request (type, version, typed_data, signature)");
  const nlohmann::json& td = j["typed_data"];
  if (!keys_are(td, {"types", "primaryType", "domain", "message"}) ||
      td["primaryType"] != "LicenseRequest")
    return bad("typed_data must hold types, primaryType LicenseRequest, domain and message");

  auto str = [](const nlohmann::json& o, const char* k) -> std::optional<std::string> {
    if (!o.contains(k) || !o[k].is_string()) return std::nullopt;
    return o[k].get<std::string>();
  };
  auto hex32 = [&](const nlohmann::json& o, const char* k, Hash32* out) {
    auto s = str(o, k);
    if (!s || s->size() != 66 || s->compare(0, 2, "0x") != 0) return false;
    auto b = format::HexDecode(std::string_view(*s).substr(2));
    if (!b) return false;
    std::copy(b->begin(), b->end(), out->begin());
    return true;
  };
  auto addr = [&](const nlohmann::json& o, const char* k, Address* out) {
    auto s = str(o, k);
    auto b = s ? format::ParseEvmAddress(*s) : std::nullopt;
    if (!b) return false;
    std::copy(b->begin(), b->end(), out->begin());
    return true;
  };

  SignedLicenseRequest r;
  const nlohmann::json& d = td["domain"];
  Address contract{};
  if (!keys_are(d, {"name", "version", "chainId", "verifyingContract"}) ||
      d["name"] != r.domain.name || d["version"] != r.domain.version ||
      !d["chainId"].is_number_unsigned() || !addr(d, "verifyingContract", &contract))
    return bad(
        "the domain must be {name: \"Capsule SDK\", version: \"1\", chainId, "
        "verifyingContract}");
  r.domain.chain_id = d["chainId"].get<uint64_t>();
  r.domain.verifying_contract = contract;
  if (td["types"] != TypesJson(r.domain))
    return bad("types are not the LicenseRequest types of docs/spec/chain.md §6");

  const nlohmann::json& m = td["message"];
  auto& q = r.message;
  if (!keys_are(m, {"holder", "holderEd25519", "holderX25519", "manifestHash", "tokenId", "model",
                    "nonce", "expiry"}))
    return bad("the message must hold exactly the LicenseRequest fields");
  // Decimal strings in their one form (no sign, no leading zero): the signature covers the
  // number, so "007" would verify — but a strict parse (docs/spec/chain.md §6) accepts one text.
  auto decimal = [&](const char* k) -> std::optional<U256> {
    auto t = str(m, k);
    if (!t || t->empty() || (t->size() > 1 && (*t)[0] == '0')) return std::nullopt;
    return U256::FromDecimal(*t);
  };
  auto token_id = decimal("tokenId");
  auto nonce = decimal("nonce");
  auto model = str(m, "model");
  if (!addr(m, "holder", &q.holder) || !hex32(m, "holderEd25519", &q.holder_ed25519) ||
      !hex32(m, "holderX25519", &q.holder_x25519) || !hex32(m, "manifestHash", &q.manifest_hash) ||
      !token_id || !nonce || !model || model->empty() || !m["expiry"].is_number_unsigned())
    return bad(
        "a message field is malformed (addresses 0x+40 hex, bytes32 0x+64 hex, tokenId "
        "and nonce decimal strings, model a string, expiry a number)");
  q.token_id = *token_id;
  q.nonce = *nonce;
  q.model = *model;
  q.expiry = m["expiry"].get<uint64_t>();

  auto sig_hex = str(j, "signature");
  if (!sig_hex || sig_hex->size() != 132 || sig_hex->compare(0, 2, "0x") != 0)
    return bad("signature must be 0x + 130 hex digits");
  auto sig_bytes = format::HexDecode(std::string_view(*sig_hex).substr(2));
  auto sig = sig_bytes ? ParseRsv(*sig_bytes) : std::nullopt;
  if (!sig) return bad("signature is not a valid secp256k1 r ‖ s ‖ v (low s)");
  auto who = RecoverAddress(DigestOf(r.domain, q), *sig);
  if (!who || *who != q.holder)
    return Status(Code::LicenseRequestBadSignature,
                  where + ": the signature was not made by the holder " +
                      format::EvmAddressChecksum(q.holder) + " over this request" +
                      (who ? " (it recovers " + format::EvmAddressChecksum(*who) + ")" : ""));
  r.signer = *who;
  return r;
}

Status CheckLicenseRequestFor(const SignedLicenseRequest& r, const TokenRef& token, int64_t now,
                              const std::string& where) {
  auto mismatch = [&](const std::string& what) {
    return Status(Code::LicenseRequestMismatch, where + ": the request names another " + what);
  };
  if (r.domain.chain_id != token.chain_id) return mismatch("chain");
  if (r.domain.verifying_contract != token.contract) return mismatch("contract");
  if (r.message.token_id != token.token_id) return mismatch("token id");
  if (r.message.manifest_hash != token.manifest_hash) return mismatch("manifest (capsule)");
  if (now < 0 || r.message.expiry <= static_cast<uint64_t>(now))
    return Status(Code::LicenseRequestExpired,
                  where + ": the request expired at " + std::to_string(r.message.expiry));
  return Status::Ok();
}

namespace {
// "CHAINID 0xCONTRACT 0xHOLDER NONCE": canonical decimals, lowercase addresses, single spaces.
bool IsNonceRecord(std::string_view rec) {
  auto decimal = [](std::string_view d) {
    return !d.empty() && d.size() <= 78 && (d.size() == 1 || d[0] != '0') &&
           d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  auto address = [](std::string_view a) {
    return a.size() == 42 && a.substr(0, 2) == "0x" &&
           a.find_first_not_of("0123456789abcdef", 2) == std::string_view::npos;
  };
  std::string_view f[4];
  for (int i = 0; i < 4; ++i) {
    const size_t sp = i < 3 ? rec.find(' ') : rec.size();
    if (sp == std::string_view::npos) return false;
    f[i] = rec.substr(0, sp);
    rec.remove_prefix(i < 3 ? sp + 1 : sp);
  }
  return rec.empty() && decimal(f[0]) && address(f[1]) && address(f[2]) && decimal(f[3]);
}
}  // namespace

Status RecordRequestNonce(const std::string& path, const SignedLicenseRequest& r) {
  std::string line = std::to_string(*r.domain.chain_id) + " " +
                     format::EvmAddressLower(*r.domain.verifying_contract) + " " +
                     format::EvmAddressLower(r.message.holder) + " " + r.message.nonce.ToDecimal() +
                     "\n";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::IoOpen, path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (flock(fd, LOCK_EX) != 0) return Status(Code::IoOpen, path + ": cannot lock");
  std::string all;
  char buf[65536];
  for (off_t off = 0;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(Code::IoRead, path + ": " + std::strerror(errno));
    if (n == 0) break;
    all.append(buf, static_cast<size_t>(n));
    off += n;
  }
  // Every line must be a record: a line the check cannot read (an edit, a torn append) could
  // be a nonce it then fails to see, so the log is refused rather than trusted (fail closed).
  if (!all.empty() && all.back() != '\n')
    return Status(Code::NonceLogCorrupt, path + ": the last line is unterminated; repair the log " +
                                             "(or move it away to start a new one)");
  size_t line_no = 0;
  bool seen = false;
  for (size_t at = 0; at < all.size();) {
    const size_t end = all.find('\n', at);
    const std::string_view rec(all.data() + at, end - at);
    ++line_no;
    if (!IsNonceRecord(rec))
      return Status(Code::NonceLogCorrupt,
                    path + ": line " + std::to_string(line_no) +
                        " is not `chainId contract holder nonce`; repair the log (or move it "
                        "away to start a new one)");
    seen |= rec == std::string_view(line).substr(0, line.size() - 1);
    at = end + 1;
  }
  if (seen)
    return Status(Code::LicenseRequestReplayed, "nonce " + r.message.nonce.ToDecimal() + " of " +
                                                    format::EvmAddressChecksum(r.message.holder) +
                                                    " was already used (" + path + ")");
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || fsync(fd) != 0)
    return Status(Code::IoWrite, path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace capsule::chain
