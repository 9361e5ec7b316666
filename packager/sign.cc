// Co-signing (`capsulec sign`): verifies the whole capsule first (never sign what is broken),
// then adds a signature over the same three part hashes. The signature section is not hashed,
// so existing signatures stay valid; the file is rewritten with the new section (or the
// section's content is written alone as a detached signature).
#include <nlohmann/json.hpp>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsule {
using namespace capsule::format;  // NOLINT

Result<SignResult> Sign(const SignRequest& req) {
  // The key is never an output; the capsule is one only with --in-place.
  CAPSULE_RETURN_IF_ERROR(CheckOutputIsNoInput(req.detached_path, {req.path, req.key_path}));
  if (!req.in_place) CAPSULE_RETURN_IF_ERROR(CheckOutputIsNoInput(req.output, {req.key_path}));
  CAPSULE_ASSIGN_OR_RETURN(SecretIdentity key,
                           LoadSecretKey(req.key_path, DefaultPassphraseSource()));
  VerifyOptions vo;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenCapsule(req.path, vo));
  SignatureData sigs = c.signatures;
  CAPSULE_RETURN_IF_ERROR(
      AddSignature(sigs, c.part_hashes, key.ed25519_sk.data(), key.pub.ed25519.data())
          .WithContext(req.path));
  Bytes content = sigs.Serialize();
  SignResult r;
  r.signer = HexEncode(key.pub.ed25519);
  r.key_id = key.pub.KeyId();
  for (const auto& s : sigs.sets) r.signatures += s.signatures.size();

  if (!req.detached_path.empty()) {
    CAPSULE_ASSIGN_OR_RETURN(AtomicOutput out,
                             AtomicOutput::Create(req.detached_path, req.overwrite));
    CAPSULE_RETURN_IF_ERROR(out.Write(content));
    CAPSULE_RETURN_IF_ERROR(out.Commit());
    r.output = req.detached_path;
    return r;
  }
  std::string output = req.in_place ? req.path : req.output;
  if (output.empty()) return Status(Code::Usage, "sign: give -o OUT, --in-place or --detached SIG");
  if (!req.in_place && FileExists(output) && SameFile(output, req.path))
    return Status(Code::SameInputOutput, output + ": use --in-place to replace the input");
  CAPSULE_ASSIGN_OR_RETURN(AtomicOutput out,
                           AtomicOutput::Create(output, req.overwrite || req.in_place));
  CAPSULE_RETURN_IF_ERROR(out.Write(kWasmPreamble, sizeof kWasmPreamble));
  CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kSignatureSection, content)));
  Bytes buf(1 << 20);
  for (uint64_t pos = c.layout.signature.end(); pos < c.file.size();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), c.file.size() - pos));
    CAPSULE_RETURN_IF_ERROR(c.file.ReadAt(pos, buf.data(), n));
    CAPSULE_RETURN_IF_ERROR(out.Write(buf.data(), n));
    pos += n;
  }
  // Self-check before the rename: the new file verifies and carries the new signer.
  VerifyOptions check;
  check.check_payload = false;
  auto again = OpenCapsule(out.temp_path(), check);
  if (!again.ok() || !HasValidSignature(again->signatures, c.part_hashes, key.pub.ed25519.data()))
    return Status(Code::Internal, output + ": self-check of the co-signed capsule failed");
  CAPSULE_RETURN_IF_ERROR(out.Commit());
  r.output = output;
  return r;
}

std::string SignResult::ToJson() const {
  return format::ReportJson(nlohmann::json({{"ok", true},
                                            {"output", output},
                                            {"signer", signer},
                                            {"key_id", key_id},
                                            {"signatures", signatures}}));
}

}  // namespace capsule
