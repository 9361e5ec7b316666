// Reading a capsule (docs/spec/capsule-format.md): layout, signatures, manifest, index, and a
// streaming payload reader that releases a chunk only after it matched its signed index entry.
// Order of checks (fail closed at the first failure): structure → parts 1–2 hashed → signed
// hash set found → signature by the manifest's creator key → manifest → index → (payload).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capsule/status.h"
#include "format/chunk_crypto.h"
#include "format/chunk_index.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/signature.h"
#include "format/wasm.h"

namespace capsule::format {

inline constexpr size_t kMaxCodePart = 16u << 20;
inline constexpr size_t kMaxManifest = 1u << 20;
inline constexpr size_t kMaxPreview = 64u << 20;

struct CapsuleLayout {
  SectionRef signature;
  std::vector<SectionRef> code;  // part 1
  SectionRef delimiters[3];
  SectionRef manifest, index, payload;
  std::optional<SectionRef> preview;
  // Validates the section sequence: signature, part 1 (non-custom sections only), delimiter,
  // manifest, index, [preview], delimiter, payload, delimiter, end of file.
  static Result<CapsuleLayout> From(const std::vector<SectionRef>& sections,
                                    const std::string& where);
};

struct Issuer {
  std::array<uint8_t, 32> ed25519{}, x25519{};
  Bytes sealed_key;
};

// The fields of the embedded manifest the format layer relies on, validated.
struct ManifestInfo {
  CapsuleId id{};
  uint32_t chunk_size = 0;
  uint64_t chunk_count = 0;
  uint64_t plaintext_size = 0;
  Hash32 key_commitment{};
  std::array<uint8_t, 32> creator_ed25519{};
  std::vector<Issuer> issuers;
  std::optional<std::array<uint8_t, 32>> content_key;  // free capsules
  std::optional<uint64_t> preview_size;
  std::string file_name;
  static Result<ManifestInfo> From(const nlohmann::json& m, const std::string& where);
};

enum class SignerRole { kCreator, kCoSigner };
struct SignerReport {
  std::array<uint8_t, 32> ed25519{};
  SignerRole role = SignerRole::kCoSigner;
  bool trusted = false;
};

struct VerifyOptions {
  bool check_payload = true;  // stream part 3: rolling hash + every chunk against the index
  std::optional<std::vector<std::array<uint8_t, 32>>> trusted;  // nullopt: trust not evaluated
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Load libcrypto before hashing (RequireBulkCrypto), so that a later StreamPayload runs on
  // it. false: parts 1–2 may be hashed with Nettle while libcrypto loads elsewhere — for a
  // caller that never streams part 3 and wants its first byte soon (capsule-run open).
  bool wait_for_bulk_crypto = true;
};

struct OpenedCapsule {
  InputFile file;
  CapsuleLayout layout;
  SignatureData signatures;
  std::vector<Hash32> part_hashes;  // computed: h1, h2 and (after payload check) h3
  Hash32 code_hash{};               // SHA-256 of the part-1 sections (their full encoding)
  std::string manifest_bytes;
  nlohmann::json manifest;
  ManifestInfo info;
  ParsedIndex index;
  std::string preview;
  // Valid signatures by known keys (creator, trusted keys): over parts 1–2 and the signed h3
  // until the payload was streamed, over all three parts after.
  std::vector<SignerReport> signers;
  size_t signature_count = 0;  // signatures in the sets covering this capsule's parts
  bool payload_verified = false;
  std::optional<bool> trusted;      // nullopt when no trust list was given
  std::unique_ptr<Sha256> rolling;  // hash state after part 2 (continues into part 3)
};

Result<OpenedCapsule> OpenCapsule(const std::string& path, const VerifyOptions& opts);

// Streams the payload: each chunk is read with pread, matched against its index entry (and
// fed to the rolling hash so that h3 is checked at the end), then handed to `sink`, in order on
// the calling thread. A helper thread reads ahead (blocks of up to 2 MiB of whole chunks, a ring
// of 8 MiB, or two blocks for larger chunks) and shares the chunk hashes, so the rolling hash
// runs on its own core. The final signature check of part 3 happens after the last chunk; `sink`
// must therefore write to a temporary output that is discarded on failure.
Status StreamPayload(OpenedCapsule& c, const std::function<Status(uint64_t, ByteView)>& sink,
                     const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

// Reads exactly n bytes at `offset` (InputFile::ReadAt, AtomicOutput::ReadAt); called from a
// helper thread.
using RangeReader = std::function<Status(uint64_t offset, uint8_t* buf, size_t n)>;

// Hands [begin, end) to `consume` in order, in consecutive pieces of up to 2 MiB, on the calling
// thread, while a helper thread reads ahead with `read` into a bounded ring (8 MiB): reading
// overlaps `consume`. The first error (a read's, in order, or consume's) stops it. Pack's
// read-back pass for the signature hashes uses it; StreamPayload reads the same way.
Status ReadSequential(const RangeReader& read, uint64_t begin, uint64_t end,
                      const std::function<Status(uint64_t offset, ByteView piece)>& consume);

// Recovers K: from the manifest (free capsules) or by opening an issuer's sealed box.
// Checks the key commitment before returning.
Status RecoverContentKey(const OpenedCapsule& c, const uint8_t* x25519_pk, const uint8_t* x25519_sk,
                         ContentKey* out);

// Plaintext length of chunk i.
uint32_t PlainLength(const ManifestInfo& m, uint64_t i);

}  // namespace capsule::format
