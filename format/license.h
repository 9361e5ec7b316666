// Licences (DESIGN §4): an issuer's signed statement that one holder may open one capsule
// under one business model the manifest offers, for a window of time, carrying the content key
// K re-sealed to the holder. See docs/spec/license.md.
//
// File (JSON, UTF-8):  {"license": BODY, "signature": {"alg":"ed25519","key":HEX,"sig":BASE64}}
// BODY (signed as canonical JSON, RFC 8785) holds: version 1, id (32 hex, random), capsule_id,
// manifest_sha256 (of the capsule.manifest bytes), holder {ed25519, x25519, address},
// issuer (ed25519 hex), model (one model object in the manifest's form, with terms within the
// offered ones), not_before / not_after / issued_at (Unix seconds; not_after is null for no end:
// perpetual models, rentals counted from the first play), sealed_key (base64, K sealed to
// holder.x25519).
// Signature message: "capsule/v1 license" ‖ 0x00 ‖ canonical JSON of BODY — a domain string
// no capsule signature ("wasmsig…") can collide with.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capsule/status.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsule::format {

inline constexpr std::string_view kLicenseDomain = "capsule/v1 license";
// Allowed clock skew when checking a licence's window (seconds).
inline constexpr int64_t kLicenseClockSkew = 300;
// A licence file is at most this many bytes (LicenseMalformed above).
inline constexpr size_t kMaxLicenseSize = 64 * 1024;

struct LicenseRequest {
  std::string model_type;             // must be offered by the manifest
  std::optional<int64_t> duration_s;  // rental duration / subscription period (≤ the offered one)
  std::optional<uint64_t> plays;      // pay-per-view plays (≤ the offered ones)
  int64_t not_before = 0;             // Unix seconds
  std::optional<int64_t> not_after;   // none by default; refused (Usage) for fixed-end models
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
  // Added: the signature as read, so that a licence can be parsed (and shown by `inspect`)
  // before, and independently of, its signature check.
  std::array<uint8_t, 64> signature{};
};

// Issues a licence for `capsule` (already verified) by `issuer` (who must be a listed issuer
// and able to open its sealed K) to `holder`. ModelNotOffered when the model or terms exceed
// what the manifest offers; NotAnIssuer when the issuer is not listed.
Result<std::string> IssueLicense(const OpenedCapsule& capsule, const SecretIdentity& issuer,
                                 const PublicIdentity& holder, const LicenseRequest& request,
                                 int64_t now);

// Parses and checks the signature (LicenseMalformed, LicenseBadSignature).
Result<License> ParseLicense(const std::string& text, const std::string& where);

// Added for `capsulec license inspect` (which shows what a tampered licence claims, marked as
// unverified) and for test-vector generators: the two halves of ParseLicense.
Result<License> ParseLicenseUnverified(const std::string& text, const std::string& where);
Status VerifyLicenseSignature(const License& license, const std::string& where);

// Added: reads a licence file, refusing files above kMaxLicenseSize (LicenseMalformed) before
// reading them.
Result<std::string> ReadLicenseFile(const std::string& path);

// Added: signs BODY as given (no check of its content) and returns the licence file text.
// IssueLicense uses it; tests use it to build licences IssueLicense would refuse to issue
// (a stranger's, terms above the offer) and check that CheckLicense refuses them.
Result<std::string> SignLicenseBody(const nlohmann::json& body, const SecretIdentity& issuer);

// Checks the bindings against a verified capsule and a holder at time `now` (Unix seconds):
// issuer listed, capsule id and manifest hash, holder keys, model offered with terms within
// the offer, validity window with kLicenseClockSkew. `license` must come from ParseLicense
// (signature checked). Returns the first failure in that order.
Status CheckLicense(const License& license, const OpenedCapsule& capsule,
                    const PublicIdentity& holder, int64_t now);

// Added for `inspect`: every check CheckLicense makes, in its order, each with its own result.
// Checks needing a capsule ("issuer", "capsule", "model") or a holder ("holder") are left out
// when it is null; "window" is always there.
struct LicenseCheck {
  std::string name;
  Status status;
};
std::vector<LicenseCheck> ExplainLicense(const License& license, const OpenedCapsule* capsule,
                                         const PublicIdentity* holder, int64_t now);

// Added: "rental: 2d from not_before (1.5 ELA)" — one line for people.
std::string DescribeLicenseModel(const nlohmann::json& model);

// Opens the sealed K with the holder's X25519 key and checks the key commitment
// (LicenseWrongHolder / LicenseWrongCapsule when the holder's keys or the capsule are not the
// licence's, KeyCommitmentMismatch when the box does not open or K is not the capsule's).
// Call CheckLicense first.
Status UnwrapLicenseKey(const License& license, const OpenedCapsule& capsule,
                        const SecretIdentity& holder, ContentKey* out);

}  // namespace capsule::format
