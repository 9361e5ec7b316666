// EIP-712 hashing for the SDK's fixed message types. hashStruct(s) = keccak256(typeHash ‖
// encodeData(s)) where each member is one 32-byte word: string → keccak256 of its UTF-8 bytes,
// bytes32 as is, address left-padded, uintN as a 256-bit big-endian integer. None of our types
// reference other structs, so the type string is just the primary type.
#include "chain/eip712.h"

#include "format/bytes.h"
#include "format/keccak.h"

namespace capsule::chain::eip712 {
namespace {

class Words {
 public:
  Words& Hash(const Hash32& h) {
    out_.insert(out_.end(), h.begin(), h.end());
    return *this;
  }
  Words& String(std::string_view s) { return Hash(format::Keccak256(s)); }
  Words& Addr(const Address& a) {
    out_.insert(out_.end(), 12, 0);
    out_.insert(out_.end(), a.begin(), a.end());
    return *this;
  }
  Words& Uint(const U256& v) { return Hash(v.be); }
  Hash32 Keccak() const { return format::Keccak256(out_.data(), out_.size()); }

 private:
  format::Bytes out_;
};

std::string Hex0x(const Hash32& h) { return "0x" + format::HexEncode(h); }

std::string DomainType(const Domain& d) {
  std::string t = "EIP712Domain(string name,string version";
  if (d.chain_id) t += ",uint256 chainId";
  if (d.verifying_contract) t += ",address verifyingContract";
  return t + ")";
}

}  // namespace

Hash32 Domain::Separator() const {
  Words w;
  w.String(DomainType(*this)).String(name).String(version);
  if (chain_id) w.Uint(U256::FromU64(*chain_id));
  if (verifying_contract) w.Addr(*verifying_contract);
  return w.Keccak();
}

nlohmann::json Domain::ToJson() const {
  nlohmann::json j = {{"name", name}, {"version", version}};
  if (chain_id) j["chainId"] = *chain_id;
  if (verifying_contract) j["verifyingContract"] = format::EvmAddressLower(*verifying_contract);
  return j;
}

nlohmann::json Domain::TypesJson() const {
  nlohmann::json t = nlohmann::json::array();
  t.push_back({{"name", "name"}, {"type", "string"}});
  t.push_back({{"name", "version"}, {"type", "string"}});
  if (chain_id) t.push_back({{"name", "chainId"}, {"type", "uint256"}});
  if (verifying_contract) t.push_back({{"name", "verifyingContract"}, {"type", "address"}});
  return t;
}

Hash32 Digest(const Domain& domain, const Hash32& struct_hash) {
  format::Bytes m = {0x19, 0x01};
  Hash32 sep = domain.Separator();
  m.insert(m.end(), sep.begin(), sep.end());
  m.insert(m.end(), struct_hash.begin(), struct_hash.end());
  return format::Keccak256(m.data(), m.size());
}

Hash32 CreatorBinding::StructHash() const {
  return Words().String(kType).Addr(creator).Hash(signing_key).Keccak();
}

nlohmann::json CreatorBinding::ToJson() const {
  return {{"creator", format::EvmAddressLower(creator)}, {"signingKey", Hex0x(signing_key)}};
}

Hash32 LicenseRequest::StructHash() const {
  return Words()
      .String(kType)
      .Addr(holder)
      .Hash(holder_ed25519)
      .Hash(holder_x25519)
      .Hash(manifest_hash)
      .Uint(token_id)
      .String(model)
      .Uint(nonce)
      .Uint(U256::FromU64(expiry))
      .Keccak();
}

nlohmann::json LicenseRequest::ToJson() const {
  // uint256 values go out as decimal strings (JSON numbers lose precision past 2^53 in most
  // readers); expiry fits a double exactly for any real date, so it stays a number.
  return {{"holder", format::EvmAddressLower(holder)},
          {"holderEd25519", Hex0x(holder_ed25519)},
          {"holderX25519", Hex0x(holder_x25519)},
          {"manifestHash", Hex0x(manifest_hash)},
          {"tokenId", token_id.ToDecimal()},
          {"model", model},
          {"nonce", nonce.ToDecimal()},
          {"expiry", expiry}};
}

}  // namespace capsule::chain::eip712
