// Capsule reader. Invariants: manifest, index and preview are taken only from byte ranges
// that were hashed (read once into memory, hashed from that memory, parsed from that memory),
// never by searching for a section name; nothing from part 2 is interpreted before a signed
// hash set matching parts 1–2 was found and a signature over it verified.
#include "format/container.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

#include "format/canonical_json.h"

namespace capsule::format {
namespace {

// Canonical order of non-custom sections (the binary format's own order).
int SectionRank(uint8_t id) {
  static const int kRank[14] = {-1, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return id < 14 ? kRank[id] : -1;
}

bool IsCustom(const SectionRef& s, std::string_view name) { return s.id == 0 && s.name == name; }

template <size_t N>
bool HexArray(const nlohmann::json& j, std::array<uint8_t, N>* out) {
  if (!j.is_string()) return false;
  auto b = HexDecode(j.get<std::string>());
  if (!b || b->size() != N || HexEncode(*b) != j.get<std::string>()) return false;
  std::memcpy(out->data(), b->data(), N);
  return true;
}

bool UInt(const nlohmann::json& o, const char* k, uint64_t* v) {
  if (!o.contains(k) || !o[k].is_number_unsigned()) return false;
  *v = o[k].get<uint64_t>();
  return true;
}

}  // namespace

Result<CapsuleLayout> CapsuleLayout::From(const std::vector<SectionRef>& s,
                                          const std::string& where) {
  auto bad = [&](const std::string& why) { return Status(Code::BadLayout, where + ": " + why); };
  CapsuleLayout L;
  size_t i = 0;
  if (s.empty() || !IsCustom(s[0], kSignatureSection))
    return Status(Code::NoSignatureSection,
                  where + ": the first section is not a `signature` section (unsigned capsule)");
  L.signature = s[i++];
  int last_rank = 0;
  while (i < s.size() && !s[i].is_custom()) {
    int r = SectionRank(s[i].id);
    if (r <= last_rank)
      return bad("code sections out of order or repeated (section id " + std::to_string(s[i].id) +
                 ")");
    last_rank = r;
    L.code.push_back(s[i++]);
  }
  if (L.code.empty()) return bad("part 1 holds no code sections");
  auto expect = [&](std::string_view name, SectionRef* out) -> Status {
    if (i >= s.size())
      return Status(Code::BadLayout, where + ": missing section `" + std::string(name) + "`");
    if (!IsCustom(s[i], name)) {
      std::string got = s[i].is_custom() ? "custom section `" + s[i].name + "`"
                                         : "section id " + std::to_string(s[i].id);
      return Status(Code::BadLayout, where + ": expected `" + std::string(name) + "` at byte " +
                                         std::to_string(s[i].offset) + ", found " + got);
    }
    *out = s[i++];
    return Status::Ok();
  };
  CAPSULE_RETURN_IF_ERROR(expect(kDelimiterSection, &L.delimiters[0]));
  CAPSULE_RETURN_IF_ERROR(expect(kManifestSection, &L.manifest));
  CAPSULE_RETURN_IF_ERROR(expect(kIndexSection, &L.index));
  if (i < s.size() && IsCustom(s[i], kPreviewSection)) L.preview = s[i++];
  CAPSULE_RETURN_IF_ERROR(expect(kDelimiterSection, &L.delimiters[1]));
  CAPSULE_RETURN_IF_ERROR(expect(kPayloadSection, &L.payload));
  CAPSULE_RETURN_IF_ERROR(expect(kDelimiterSection, &L.delimiters[2]));
  if (i != s.size())
    return Status(Code::TrailingData, where + ": " + std::to_string(s.size() - i) +
                                          " section(s) after the last signature delimiter");
  for (const auto& d : L.delimiters)
    if (d.content_size() != kDelimiterSize)
      return bad("a signature delimiter does not hold exactly 16 bytes");
  return L;
}

Result<ManifestInfo> ManifestInfo::From(const nlohmann::json& m, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status(Code::ManifestInvalid, where + ": manifest: " + why);
  };
  if (!m.is_object() || !m.contains("capsule") || !m["capsule"].is_object())
    return bad("no `capsule` block");
  const auto& c = m["capsule"];
  ManifestInfo info;
  uint64_t format = 0, chunk_size = 0;
  if (!UInt(c, "format", &format) || format != 1)
    return Status(Code::UnsupportedSuite, where + ": unsupported capsule format version");
  if (!c.contains("suite") || c["suite"] != std::string(kSuiteV1Name))
    return Status(Code::UnsupportedSuite, where + ": unsupported cipher suite");
  if (!HexArray(JsonAt(c, "id"), &info.id)) return bad("capsule.id is not 32 hex digits");
  if (!UInt(c, "chunk_size", &chunk_size) || chunk_size < kMinChunkSize ||
      chunk_size > kMaxChunkSize)
    return bad("capsule.chunk_size out of range");
  info.chunk_size = static_cast<uint32_t>(chunk_size);
  if (!UInt(c, "chunk_count", &info.chunk_count) ||
      !UInt(c, "plaintext_size", &info.plaintext_size) || info.plaintext_size == 0 ||
      info.chunk_count != (info.plaintext_size + chunk_size - 1) / chunk_size)
    return bad("capsule.chunk_count does not match plaintext_size and chunk_size");
  if (!HexArray(JsonAt(c, "key_commitment"), &info.key_commitment))
    return bad("capsule.key_commitment is not 64 hex digits");
  if (!m.contains("creator") || !m["creator"].is_object() ||
      !HexArray(JsonAt(m["creator"], "ed25519"), &info.creator_ed25519))
    return bad("creator.ed25519 missing or malformed");
  if (!c.contains("issuers") || !c["issuers"].is_array()) return bad("capsule.issuers missing");
  for (const auto& is : c["issuers"]) {
    Issuer x;
    if (!is.is_object() || !HexArray(JsonAt(is, "ed25519"), &x.ed25519) ||
        !HexArray(JsonAt(is, "x25519"), &x.x25519))
      return bad("malformed issuer entry");
    auto sealed = Base64Decode(JsonStr(is, "sealed_key"));
    if (!sealed || sealed->size() != 32 + kSealOverhead) return bad("malformed issuer sealed_key");
    x.sealed_key = std::move(*sealed);
    info.issuers.push_back(std::move(x));
  }
  if (c.contains("content_key")) {
    std::array<uint8_t, 32> k;
    if (!HexArray(c["content_key"], &k)) return bad("capsule.content_key malformed");
    info.content_key = k;
  }
  bool creator_issues = false;
  for (const auto& is : info.issuers) creator_issues |= is.ed25519 == info.creator_ed25519;
  if (!creator_issues) return bad("the creator must be one of the issuers");
  if (c.contains("preview")) {
    uint64_t ps = 0;
    if (!c["preview"].is_object() || !UInt(c["preview"], "size", &ps) || ps == 0)
      return bad("capsule.preview.size missing");
    info.preview_size = ps;
  }
  info.file_name = JsonStr(c, "file_name");
  return info;
}

uint32_t PlainLength(const ManifestInfo& m, uint64_t i) {
  if (i + 1 < m.chunk_count) return m.chunk_size;
  return static_cast<uint32_t>(m.plaintext_size - (m.chunk_count - 1) * uint64_t{m.chunk_size});
}

Result<OpenedCapsule> OpenCapsule(const std::string& path, const VerifyOptions& opts) {
  CryptoInit();
  OpenedCapsule c;
  CAPSULE_ASSIGN_OR_RETURN(c.file, InputFile::Open(path));
  CAPSULE_ASSIGN_OR_RETURN(auto sections, ScanSections(c.file));
  CAPSULE_ASSIGN_OR_RETURN(c.layout, CapsuleLayout::From(sections, path));
  const CapsuleLayout& L = c.layout;

  if (L.signature.content_size() > 64 * 1024)
    return Status(Code::BadSignatureSection, path + ": signature section larger than 64 KiB");
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes sig_bytes, c.file.ReadRange(L.signature.content_offset, L.signature.content_size()));
  CAPSULE_ASSIGN_OR_RETURN(c.signatures, SignatureData::Parse(sig_bytes, path));

