// The creator binding (DESIGN §3.13, docs/spec/chain.md §3): an EIP-712 signature by the
// creator's EVM key over CreatorBinding(address creator, bytes32 signingKey), carried in the
// manifest as creator.binding ("0x" + 130 hex digits, r ‖ s ‖ v). It says "the holder of this
// address signs capsules with this Ed25519 key"; the evm ledger requires it, every runtime
// checks it when present.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"
#include "chain/u256.h"

namespace capsule::chain {

// Signs the binding with the secp256k1 secret; returns the manifest string form.
Result<std::string> MakeCreatorBinding(const Address& creator, const Hash32& ed25519_key,
                                       const uint8_t secp256k1_secret[32]);

enum class BindingState { kAbsent, kValid };

// Checks creator.binding of a (verified) manifest against creator.address and creator.ed25519.
// Absent → kAbsent; present but malformed or recovering another address →
// CreatorBindingInvalid naming `where`.
Result<BindingState> CheckCreatorBinding(const nlohmann::json& manifest, const std::string& where);

// The same on canonical JSON bytes, answering "valid" or "absent": VerifyRequest::check_binding.
Result<std::string> CreatorBindingHook(const std::string& manifest_json, const std::string& where);

}  // namespace capsule::chain
