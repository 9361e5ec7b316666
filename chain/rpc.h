// JSON-RPC 2.0 over HTTP(S) to an EVM node, with libcurl (loaded on first use). One request, one
// answer: no retries, bounded time (connect and total), bounded answer size. An endpoint must be
// https unless it is on loopback (127.0.0.0/8, ::1, localhost). Every answer is checked for
// shape; anything else is an error (chain-bad-response), never a default value.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capsule/status.h"
#include "chain/u256.h"
#include "format/bytes.h"

namespace capsule::chain {

struct RpcOptions {
  std::string url;
  int timeout_ms = 10000;  // whole request
  int connect_timeout_ms = 3000;
};

class RpcClient {
 public:
  // Checks the URL (chain-insecure-rpc, usage).
  static Result<RpcClient> Create(RpcOptions options);

  // The "result" member of the answer. Transport failure or timeout: chain-rpc-unreachable
  // (naming the URL); an "error" member: chain-rpc-error with its message; anything
  // malformed: chain-bad-response.
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params) const;

  Result<uint64_t> ChainId() const;
  Result<uint64_t> BlockNumber() const;
  Result<uint64_t> BlockTimestamp(uint64_t number) const;
  Result<format::Bytes> GetCode(const Address& a, const std::string& block = "latest") const;
  // eth_call at a block ("latest" or a number as quantity).
  Result<format::Bytes> EthCall(const Address& to, format::ByteView data,
                                const std::string& block = "latest") const;
  Result<uint64_t> TransactionCount(const Address& a, const std::string& block = "pending") const;
  Result<U256> GasPrice() const;              // eth_gasPrice
  Result<U256> MaxPriorityFeePerGas() const;  // eth_maxPriorityFeePerGas
  Result<U256> BaseFee() const;               // latest block's baseFeePerGas
  Result<uint64_t> EstimateGas(const Address& from, const Address& to, format::ByteView data) const;
  Result<Hash32> SendRawTransaction(format::ByteView raw) const;
  // nullopt while pending.
  Result<std::optional<nlohmann::json>> TransactionReceipt(const Hash32& tx_hash) const;

  const std::string& url() const { return options_.url; }

 private:
  explicit RpcClient(RpcOptions o) : options_(std::move(o)) {}
  RpcOptions options_;
};

// "evm:URL" → URL; nullopt when the prefix is absent.
std::optional<std::string> ParseEvmLedgerSpec(std::string_view spec);

// libcurl's soname. The client loads it with dlopen the first time an RPC URL is checked, not
// at start-up (chain/rpc.cc says why); without it, every RPC fails with chain-rpc-unreachable
// naming the library.
inline constexpr char kLibcurlSoname[] = "libcurl.so.4";

namespace internal {
// Loads `soname` as the client loads libcurl and reports what the client would (for tests of
// a machine without libcurl). Loading the real one also initialises it, as first use would.
Status ProbeLibcurl(const std::string& soname);
}  // namespace internal

}  // namespace capsule::chain
