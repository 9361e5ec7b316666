// The mint transaction (docs/spec/chain.md §7): registers a capsule's token on the
// access-token contract and mints `amount` to `to`. Either as an unsigned request for a wallet,
// or signed here (EIP-1559) with the minter's secp256k1 key and sent, waiting for the receipt.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"
#include "chain/token.h"

namespace capsule::chain {

// mint(to, id, amount, manifestHash, creatorKey, royaltyPpm, recipients, allocations) calldata.
// The first mint of a token registers it with its split; a later one (`registered`) must send
// empty recipients and allocations (the contract refuses them: SplitAlreadySet).
format::Bytes MintCalldata(const TokenRef& t, const Address& to, uint64_t amount,
                           bool registered = false);
// {"to", "data", "value": "0x0", "chainId"} — what a wallet needs to send it.
nlohmann::json UnsignedMintRequest(const TokenRef& t, const Address& to, uint64_t amount);

struct MintOptions {
  std::string rpc_url;
  int timeout_ms = 10000;           // per JSON-RPC request
  int receipt_timeout_ms = 120000;  // waiting for the receipt
};
struct MintOutcome {
  Hash32 tx_hash{};
  uint64_t block = 0;
  uint64_t gas_used = 0;
};
// Checks the node's chain id against the token's and asks the contract whether the token is
// registered: if not, this mint registers it, and the minter must be the capsule's
// creator.address (runtimes accept only tokens that address registered: a mint by another key
// would make the token id unusable for good, so it is refused, Usage); if it is, the mint adds
// supply (empty split). Then estimates gas (a revert there is chain-tx-failed with the node's
// reason), signs, sends, and polls for the receipt (status 1, else chain-tx-failed). The
// secret is only read.
Result<MintOutcome> SendMint(const TokenRef& t, const Address& to, uint64_t amount,
                             const uint8_t secp256k1_secret[32], const MintOptions& o);

}  // namespace capsule::chain
