// EIP-1559 (type 2) transactions: the mint transaction capsulec sends.
#pragma once

#include "capsule/status.h"
#include "chain/secp256k1.h"
#include "chain/u256.h"
#include "format/bytes.h"

namespace capsule::chain {

struct Eip1559Tx {
  uint64_t chain_id = 0;
  uint64_t nonce = 0;
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  uint64_t gas_limit = 0;
  Address to{};
  U256 value;
  format::Bytes data;
};

// 0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, []])
format::Bytes SigningPayload(const Eip1559Tx& tx);
// The signed raw transaction 0x02 ‖ rlp([... , yParity, r, s]).
Result<format::Bytes> SignTx(const Eip1559Tx& tx, const uint8_t secret[32]);
Hash32 TxHash(format::ByteView raw);  // keccak256 of the raw transaction

}  // namespace capsule::chain
