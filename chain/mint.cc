// docs/spec/chain.md §7.
#include "chain/mint.h"

#include <chrono>
#include <thread>
#include <vector>

#include "chain/abi.h"
#include "chain/access_token.h"
#include "chain/rpc.h"
#include "chain/secp256k1.h"
#include "chain/tx.h"
#include "format/bytes.h"

namespace capsule::chain {

format::Bytes MintCalldata(const TokenRef& t, const Address& to, uint64_t amount, bool registered) {
  return abi::Encoder("mint(address,uint256,uint256,bytes32,bytes32,uint32,address[],uint32[])")
      .Address(to)
      .Uint(t.token_id)
      .Uint(amount)
      .Bytes32(t.manifest_hash)
      .Bytes32(t.creator_key)
      .Uint(t.royalty_ppm)
      .AddressArray(registered ? std::vector<Address>{} : t.recipients)
      .UintArray(registered ? std::vector<uint64_t>{} : t.allocations)
      .Finish();
}

nlohmann::json UnsignedMintRequest(const TokenRef& t, const Address& to, uint64_t amount) {
  return {{"to", format::EvmAddressChecksum(t.contract)},
          {"data", "0x" + format::HexEncode(MintCalldata(t, to, amount))},
          {"value", "0x0"},
          {"chainId", t.chain_id}};
}

Result<MintOutcome> SendMint(const TokenRef& t, const Address& to, uint64_t amount,
                             const uint8_t secret[32], const MintOptions& o) {
  auto from = AddressOfSecret(secret);
  if (!from) return Status(Code::Internal, "the minter key has no valid secp256k1 secret");
  RpcOptions ro;
  ro.url = o.rpc_url;
  ro.timeout_ms = o.timeout_ms;
  CAPSULE_ASSIGN_OR_RETURN(RpcClient rpc, RpcClient::Create(ro));
  CAPSULE_ASSIGN_OR_RETURN(uint64_t chain_id, rpc.ChainId());
  if (chain_id != t.chain_id)
    return Status(Code::ChainWrongId, o.rpc_url + " serves chain " + std::to_string(chain_id) +
                                          "; the capsule names chain " +
                                          std::to_string(t.chain_id));
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes code, rpc.GetCode(t.contract));
  if (code.empty())
    return Status(Code::ChainNoContract,
                  "no contract code at " + format::EvmAddressChecksum(t.contract));

  // Registered already?
  CAPSULE_ASSIGN_OR_RETURN(TokenInfo info, ReadTokenInfo(rpc, t.contract, t.token_id, "latest"));
  const bool registered = info.creator != Address{};
  if (!registered && *from != t.creator)
    return Status(Code::Usage,
                  "the first mint registers token " + t.token_id.ToDecimal() + " with its minter " +
                      "as the creator, and runtimes accept only the capsule's creator.address " +
                      format::EvmAddressChecksum(t.creator) + "; mint with that key, not " +
                      format::EvmAddressChecksum(*from) + " (nothing was sent)");

  Eip1559Tx tx;
  tx.chain_id = chain_id;
  tx.to = t.contract;
  tx.data = MintCalldata(t, to, amount, registered);
  auto gas = rpc.EstimateGas(*from, t.contract, tx.data);
  if (!gas.ok()) {
    if (gas.status().code() == Code::ChainRpcError)  // the node ran the call and it reverted
      return Status(Code::ChainTxFailed,
                    "the contract refuses this mint: " + gas.status().detail());
    return gas.status();
  }
  tx.gas_limit = *gas + *gas / 5;
  CAPSULE_ASSIGN_OR_RETURN(tx.nonce, rpc.TransactionCount(*from, "pending"));
  CAPSULE_ASSIGN_OR_RETURN(U256 tip, rpc.MaxPriorityFeePerGas());
  CAPSULE_ASSIGN_OR_RETURN(U256 base, rpc.BaseFee());
  if (!tip.FitsU64() || !base.FitsU64() || base.ToU64() > (UINT64_MAX - tip.ToU64()) / 2)
    return Status(Code::ChainBadResponse, o.rpc_url + ": fee values out of range");
  tx.max_priority_fee_per_gas = tip;
  tx.max_fee_per_gas = U256::FromU64(2 * base.ToU64() + tip.ToU64());
  CAPSULE_ASSIGN_OR_RETURN(format::Bytes raw, SignTx(tx, secret));
  CAPSULE_ASSIGN_OR_RETURN(Hash32 hash, rpc.SendRawTransaction(raw));
  if (hash != TxHash(raw))
    return Status(Code::ChainBadResponse, o.rpc_url + ": the node answered another tx hash");

  // Poll for the receipt: bounded by receipt_timeout_ms; each poll is one bounded request.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(o.receipt_timeout_ms);
  for (int wait_ms = 50;; wait_ms = std::min(wait_ms * 2, 2000)) {
    CAPSULE_ASSIGN_OR_RETURN(auto receipt, rpc.TransactionReceipt(hash));
    if (receipt) {
      const nlohmann::json& r = *receipt;
      auto q = [&](const char* k) -> std::optional<U256> {
        if (!r.contains(k) || !r[k].is_string()) return std::nullopt;
        return U256::FromHex(r[k].get<std::string>());
      };
      auto status = q("status"), block = q("blockNumber"), used = q("gasUsed");
      if (!status || !block || !used || !block->FitsU64() || !used->FitsU64())
        return Status(Code::ChainBadResponse, o.rpc_url + ": malformed transaction receipt");
      if (*status != U256::FromU64(1))
        return Status(Code::ChainTxFailed, "mint transaction 0x" + format::HexEncode(hash) +
                                               " reverted in block " + block->ToDecimal());
      return MintOutcome{hash, block->ToU64(), used->ToU64()};
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Code::ChainRpcUnreachable, "mint transaction 0x" + format::HexEncode(hash) +
                                                   " was sent but no receipt came within " +
                                                   std::to_string(o.receipt_timeout_ms / 1000) +
                                                   " s; check it later");
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

}  // namespace capsule::chain
