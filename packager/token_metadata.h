// ERC-1155 token metadata for a capsule's access token (`capsulec mint`,
// docs/spec/token-metadata.md), and the MintPlan: everything a mint transaction needs, taken
// from a verified capsule's embedded manifest (token id, manifest hash, creator key, royalty,
// the split sorted for 0xSplits, chain id, contract).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capsule/capsule.h"
#include "capsule/status.h"
#include "packager/ipfs_cid.h"

namespace capsule::packager {

using TokenId = std::array<uint8_t, 32>;  // uint256, big-endian
using EvmAddress = std::array<uint8_t, 20>;

inline constexpr uint32_t kPpm = 1000000;  // royalty and split scale (0xSplits: 1e6)

// Token id "derive" (DESIGN §9.8): the 16-byte capsule id read as a big-endian unsigned
// integer, zero-extended to 256 bits.
TokenId DeriveTokenId(const std::array<uint8_t, 16>& capsule_id);
// Decimal digits (no sign, ≤ 2^256 − 1; leading zeros accepted) → uint256; nullopt otherwise.
std::optional<TokenId> TokenIdFromDecimal(std::string_view digits);
std::string TokenIdDecimal(const TokenId& id);  // no leading zeros ("0" for zero)
std::string TokenIdHex64(const TokenId& id);    // ERC-1155 {id}: 64 lowercase hex, no 0x

struct SplitRecipient {
  EvmAddress address{};
  uint32_t allocation_ppm = 0;  // share_ppm from the manifest
};

// What minting the capsule's access token on chain needs. Recipients are strictly ascending by
// address (0xSplits order; comparing the 20 bytes is comparing the lowercase hex); their
// allocations sum to exactly 1e6.
struct MintPlan {
  TokenId token_id{};
  std::array<uint8_t, 16> capsule_id{};
  std::array<uint8_t, 32> manifest_sha256{};  // SHA-256 of the capsule.manifest contents
  std::array<uint8_t, 32> creator_ed25519{};
  EvmAddress creator_address{};
  uint32_t royalty_ppm = 0;  // royalties.resale_royalty_ppm: EIP-2981 rate on resales
  std::vector<SplitRecipient> recipients;
  uint64_t chain_id = 0;
  EvmAddress contract{};
};

// Reads the plan from a verified capsule's manifest. Usage when the manifest has no `chain`
// block; ManifestInvalid when a field the plan needs is malformed.
Result<MintPlan> PlanMint(const nlohmann::json& manifest, std::string_view manifest_bytes,
                          const std::string& where);

// URIs that go into the metadata (each may be empty: the field is then absent).
struct MetadataLinks {
  std::string image, animation_url, external_url;
};

// The ERC-1155 metadata document (schemas/token-metadata.schema.json) for a capsule whose
// embedded manifest is `manifest`, file CIDs `cid` and file size `capsule_size`;
// `preview_cid` is the CID of its clear preview as a file, when it has one.
nlohmann::json TokenMetadata(const nlohmann::json& manifest, const MintPlan& plan,
                             const IpfsCid& cid, uint64_t capsule_size, const MetadataLinks& links,
                             const std::optional<IpfsCid>& preview_cid);

// File extension of a capsule's preview by media type ("mp3", "wav", "txt"); empty if unknown.
std::string PreviewExtension(std::string_view media_type);

// capsule::Mint, also handing back the plan (for a caller that goes on to send the mint
// transaction). `plan` may be null.
Result<MintResult> MintWithPlan(const MintRequest& req, MintPlan* plan);

}  // namespace capsule::packager
