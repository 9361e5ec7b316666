// `capsulec unpack`: a creator or issuer recovers the content. The whole capsule is verified
// as it streams; plaintext goes to a temporary file that is renamed only after the last chunk
// and the payload's signed hash checked out (no unverified byte reaches the output).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/container.h"
#include "format/keys.h"

namespace capsule {
using namespace capsule::format;  // NOLINT

Result<UnpackResult> Unpack(const UnpackRequest& req, const Progress& progress) {
  CAPSULE_ASSIGN_OR_RETURN(const std::string key_path, GivenOrDefaultKey(req.key_path, "--key"));
  CAPSULE_RETURN_IF_ERROR(CheckOutputIsNoInput(req.output, {req.path, key_path}));
  VerifyOptions vo;
  vo.check_payload = false;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenCapsule(req.path, vo));
  ContentKey k;
  if (c.info.content_key) {
    CAPSULE_RETURN_IF_ERROR(RecoverContentKey(c, nullptr, nullptr, &k));
  } else {
    CAPSULE_ASSIGN_OR_RETURN(SecretIdentity id, LoadSecretKey(key_path, DefaultPassphraseSource()));
    CAPSULE_RETURN_IF_ERROR(RecoverContentKey(c, id.pub.x25519.data(), id.x25519_sk(), &k));
  }
  // `-o -` streams to stdout: each chunk is released only after it matched the signed index
  // and its AEAD tag, but a failure later leaves stdout truncated (exit 5; DESIGN §9.5).
  const bool to_stdout = req.output == "-";
  AtomicOutput out;
  if (!to_stdout) {
    CAPSULE_ASSIGN_OR_RETURN(out, AtomicOutput::Create(req.output, req.overwrite));
  }
  ChunkOpener opener(k, c.info.id, c.info.chunk_size);
  Bytes plain;
  uint64_t total = 0;
  CAPSULE_RETURN_IF_ERROR(StreamPayload(
      c,
      [&](uint64_t i, ByteView sealed) -> Status {
        CAPSULE_RETURN_IF_ERROR(opener.Open(i, c.index[i], PlainLength(c.info, i), sealed, &plain)
                                    .WithContext(req.path));
        total += plain.size();
        Status s = to_stdout ? WriteStdout(plain.data(), plain.size()) : out.Write(plain);
        Wipe(plain.data(), plain.size());
        return s;
      },
      progress));
  if (total != c.info.plaintext_size)
    return Status(Code::BadIndex, req.path + ": payload size differs from the manifest");
  if (!to_stdout) CAPSULE_RETURN_IF_ERROR(out.Commit());
  UnpackResult r;
  r.output = req.output;
  r.capsule_id = HexEncode(c.info.id);
  r.bytes = total;
  return r;
}

std::string UnpackResult::ToJson() const {
  return ReportJson(nlohmann::json(
      {{"ok", true}, {"output", output}, {"capsule_id", capsule_id}, {"bytes", bytes}}));
}

Result<KeygenResult> Keygen(const KeygenRequest& req) {
  CAPSULE_ASSIGN_OR_RETURN(SecretIdentity id, GenerateIdentity());
  std::optional<std::string> pass;
  if (req.protect) {
    auto src = DefaultPassphraseSource();
    CAPSULE_ASSIGN_OR_RETURN(std::string p, src("New passphrase for " + req.key_path + ": "));
    if (p.size() < 8) return Status(Code::Usage, "the passphrase must have at least 8 characters");
    pass = std::move(p);
  }
  Status s = WriteIdentity(id, req.key_path, req.pub_path, pass, req.overwrite);
  if (pass) Wipe(pass->data(), pass->size());
  CAPSULE_RETURN_IF_ERROR(s);
  KeygenResult r;
  r.key_path = req.key_path;
  r.pub_path = req.pub_path;
  r.key_id = id.pub.KeyId();
  r.did_key = id.pub.DidKey();
  r.ed25519 = HexEncode(id.pub.ed25519);
  r.x25519 = HexEncode(id.pub.x25519);
  r.address = id.pub.AddressChecksummed();
  return r;
}

std::string KeygenResult::ToJson() const {
  return format::ReportJson(nlohmann::json({{"ok", true},
                                            {"key", key_path},
                                            {"public", pub_path},
                                            {"key_id", key_id},
                                            {"did_key", did_key},
                                            {"ed25519", ed25519},
                                            {"x25519", x25519},
                                            {"address", address}}));
}

std::string DefaultKeyPath() { return format::DefaultKeyPath(); }

}  // namespace capsule
