// EIP-1559 transactions (EIP-2718 type 2). The signature covers keccak256 of the typed payload
// 0x02 ‖ rlp(fields ‖ accessList); the signed form appends yParity, r and s as RLP integers,
// so leading zero bytes of r and s are dropped (nodes reject the non-minimal form).
#include "chain/tx.h"

#include "chain/rlp.h"
#include "format/keccak.h"

namespace capsule::chain {
namespace {

constexpr uint8_t kTxType = 0x02;

std::vector<format::Bytes> UnsignedFields(const Eip1559Tx& tx) {
  return {
      rlp::EncodeUint(tx.chain_id),
      rlp::EncodeUint(tx.nonce),
      rlp::EncodeUint(tx.max_priority_fee_per_gas),
      rlp::EncodeUint(tx.max_fee_per_gas),
      rlp::EncodeUint(tx.gas_limit),
      rlp::EncodeBytes(tx.to),  // always 20 bytes: we never create contracts this way
      rlp::EncodeUint(tx.value),
      rlp::EncodeBytes(tx.data),
      rlp::EncodeList({}),  // empty access list
  };
}

format::Bytes Typed(const std::vector<format::Bytes>& fields) {
  format::Bytes out = {kTxType};
  format::Bytes body = rlp::EncodeList(fields);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

format::Bytes SigningPayload(const Eip1559Tx& tx) { return Typed(UnsignedFields(tx)); }

Result<format::Bytes> SignTx(const Eip1559Tx& tx, const uint8_t secret[32]) {
  std::vector<format::Bytes> fields = UnsignedFields(tx);
  format::Bytes payload = Typed(fields);
  Hash32 digest = format::Keccak256(payload.data(), payload.size());
  CAPSULE_ASSIGN_OR_RETURN(RecoverableSignature sig, SignDigest(secret, digest));
  fields.push_back(rlp::EncodeUint(uint64_t{sig.y_parity}));
  fields.push_back(rlp::EncodeUint(U256{sig.r}));
  fields.push_back(rlp::EncodeUint(U256{sig.s}));
  return Typed(fields);
}

Hash32 TxHash(format::ByteView raw) { return format::Keccak256(raw.data(), raw.size()); }

}  // namespace capsule::chain
