// The WebAssembly signature section, byte for byte as wasmsign2 writes it (DESIGN §7):
//   varuint spec_version(1) ‖ varuint content_type(1) ‖ varuint hash_fn(1) ‖
//   varuint32 set_count ‖ set*   where set = varuint32-length-prefixed slice of
//   { varuint32 hash_count ‖ hash[32]* ‖ varuint32 sig_count ‖ sig* }, and
//   sig = length-prefixed slice of { key_id (length-prefixed) ‖ alg u8 (1=Ed25519) ‖
//   signature (length-prefixed, 64 bytes) }.
// Signed message: "wasmsig" ‖ 0x01 ‖ 0x01 ‖ 0x01 ‖ h1 ‖ … ‖ hn.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "capsule/status.h"
#include "format/bytes.h"
#include "format/crypto.h"

namespace capsule::format {

inline constexpr size_t kMaxHashes = 64;  // wasmsign2's limits
inline constexpr size_t kMaxSignatures = 256;

struct PartSignature {
  Bytes key_id;  // not covered by any signature; we write it empty (see AddSignature)
  uint8_t alg = 1;
  std::array<uint8_t, 64> sig{};
};

struct SignedHashes {
  std::vector<Hash32> hashes;
  std::vector<PartSignature> signatures;
};

struct SignatureData {
  std::vector<SignedHashes> sets;
  Bytes Serialize() const;
  static Result<SignatureData> Parse(ByteView content, const std::string& where);
};

Bytes SignedMessage(const std::vector<Hash32>& hashes);
// Adds a signature by `sk` over `hashes` (to the set with those hashes, or a new set).
// AlreadySigned when that key already signed these hashes.
Status AddSignature(SignatureData& data, const std::vector<Hash32>& hashes,
                    const uint8_t ed25519_sk[64], const uint8_t ed25519_pk[32]);
// Does some signature in a set whose hashes equal `hashes` verify under `pk`?
bool HasValidSignature(const SignatureData& data, const std::vector<Hash32>& hashes,
                       const uint8_t pk[32]);

}  // namespace capsule::format