  // Parts 1 and 2: read once, hash from memory, keep the bytes we will interpret.
  uint64_t code_bytes = L.delimiters[0].offset - L.code.front().offset;
  if (code_bytes > kMaxCodePart)
    return Status(Code::BadLayout, path + ": capsule code larger than 16 MiB");
  if (L.manifest.content_size() > kMaxManifest)
    return Status(Code::ManifestInvalid, path + ": manifest larger than 1 MiB");
  if (L.index.content_size() > (uint64_t{64} << 20))
    return Status(Code::BadIndex, path + ": chunk index larger than 64 MiB");
  if (L.preview && L.preview->content_size() > kMaxPreview)
    return Status(Code::BadLayout, path + ": preview larger than 64 MiB");

  c.rolling = std::make_unique<Sha256>();
  CAPSULE_ASSIGN_OR_RETURN(Bytes part1, c.file.ReadRange(L.code.front().offset, code_bytes));
  c.code_hash = Sha256Of(part1);
  c.rolling->Update(part1);
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes d0,
      c.file.ReadRange(L.delimiters[0].offset, L.delimiters[0].end() - L.delimiters[0].offset));
  c.rolling->Update(d0);
  c.part_hashes.push_back(c.rolling->Peek());

  uint64_t p2_begin = L.manifest.offset, p2_end = L.delimiters[1].end();
  CAPSULE_ASSIGN_OR_RETURN(Bytes part2, c.file.ReadRange(p2_begin, p2_end - p2_begin));
  c.rolling->Update(part2);
  c.part_hashes.push_back(c.rolling->Peek());
  auto slice = [&](const SectionRef& s) {
    return std::string(reinterpret_cast<const char*>(part2.data()) + (s.content_offset - p2_begin),
                       s.content_size());
  };

  // Find the signed hash sets whose first two hashes are ours.
  std::vector<const SignedHashes*> matching;
  bool any_full = false;
  for (const auto& set : c.signatures.sets) {
    if (set.hashes.size() >= 2 && set.hashes[0] == c.part_hashes[0] &&
        set.hashes[1] == c.part_hashes[1]) {
      matching.push_back(&set);
      if (set.hashes.size() == 3) any_full = true;
    }
  }
  if (matching.empty()) {
    bool h1 = std::any_of(c.signatures.sets.begin(), c.signatures.sets.end(), [&](auto& s) {
      return !s.hashes.empty() && s.hashes[0] == c.part_hashes[0];
    });
    return Status(Code::PartHashMismatch,
                  path + ": part " + std::string(h1 ? "2 (manifest, index, preview)" : "1 (code)") +
                      " does not match any signed hash: the capsule was changed");
  }
  if (!any_full)
    return Status(Code::PartCountMismatch,
                  path + ": no signature covers exactly the capsule's 3 parts");

  // Signatures over the full hash list; the third hash is checked when part 3 is streamed.
  // Candidate keys: the trusted keys given by the caller, and the manifest's creator key. Key
  // ids are not used: they are not covered by any signature, and we write them empty (stock
  // wasmsign2 skips signatures whose key id differs from the one it assigns its key).
  auto valid_under = [&](const uint8_t pk[32]) {
    for (const auto* set : matching) {
      if (set->hashes.size() != 3) continue;
      Bytes msg = SignedMessage(set->hashes);
      for (const auto& s : set->signatures)
        if (Ed25519Verify(pk, msg, s.sig.data())) return true;
    }
    return false;
  };
  std::vector<std::array<uint8_t, 32>> signers;
  if (opts.trusted)
    for (const auto& pk : *opts.trusted)
      if (std::find(signers.begin(), signers.end(), pk) == signers.end() && valid_under(pk.data()))
        signers.push_back(pk);
  for (const auto* set : matching)
    if (set->hashes.size() == 3) c.signature_count += set->signatures.size();

  // Part 2 is what the matching set hashed; the manifest names the creator key. A manifest
  // that does not parse can only be reported as such once some trusted key vouched for it.
  c.manifest_bytes = slice(L.manifest);
  auto parsed = ParseCanonicalJson(c.manifest_bytes, path);
  if (!parsed.ok()) {
    if (signers.empty())
      return Status(Code::NoValidSignature, path + ": no valid signature over the capsule");
    return parsed.status();
  }
  c.manifest = std::move(parsed).value();
  auto info = ManifestInfo::From(c.manifest, path);
  if (!info.ok()) {
    if (signers.empty())
      return Status(Code::NoValidSignature, path + ": no valid signature over the capsule");
    return info.status();
  }
  c.info = std::move(info).value();
  const auto& creator = c.info.creator_ed25519;
  if (std::find(signers.begin(), signers.end(), creator) == signers.end()) {
    if (valid_under(creator.data())) {
      signers.insert(signers.begin(), creator);
    } else if (signers.empty()) {
      return Status(Code::NoValidSignature,
                    path + ": no valid signature by the creator key named in the manifest");
    } else {
      return Status(Code::CreatorNotSigner,
                    path +
                        ": signed by a trusted key, but not by the creator key named in the "
                        "manifest (" +
                        HexEncode(creator) + ")");
    }
  }
  for (const auto& pk : signers) {
    SignerReport r;
    r.ed25519 = pk;
    r.role = pk == creator ? SignerRole::kCreator : SignerRole::kCoSigner;
    if (opts.trusted)
      r.trusted = std::find(opts.trusted->begin(), opts.trusted->end(), pk) != opts.trusted->end();
    c.signers.push_back(r);
  }
  std::stable_partition(c.signers.begin(), c.signers.end(),
                        [](const SignerReport& r) { return r.role == SignerRole::kCreator; });

  // Index and preview (authentic from here on).
  std::string index_bytes = slice(L.index);
  CAPSULE_ASSIGN_OR_RETURN(c.index, ChunkIndex::Parse(AsBytes(index_bytes), c.info.chunk_size,
                                                      L.payload.content_size(), path));
  if (c.index.entries.size() != c.info.chunk_count)
    return Status(Code::BadIndex,
                  path + ": the index has " + std::to_string(c.index.entries.size()) +
                      " chunks, the manifest says " + std::to_string(c.info.chunk_count));
  if (L.preview.has_value() != c.info.preview_size.has_value() ||
      (L.preview && L.preview->content_size() != *c.info.preview_size))
    return Status(Code::ManifestInvalid, path + ": preview section and manifest disagree");
  if (L.preview) c.preview = slice(*L.preview);
  if (c.info.content_key) {
    ContentKey k;
    std::memcpy(k.data(), c.info.content_key->data(), 32);
    if (KeyCommitment(k, c.info.id) != c.info.key_commitment)
      return Status(Code::KeyCommitmentMismatch,
                    path + ": the published content key does not match its commitment");
  }

  if (opts.check_payload) {
    CAPSULE_RETURN_IF_ERROR(StreamPayload(c, nullptr, opts.progress));
  }

  // Trust is evaluated only after integrity: reported separately (DESIGN §3.13).
  if (opts.trusted) {
    c.trusted =
        std::find(opts.trusted->begin(), opts.trusted->end(), creator) != opts.trusted->end();
    if (!*c.trusted)
      return Status(Code::UntrustedSigner,
                    path + ": the creator key " + HexEncode(creator) + " is not trusted");
  }
  return c;
}

