// Licences (DESIGN §4): an issuer's signed statement that one holder may open one capsule
// under one business model the manifest offers, for a window of time, carrying the content key
// K re-sealed to the holder. See docs/spec/license.md.
//
// File (JSON, UTF-8):  {"license": BODY, "signature": {"alg":"ed25519","key":HEX,"sig":BASE64}}
// BODY (signed as canonical JSON, RFC 8785) holds: version 1, id (32 hex, random), capsule_id,
// manifest_sha256 (of the capsule.manifest bytes), holder {ed25519, x25519, address},
// issuer (ed25519 hex), model (one model object in the manifest's form, with terms within the
// offered ones), not_before / not_after / issued_at (Unix seconds; not_after may be null for
// perpetual models), sealed_key (base64, K sealed to holder.x25519).
// Signature message: "capsule/v1 license" ‖ 0x00 ‖ canonical JSON of BODY — a domain string
// no capsule signature ("wasmsig…") can collide with.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capsule/status.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsule::format {

inline constexpr std::string_view kLicenseDomain = "capsule/v1 license";
// Allowed clock skew when checking a licence's window (seconds).
inline constexpr int64_t kLicenseClockSkew = 300;

struct LicenseRequest {
  std::string model_type;              // must be offered by the manifest
  std::optional<int64_t> duration_s;   // rental duration / subscription period (≤ the offered one)
  std::optional<uint64_t> plays;       // pay-per-view plays (≤ the offered ones)
  int64_t not_before = 0;              // Unix seconds
  std::optional<int64_t> not_after;    // for perpetual models (buy, free): none by default
};

struct License {
  nlohmann::json body;  // as signed
  std::string body_canonical;
  std::array<uint8_t, 32> issuer{}, holder_ed25519{}, holder_x25519{};
  std::array<uint8_t, 20> holder_address{};
  CapsuleId capsule_id{};
  Hash32 manifest_sha256{};
  nlohmann::json model;
  int64_t not_before = 0, issued_at = 0;
  std::optional<int64_t> not_after;
  Bytes sealed_key;
  std::string id;
};

// Issues a licence for `capsule` (already verified) by `issuer` (who must be a listed issuer
// and able to open its sealed K) to `holder`. ModelNotOffered when the model or terms exceed
// what the manifest offers; NotAnIssuer when the issuer is not listed.
Result<std::string> IssueLicense(const OpenedCapsule& capsule, const SecretIdentity& issuer,
                                 const PublicIdentity& holder, const LicenseRequest& request,
                                 int64_t now);

// Parses and checks the signature (LicenseMalformed, LicenseBadSignature).
Result<License> ParseLicense(const std::string& text, const std::string& where);

// Checks the bindings against a verified capsule and a holder at time `now` (Unix seconds):
// issuer listed, capsule id and manifest hash, holder keys, model offered with terms within
// the offer, validity window with kLicenseClockSkew.
Status CheckLicense(const License& license, const OpenedCapsule& capsule,
                    const PublicIdentity& holder, int64_t now);

// Opens the sealed K with the holder's X25519 key and checks the key commitment.
Status UnwrapLicenseKey(const License& license, const OpenedCapsule& capsule,
                        const SecretIdentity& holder, ContentKey* out);

}  // namespace capsule::format
