// Licence requests (docs/spec/chain.md §6): a holder's EIP-712-signed request for a licence,
// as a JSON file whose `typed_data` is what eth_signTypedData_v4 takes. Making, reading and
// checking one, and the issuer's durable record of used nonces (replay protection).
#pragma once

#include <string>

#include "capsule/status.h"
#include "chain/eip712.h"
#include "chain/token.h"

namespace capsule::chain {

struct SignedLicenseRequest {
  eip712::Domain domain;
  eip712::LicenseRequest message;
  Address signer{};  // recovered from the signature; equals message.holder once parsed
};

// The request file text for `message`, signed with the holder's secp256k1 secret (whose
// address must be message.holder).
Result<std::string> MakeLicenseRequest(const eip712::Domain& domain,
                                       const eip712::LicenseRequest& message,
                                       const uint8_t secp256k1_secret[32]);

// Parses strictly (license-request-malformed) and recovers the signer, which must be
// message.holder (license-request-bad-signature). Says nothing yet about any capsule or chain.
Result<SignedLicenseRequest> ParseLicenseRequest(const std::string& text, const std::string& where);

// The request is for this token (chain id, contract, token id, manifest hash:
// license-request-mismatch) and not expired at `now` (license-request-expired).
Status CheckLicenseRequestFor(const SignedLicenseRequest& r, const TokenRef& token, int64_t now,
                              const std::string& where);

// Records (chainId, contract, holder, nonce) in the append-only file `path` under an exclusive
// lock, fsynced before returning; license-request-replayed when it is already there.
Status RecordRequestNonce(const std::string& path, const SignedLicenseRequest& r);

}  // namespace capsule::chain
