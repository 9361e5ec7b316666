// EIP-712 typed structured data: the two messages the SDK signs with secp256k1 keys
// (docs/spec/chain.md §EIP-712). Type strings are fixed here and in the spec; ethers'
// TypedDataEncoder must produce the same digests (tests/node).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "chain/u256.h"

namespace capsule::chain::eip712 {

// EIP712Domain with the fields present: name and version always ("Capsule SDK", "1"); chainId
// and verifyingContract when set. The type string lists only the present fields, in EIP-712
// order (name, version, chainId, verifyingContract).
struct Domain {
  std::string name = "Capsule SDK";
  std::string version = "1";
  std::optional<uint64_t> chain_id;
  std::optional<Address> verifying_contract;

  Hash32 Separator() const;
  nlohmann::json ToJson() const;     // eth_signTypedData_v4 "domain" object
  nlohmann::json TypesJson() const;  // the EIP712Domain entry of "types"
};

// keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))
Hash32 Digest(const Domain& domain, const Hash32& struct_hash);

// CreatorBinding(address creator,bytes32 signingKey) — domain without chainId/contract: the
// binding of an Ed25519 key to an EVM address holds on every chain.
struct CreatorBinding {
  Address creator{};
  Hash32 signing_key{};  // the creator's Ed25519 public key
  static constexpr const char* kType = "CreatorBinding(address creator,bytes32 signingKey)";
  Hash32 StructHash() const;
  nlohmann::json ToJson() const;  // message object
};

// LicenseRequest(address holder,bytes32 holderEd25519,bytes32 holderX25519,bytes32 manifestHash,
//   uint256 tokenId,string model,uint256 nonce,uint64 expiry) — domain with chainId and the
// access-token contract as verifyingContract.
struct LicenseRequest {
  Address holder{};
  Hash32 holder_ed25519{};
  Hash32 holder_x25519{};
  Hash32 manifest_hash{};
  U256 token_id;
  std::string model;
  U256 nonce;
  uint64_t expiry = 0;  // unix seconds
  static constexpr const char* kType =
      "LicenseRequest(address holder,bytes32 holderEd25519,bytes32 holderX25519,"
      "bytes32 manifestHash,uint256 tokenId,string model,uint256 nonce,uint64 expiry)";
  Hash32 StructHash() const;
  nlohmann::json ToJson() const;
};

}  // namespace capsule::chain::eip712