Status StreamPayload(OpenedCapsule& c, const std::function<Status(uint64_t, ByteView)>& sink,
                     const std::function<void(uint64_t, uint64_t)>& progress) {
  const std::string& path = c.file.path();
  const CapsuleLayout& L = c.layout;
  if (!c.rolling) return Status(Code::Internal, "payload already streamed");
  // The payload section header (id, size, name) is part of part 3's hash.
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes head, c.file.ReadRange(L.payload.offset, L.payload.content_offset - L.payload.offset));
  c.rolling->Update(head);
  // Two SHA-256 passes over the same bytes — each chunk against its index entry, and part 3's
  // rolling hash — run side by side: the payload is read in batches of up to 2 MiB (the chunks
  // are contiguous), a second thread hashes the batch's chunks while this one feeds the rolling
  // hash. Memory stays one batch. A chunk reaches `sink` only after its hash matched.
  constexpr uint64_t kBatch = 2 << 20;
  Bytes buf;
  std::vector<Hash32> hashes;
  const uint64_t n = c.index.entries.size();
  for (uint64_t first = 0; first < n;) {
    uint64_t last = first, bytes = 0;
    while (last < n && (last == first || bytes + c.index.entries[last].length <= kBatch))
      bytes += c.index.entries[last++].length;
    buf.resize(bytes);
    CAPSULE_RETURN_IF_ERROR(
        c.file.ReadAt(L.payload.content_offset + c.index.offsets[first], buf.data(), bytes));
    hashes.assign(last - first, Hash32{});
    auto hash_chunks = [&] {
      uint64_t off = 0;
      for (uint64_t i = first; i < last; ++i) {
        const uint64_t len = c.index.entries[i].length;
        hashes[i - first] = Sha256Of(ByteView(buf.data() + off, len));
        off += len;
      }
    };
    std::thread worker;
    if (bytes >= 256 * 1024) {
      try {
        worker = std::thread(hash_chunks);
      } catch (const std::system_error&) {  // no thread: hash here
      }
    }
    if (!worker.joinable()) hash_chunks();
    c.rolling->Update(buf);
    if (worker.joinable()) worker.join();
    uint64_t off = 0;
    for (uint64_t i = first; i < last; ++i) {
      const IndexEntry& e = c.index.entries[i];
      if (hashes[i - first] != e.hash)
        return Status(Code::ChunkHashMismatch, path + ": payload chunk " + std::to_string(i) +
                                                   " differs from its signed index entry");
      if (sink) CAPSULE_RETURN_IF_ERROR(sink(i, ByteView(buf.data() + off, e.length)));
      off += e.length;
      if (progress) progress(i + 1, n);
    }
    first = last;
  }
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes tail,
      c.file.ReadRange(L.delimiters[2].offset, L.delimiters[2].end() - L.delimiters[2].offset));
  c.rolling->Update(tail);
  Hash32 h3 = c.rolling->Final();
  c.rolling.reset();
  std::vector<Hash32> full = {c.part_hashes[0], c.part_hashes[1], h3};
  if (!HasValidSignature(c.signatures, full, c.info.creator_ed25519.data()))
    return Status(Code::PartHashMismatch,
                  path + ": part 3 (payload) does not match the creator's signed hash");
  c.part_hashes.push_back(h3);
  // Co-signers count only when their signature covers the payload too.
  c.signers.erase(std::remove_if(c.signers.begin(), c.signers.end(),
                                 [&](const SignerReport& r) {
                                   return !HasValidSignature(c.signatures, full, r.ed25519.data());
                                 }),
                  c.signers.end());
  c.payload_verified = true;
  return Status::Ok();
}

Status RecoverContentKey(const OpenedCapsule& c, const uint8_t* x_pk, const uint8_t* x_sk,
                         ContentKey* out) {
  const std::string& path = c.file.path();
  if (c.info.content_key) {
    std::memcpy(out->data(), c.info.content_key->data(), 32);
  } else {
    bool opened = false;
    for (const auto& is : c.info.issuers) {
      if (!x_pk || std::memcmp(is.x25519.data(), x_pk, 32) != 0) continue;
      if (!SealOpen(x_pk, x_sk, is.sealed_key, out->data()))
        return Status(Code::KeyCommitmentMismatch,
                      path + ": the sealed content key for this issuer does not open");
      opened = true;
      break;
    }
    if (!opened)
      return Status(Code::NotAnIssuer, path + ": this key is not one of the capsule's issuers");
  }
  if (KeyCommitment(*out, c.info.id) != c.info.key_commitment)
    return Status(Code::KeyCommitmentMismatch,
                  path + ": the content key does not match the manifest's key commitment");
  return Status::Ok();
}

}  // namespace capsule::format
