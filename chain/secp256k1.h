// Recoverable ECDSA over secp256k1 (libsecp256k1 with its recovery module): the signatures of
// EVM transactions, EIP-712 messages and address recovery. RFC 6979 nonces, low-s only.
#pragma once

#include <array>

#include "capsule/status.h"
#include "chain/u256.h"
#include "format/bytes.h"

namespace capsule::chain {

struct RecoverableSignature {
  std::array<uint8_t, 32> r{};
  std::array<uint8_t, 32> s{};
  uint8_t y_parity = 0;  // 0 or 1
  // r ‖ s ‖ v with v = 27 + y_parity: the 65-byte form of eth_signTypedData.
  format::Bytes ToRsv() const;
};

// Signs a 32-byte digest with a secp256k1 secret key.
Result<RecoverableSignature> SignDigest(const uint8_t secret[32], const Hash32& digest);
// Parses a 65-byte r ‖ s ‖ v (v ∈ {0, 1, 27, 28}); rejects high-s and r or s out of range
// (integrity failure codes are the caller's: this returns Code::Usage-free plain errors).
std::optional<RecoverableSignature> ParseRsv(format::ByteView sig65);
// The address whose key made `sig` over `digest`, or nullopt when recovery fails.
std::optional<Address> RecoverAddress(const Hash32& digest, const RecoverableSignature& sig);
// The address of a secret key.
std::optional<Address> AddressOfSecret(const uint8_t secret[32]);

}  // namespace capsule::chain
