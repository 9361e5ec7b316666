// docs/spec/chain.md §5.
#include "chain/access_token.h"

#include "chain/abi.h"
#include "chain/creator_binding.h"
#include "format/bytes.h"

namespace capsule::chain {

using abi::Decoder;
using abi::Encoder;
using format::EvmAddressChecksum;
using format::HexEncode;

namespace {

// The answer to eth_call of `calldata` (the call `what`) at `block`, exactly `words` words
// decoded by `decode`. A malformed answer names the endpoint, the call and the contract: the
// decoder alone says only which word was wrong.
template <typename T, typename F>
Result<T> CallDecoded(const RpcClient& rpc, const Address& contract, const std::string& what,
                      const format::Bytes& calldata, const std::string& block, size_t words,
                      F decode) {
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes ret, rpc.EthCall(contract, calldata, block));
  const std::string where = rpc.url() + ": " + what + " on " + EvmAddressChecksum(contract);
  auto d = Decoder::Create(ret, words);
  if (!d.ok()) return d.status().WithContext(where);
  Result<T> r = decode(*d);
  if (!r.ok()) return r.status().WithContext(where);
  return r;
}

}  // namespace

Result<TokenInfo> ReadTokenInfo(const RpcClient& rpc, const Address& contract, const U256& token_id,
                                const std::string& block) {
  return CallDecoded<TokenInfo>(rpc, contract, "tokenInfo(" + token_id.ToDecimal() + ")",
                                Encoder("tokenInfo(uint256)").Uint(token_id).Finish(), block, 4,
                                [](const Decoder& d) -> Result<TokenInfo> {
                                  TokenInfo t;
                                  CAPSULE_ASSIGN_OR_RETURN(t.manifest_hash, d.Bytes32(0));
                                  CAPSULE_ASSIGN_OR_RETURN(t.creator_key, d.Bytes32(1));
                                  CAPSULE_ASSIGN_OR_RETURN(t.creator, d.Address(2));
                                  return t;
                                });
}

Result<AccessTokenReader> AccessTokenReader::Create(const AccessTokenOptions& o) {
  RpcOptions ro;
  ro.url = o.url;
  ro.timeout_ms = o.timeout_ms;
  CAPSULE_ASSIGN_OR_RETURN(RpcClient rpc, RpcClient::Create(ro));
  return AccessTokenReader(std::move(rpc), o.confirmations);
}

std::string AccessTokenReader::Describe() const {
  std::string d = "evm:" + rpc_.url();
  if (bound_)
    d += " (chain " + std::to_string(token_.chain_id) + ", contract " +
         EvmAddressChecksum(token_.contract) + ", block " + std::to_string(block_) + ")";
  return d;
}

Status AccessTokenReader::Bind(const format::OpenedCapsule& c) {
  const std::string& path = c.file.path();
  CAPSULE_ASSIGN_OR_RETURN(token_, TokenRefOf(c.manifest, c.manifest_bytes, c.info.id, path));
  // The creator binding first: offline, and without it no chain record can vouch for the key.
  CAPSULE_ASSIGN_OR_RETURN(BindingState b, CheckCreatorBinding(c.manifest, path));
  if (b == BindingState::kAbsent)
    return Status(Code::NoCreatorBinding,
                  path +
                      ": the manifest has no creator.binding; pack it with the creator's key "
                      "file, whose EVM address must be creator.address");

  CAPSULE_ASSIGN_OR_RETURN(uint64_t chain_id, rpc_.ChainId());
  if (chain_id != token_.chain_id)
    return Status(Code::ChainWrongId, rpc_.url() + " serves chain " + std::to_string(chain_id) +
                                          "; " + path + " names chain " +
                                          std::to_string(token_.chain_id));
  CAPSULE_ASSIGN_OR_RETURN(uint64_t head, rpc_.BlockNumber());
  block_ = head >= confirmations_ ? head - confirmations_ : 0;
  block_tag_ = U256::FromU64(block_).ToQuantity();
  CAPSULE_ASSIGN_OR_RETURN(uint64_t ts, rpc_.BlockTimestamp(block_));
  block_time_ = static_cast<int64_t>(ts);

  CAPSULE_ASSIGN_OR_RETURN(format::Bytes code, rpc_.GetCode(token_.contract, block_tag_));
  if (code.empty())
    return Status(Code::ChainNoContract,
                  "chain " + std::to_string(chain_id) + ": no contract code at " +
                      EvmAddressChecksum(token_.contract) + " (block " + std::to_string(block_) +
                      (confirmations_ > 0 ? ", " + std::to_string(confirmations_) +
                                                " behind the head: a contract deployed since is "
                                                "not seen yet (--confirmations)"
                                          : std::string()) +
                      ")");

  CAPSULE_ASSIGN_OR_RETURN(TokenInfo info,
                           ReadTokenInfo(rpc_, token_.contract, token_.token_id, block_tag_));
  const Hash32& manifest_hash = info.manifest_hash;
  const Hash32& creator_key = info.creator_key;
  const Address& creator = info.creator;
  std::string token =
      "token " + token_.token_id.ToDecimal() + " of " + EvmAddressChecksum(token_.contract);
  if (creator == Address{})
    return Status(Code::ChainTokenUnknown, token + " is not registered (block " +
                                               std::to_string(block_) + "); mint it first");
  if (manifest_hash != token_.manifest_hash)
    return Status(Code::ChainManifestMismatch,
                  token + " records manifest " + HexEncode(manifest_hash) + ", but " + path +
                      " has manifest " + HexEncode(token_.manifest_hash));
  if (creator_key != token_.creator_key)
    return Status(Code::ChainCreatorKeyMismatch,
                  token + " records creator key " + HexEncode(creator_key) + ", but " + path +
                      " is signed by " + HexEncode(token_.creator_key));
  if (creator != token_.creator)
    return Status(Code::ChainCreatorKeyMismatch,
                  token + " was registered by " + EvmAddressChecksum(creator) +
                      ", not by the capsule's creator " + EvmAddressChecksum(token_.creator));
  bound_ = true;
  return Status::Ok();
}

Result<Access> AccessTokenReader::AccessOf(const Address& h) const {
  if (!bound_) return Status(Code::Internal, "access-token reader used before Bind");
  const std::string args = "(" + EvmAddressChecksum(h) + ", " + token_.token_id.ToDecimal() + ")";
  auto q1 = Encoder("hasAccess(address,uint256)").Address(h).Uint(token_.token_id).Finish();
  CAPSULE_ASSIGN_OR_RETURN(
      bool has, CallDecoded<bool>(rpc_, token_.contract, "hasAccess" + args, q1, block_tag_, 1,
                                  [](const Decoder& d) { return d.Bool(0); }));
  Access out;
  out.has = has;
  if (!has) return out;
  auto q2 = Encoder("accessExpiry(address,uint256)").Address(h).Uint(token_.token_id).Finish();
  CAPSULE_ASSIGN_OR_RETURN(
      U256 exp, CallDecoded<U256>(rpc_, token_.contract, "accessExpiry" + args, q2, block_tag_, 1,
                                  [](const Decoder& d) { return d.Uint(0); }));
  if (!exp.FitsU64() || exp.IsZero())
    return Status(Code::ChainBadResponse, Describe() + ": accessExpiry answered " +
                                              exp.ToDecimal() + " for a holder with access");
  if (exp.ToU64() != UINT64_MAX) out.expires = static_cast<int64_t>(exp.ToU64());
  return out;
}

}  // namespace capsule::chain
