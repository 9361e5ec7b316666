// verify: a report over format::OpenCapsule. Integrity and trust are reported separately
// (DESIGN §3.13). In the format library so that capsulec and capsule-run share it.
#include <nlohmann/json.hpp>
#include <sstream>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsule {
using namespace capsule::format;  // NOLINT

VerifyReport Verify(const VerifyRequest& req) {
  VerifyReport r;
  r.path = req.path;
  VerifyOptions vo;
  vo.check_payload = req.check_payload;
  vo.progress = req.progress;
  if (!req.trust_paths.empty()) {
    std::vector<std::array<uint8_t, 32>> keys;
    for (const auto& p : req.trust_paths) {
      auto k = LoadPublicKey(p);
      if (!k.ok()) {
        r.status = k.status();
        r.integrity_checked = false;  // a bad --trust file says nothing about the capsule
        return r;
      }
      keys.push_back(k->ed25519);
    }
    vo.trusted = keys;
  }
  auto c = OpenCapsule(req.path, vo);
  if (!c.ok()) {
    r.status = c.status();
    // Only an untrusted creator leaves integrity established (it is checked after the payload).
    r.integrity = c.status().code() == Code::UntrustedSigner;
    // A capsule that could not be read (missing, unreadable: usage or I/O) was not examined.
    r.integrity_checked = ExitCode(c.status().code()) > 3;
    if (c.status().code() == Code::UntrustedSigner) r.trusted = false;
    return r;
  }
  r.integrity = true;
  r.capsule_id = HexEncode(c->info.id);
  r.trusted = c->trusted;
  if (req.check_binding) {  // a present binding must hold (docs/spec/chain.md §3)
    auto b = req.check_binding(c->manifest_bytes);
    if (!b.ok()) {
      r.status = b.status();
      r.trusted = false;
      return r;
    }
    r.creator_binding = *b;
  }
  r.chunks = c->info.chunk_count;
  r.signatures = c->signature_count;
  for (const auto& s : c->signers)
    r.signers.push_back(std::string(s.role == SignerRole::kCreator ? "creator " : "co-signer ") +
                        HexEncode(s.ed25519));
  return r;
}

std::string VerifyReport::ToJson() const {
  nlohmann::json j = {{"file", path},
                      {"ok", status.ok()},
                      {"integrity", !integrity_checked ? "not-checked"
                                    : integrity        ? "valid"
                                                       : "invalid"},
                      {"trust", trusted ? (*trusted ? "trusted" : "untrusted") : "not-evaluated"},
                      {"signers", signers},
                      {"signatures", signatures},
                      {"chunks", chunks}};
  if (!capsule_id.empty()) j["capsule_id"] = capsule_id;
  if (!creator_binding.empty()) j["creator_binding"] = creator_binding;
  if (!status.ok()) {
    j["error"] = {{"code", std::string(ReasonCode(status.code()))},
                  {"exit_code", ExitCode(status.code())},
                  {"message", status.detail()}};
  }
  return ReportJson(j);
}

std::string VerifyReport::ToText() const {
  std::ostringstream o;
  o << path << ":\n";
  o << "  integrity: "
    << (!integrity_checked ? "not checked (the capsule could not be examined)"
        : integrity        ? "valid (structure, signatures, chunk index, payload)"
                           : "INVALID")
    << "\n";
  o << "  trust:     "
    << (trusted ? (*trusted ? "trusted (creator key is in the trust list)" : "UNTRUSTED")
                : "not evaluated (give --trust KEY.pub to check the signer)")
    << "\n";
  for (const auto& s : signers) o << "  signer:    " << s << "\n";
  if (signatures > signers.size())
    o << "  other:     " << signatures - signers.size()
      << " signature(s) by keys not given with --trust (not identified)\n";
  if (!capsule_id.empty()) o << "  capsule:   " << capsule_id << " (" << chunks << " chunks)\n";
  if (!creator_binding.empty())
    o << "  binding:   "
      << (creator_binding == "valid" ? "valid (creator key bound to creator.address, EIP-712)"
                                     : "absent (no EIP-712 creator binding in the manifest)")
      << "\n";
  if (!status.ok()) o << "  error:     " << status.ToString() << "\n";
  return o.str();
}

}  // namespace capsule
