// docs/spec/chain.md §3.
#include "chain/creator_binding.h"

#include <algorithm>

#include "chain/eip712.h"
#include "chain/secp256k1.h"
#include "format/bytes.h"
#include "format/canonical_json.h"

namespace capsule::chain {

namespace {
Hash32 BindingDigest(const Address& creator, const Hash32& key) {
  eip712::CreatorBinding b;
  b.creator = creator;
  b.signing_key = key;
  return eip712::Digest(eip712::Domain{}, b.StructHash());
}
}  // namespace

Result<std::string> MakeCreatorBinding(const Address& creator, const Hash32& ed25519_key,
                                       const uint8_t secp256k1_secret[32]) {
  auto self = AddressOfSecret(secp256k1_secret);
  if (!self || *self != creator)
    return Status(Code::Usage, "the key's EVM address is not the creator address " +
                                   format::EvmAddressChecksum(creator));
  CAPSULE_ASSIGN_OR_RETURN(RecoverableSignature sig,
                           SignDigest(secp256k1_secret, BindingDigest(creator, ed25519_key)));
  return "0x" + format::HexEncode(sig.ToRsv());
}

Result<BindingState> CheckCreatorBinding(const nlohmann::json& manifest, const std::string& where) {
  const nlohmann::json& creator = format::JsonAt(manifest, "creator");
  const nlohmann::json& b = format::JsonAt(creator, "binding");
  if (b.is_null()) return BindingState::kAbsent;
  auto bad = [&](const std::string& why) {
    return Status(Code::CreatorBindingInvalid, where + ": creator.binding " + why);
  };
  std::string s = b.is_string() ? b.get<std::string>() : "";
  if (s.size() != 132 || s.compare(0, 2, "0x") != 0) return bad("is not 0x + 130 hex digits");
  auto sig = format::HexDecode(std::string_view(s).substr(2));
  if (!sig) return bad("is not 0x + 130 hex digits");
  auto rsv = ParseRsv(*sig);
  if (!rsv) return bad("is not a valid secp256k1 signature (r ‖ s ‖ v, low s)");
  auto addr = format::ParseEvmAddress(format::JsonStr(creator, "address"));
  auto key = format::HexDecode(format::JsonStr(creator, "ed25519"));
  if (!addr || addr->size() != 20 || !key || key->size() != 32)
    return bad("cannot be checked: creator.address or creator.ed25519 is malformed");
  Address a;
  Hash32 k;
  std::copy(addr->begin(), addr->end(), a.begin());
  std::copy(key->begin(), key->end(), k.begin());
  auto who = RecoverAddress(BindingDigest(a, k), *rsv);
  if (!who || *who != a)
    return bad("was not made by creator.address " + format::EvmAddressChecksum(a) +
               (who ? " (it recovers " + format::EvmAddressChecksum(*who) + ")" : ""));
  return BindingState::kValid;
}

Result<std::string> CreatorBindingHook(const std::string& manifest_json, const std::string& where) {
  auto j = nlohmann::json::parse(manifest_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::ManifestInvalid, where + ": manifest is not JSON");
  CAPSULE_ASSIGN_OR_RETURN(BindingState s, CheckCreatorBinding(j, where));
  return std::string(s == BindingState::kValid ? "valid" : "absent");
}

}  // namespace capsule::chain
