// What a capsule's manifest says about its access token (docs/spec/chain.md §2): the chain, the
// contract, the token id (the `derive` rule), the manifest hash and the creator's keys, as the
// access-token contract records them. Shared by `capsulec mint`, licence requests and the
// runtime's evm ledger so that every tool derives the same values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capsule/status.h"
#include "chain/u256.h"

namespace capsule::chain {

struct TokenRef {
  uint64_t chain_id = 0;
  Address contract{};
  U256 token_id;
  Hash32 manifest_hash{};             // SHA-256 of the capsule.manifest section's contents
  Hash32 creator_key{};               // creator.ed25519
  Address creator{};                  // creator.address
  uint32_t royalty_ppm = 0;           // royalties.resale_royalty_ppm
  std::vector<Address> recipients;    // royalties.splits, strictly ascending
  std::vector<uint64_t> allocations;  // their share_ppm, in the same order
};

// `derive`: the 16-byte capsule id read as a big-endian unsigned integer.
U256 DeriveTokenId(const std::array<uint8_t, 16>& capsule_id);

// Reads the verified embedded manifest. A manifest without a `chain` block is a usage error
// (Code::Usage) naming `where`; anything malformed is ManifestInvalid.
Result<TokenRef> TokenRefOf(const nlohmann::json& manifest, std::string_view manifest_bytes,
                            const std::array<uint8_t, 16>& capsule_id, const std::string& where);

}  // namespace capsule::chain
