// Fuzz target: licence requests (docs/spec/chain.md §6), i.e. everything `capsulec license issue
// --request` does with the request file before and after it asks the chain, minus the chain:
// the 64 KiB read limit, ParseLicenseRequest (strict JSON shape, EIP-712 digest, secp256k1
// recovery against message.holder), CheckLicenseRequestFor against a fixed token (the one the
// seed requests were made for, so that accepted requests reach the chain / contract / token /
// manifest / expiry comparisons) at a fixed time, and RecordRequestNonce into a scratch log.
//
// Invariants checked (a violation traps):
//  - an accepted request's recovered signer is its message.holder;
//  - recording the same request twice: the first is accepted, the second is
//    license-request-replayed (the nonce log is started afresh for every input).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "capsule/status.h"
#include "chain/license_request.h"
#include "format/bytes.h"
#include "fuzz_common.h"

namespace {

// The token of tests/fuzz/corpus/license_request/*.json (printed by make_seeds.sh): chain 21,
// contract 0x…c0ffee00, the token id derived from the paid-text capsule's id, its manifest hash.
constexpr uint64_t kChainId = 21;
constexpr const char* kContract = "0x00000000000000000000000000000000c0ffee00";
constexpr const char* kTokenId = "196511496647731748550672207962325926986";
constexpr const char* kManifestHash =
    "3222b2178c6f0e3702a6c122583e3cbaebc1a8320ce13bca72d897ba9ef9444b";
constexpr int64_t kNow = 4102444800;  // 2100-01-01: the seeds expire ~2126, expired.json ~2026

capsule::chain::TokenRef FixedToken() {
  capsule::chain::TokenRef t;
  t.chain_id = kChainId;
  auto c = capsule::format::ParseEvmAddress(kContract);
  if (c) std::copy(c->begin(), c->end(), t.contract.begin());
  if (auto id = capsule::chain::U256::FromDecimal(kTokenId)) t.token_id = *id;
  if (auto h = capsule::format::HexDecode(kManifestHash); h && h->size() == 32)
    std::copy(h->begin(), h->end(), t.manifest_hash.begin());
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // ReadSmallFile(o.request, 64 * 1024) refuses anything larger before parsing.
  if (size > 64 * 1024) return 0;
  static const capsule::chain::TokenRef token = FixedToken();
  static capsule_fuzz::ScratchFile nonces("license-request", ".log");
  // CAPSULE_FUZZ_VERBOSE=1: say what each input gave (to check the seeds).
  static const bool verbose = std::getenv("CAPSULE_FUZZ_VERBOSE") != nullptr;

  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = capsule::chain::ParseLicenseRequest(text, "fuzz.req.json");
  if (!r.ok()) {
    if (verbose) std::fprintf(stderr, "fuzz_license_request: %s\n", r.status().ToString().c_str());
    auto c = r.status().code();
    if (c != capsule::Code::LicenseRequestMalformed &&
        c != capsule::Code::LicenseRequestBadSignature)
      __builtin_trap();  // only these two codes are documented for a bad request file
    return 0;
  }
  if (r->signer != r->message.holder) __builtin_trap();
  capsule::Status check = capsule::chain::CheckLicenseRequestFor(*r, token, kNow, "fuzz.req.json");
  if (verbose) std::fprintf(stderr, "fuzz_license_request: parsed; %s\n", check.ToString().c_str());

  unlink(nonces.path().c_str());
  capsule::Status first = capsule::chain::RecordRequestNonce(nonces.path(), *r);
  if (!first.ok()) return 0;  // e.g. /dev/shm full: nothing to check
  capsule::Status again = capsule::chain::RecordRequestNonce(nonces.path(), *r);
  if (again.code() != capsule::Code::LicenseRequestReplayed) __builtin_trap();
  return 0;
}
