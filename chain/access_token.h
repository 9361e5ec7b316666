// Reading the access-token contract for one capsule (docs/spec/chain.md §5), shared by the
// runtime's evm ledger and `capsulec license issue --request`. Everything is read with eth_call
// at one block, `confirmations` behind the head. Bind() checks, in order: the creator binding,
// the node's chain id, code at the contract, and the token's recorded manifest hash, creator
// key and creator address against the verified capsule. Every answer is decoded strictly: a
// malformed answer is chain-bad-response, never "no access".
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "chain/rpc.h"
#include "chain/token.h"
#include "format/container.h"

namespace capsule::chain {

struct AccessTokenOptions {
  std::string url;
  uint64_t confirmations = 2;
  int timeout_ms = 10000;
};

// The token's record as tokenInfo(id) answers it (docs/spec/chain.md §Contract; the fourth
// word, the resale royalty, is not read). A zero `creator`: the token is not registered.
struct TokenInfo {
  Hash32 manifest_hash{};
  Hash32 creator_key{};
  Address creator{};
};

// eth_call of tokenInfo(token_id) at `block` ("latest" or a quantity). A malformed answer is
// chain-bad-response naming the endpoint, the call and the contract.
Result<TokenInfo> ReadTokenInfo(const RpcClient& rpc, const Address& contract, const U256& token_id,
                                const std::string& block);

struct Access {
  bool has = false;
  std::optional<int64_t> expires;  // Unix seconds; none when the holder owns a token
};

class AccessTokenReader {
 public:
  static Result<AccessTokenReader> Create(const AccessTokenOptions& o);
  Status Bind(const format::OpenedCapsule& c);
  Result<Access> AccessOf(const Address& holder) const;  // after Bind
  std::string Describe() const;
  int64_t BlockTime() const { return block_time_; }
  uint64_t Block() const { return block_; }
  const TokenRef& token() const { return token_; }
  bool bound() const { return bound_; }

 private:
  AccessTokenReader(RpcClient rpc, uint64_t confirmations)
      : rpc_(std::move(rpc)), confirmations_(confirmations) {}
  RpcClient rpc_;
  uint64_t confirmations_;
  bool bound_ = false;
  TokenRef token_;
  uint64_t block_ = 0;
  int64_t block_time_ = 0;
  std::string block_tag_;
};

}  // namespace capsule::chain
