// Capsule reader. Invariants: manifest, index and preview are taken only from byte ranges
// that were hashed (read once into memory, hashed from that memory, parsed from that memory),
// never by searching for a section name; nothing from part 2 is interpreted before a signed
// hash set matching parts 1–2 was found and a signature over it verified.
#include "format/container.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
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

// Whether `j` is or holds a null (depth is bounded by the canonical parser: 32).
static bool HasNull(const nlohmann::json& j) {
  if (j.is_null()) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (HasNull(v)) return true;
  return false;
}

Result<OpenedCapsule> OpenCapsule(const std::string& path, const VerifyOptions& opts) {
  CryptoInit();
  if (opts.wait_for_bulk_crypto || opts.check_payload) RequireBulkCrypto();
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
  // Buffers not zero-filled first (each is hashed over exactly the bytes read into it).
  CAPSULE_ASSIGN_OR_RETURN(ReadBuffer part1,
                           c.file.ReadBufferAt(L.code.front().offset, code_bytes));
  c.code_hash = Sha256Of(part1.view());
  c.rolling->Update(part1.view());
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes d0,
      c.file.ReadRange(L.delimiters[0].offset, L.delimiters[0].end() - L.delimiters[0].offset));
  c.rolling->Update(d0);
  c.part_hashes.push_back(c.rolling->Peek());

  // Part 2 is read once, in three buffers hashed in order: up to the index's contents (the
  // manifest section and the index section's header), the index's contents (kept by the
  // parsed index as they are), and the rest (the preview section, the delimiter).
  const uint64_t p2_begin = L.manifest.offset, p2_end = L.delimiters[1].end();
  const uint64_t idx_begin = L.index.content_offset, idx_end = L.index.end();
  CAPSULE_ASSIGN_OR_RETURN(ReadBuffer head, c.file.ReadBufferAt(p2_begin, idx_begin - p2_begin));
  CAPSULE_ASSIGN_OR_RETURN(ReadBuffer index_bytes,
                           c.file.ReadBufferAt(idx_begin, idx_end - idx_begin));
  CAPSULE_ASSIGN_OR_RETURN(ReadBuffer tail, c.file.ReadBufferAt(idx_end, p2_end - idx_end));
  c.rolling->Update(head.view());
  c.rolling->Update(index_bytes.view());
  c.rolling->Update(tail.view());
  c.part_hashes.push_back(c.rolling->Peek());
  // A section's content, in place in the buffer that holds it (the layout put the manifest
  // before the index and the preview after it).
  auto slice = [&](const SectionRef& s) {
    const bool before = s.end() <= idx_begin;
    const ReadBuffer& b = before ? head : tail;
    const uint64_t base = before ? p2_begin : idx_end;
    return std::string(AsChars(b.view().subspan(static_cast<size_t>(s.content_offset - base),
                                                static_cast<size_t>(s.content_size()))));
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
  // The manifest holds no `null` (manifest.md §7; canonical JSON itself allows it: licences
  // use it).
  if (parsed.ok() && HasNull(*parsed))
    parsed = Status(Code::ManifestInvalid, path + ": the manifest holds a null");
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
  CAPSULE_ASSIGN_OR_RETURN(c.index, ChunkIndex::Parse(std::move(index_bytes), c.info.chunk_size,
                                                      L.payload.content_size(), path));
  if (c.index.size() != c.info.chunk_count)
    return Status(Code::BadIndex, path + ": the index has " + std::to_string(c.index.size()) +
                                      " chunks, the manifest says " +
                                      std::to_string(c.info.chunk_count));
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

namespace {

// Sequential reading of a byte range with read-ahead: pread into a bounded ring, never mmap (a
// file truncated under us must give an error, not SIGBUS, and touched pages would count as our
// memory). The range is cut into consecutive units — the payload's chunks, or fixed pieces — and
// the units into blocks of whole units of up to kBlockBytes (a longer unit is a block of its
// own). A helper thread reads blocks into a ring of slots ahead of the consumer, which takes
// them in order on the calling thread and releases each slot when done with it. On request each
// unit also gets its SHA-256 (the chunk hash), computed by whichever thread is free: the helper
// between reads, claiming units from a block's near end; the consumer, when it reaches a unit
// nobody took yet or, rather than wait for the one the helper is on, from the block's far end.
// So the consumer's own sequential work (the rolling hash) runs almost non-stop on one core
// while the other reads and hashes ahead, and the two share the unit hashes when the reader
// falls behind; they wait for each other at most about once a block.
//
// Every item (a block's read, a unit's hash) is claimed once, by one thread, under mu_; a slot's
// buffer and results are written outside the lock only by the thread that claimed the item and
// read by the consumer only after the item was marked done. Errors keep the sequential order: a
// block's read error is reported when the consumer reaches that block.
constexpr uint64_t kBlockBytes = uint64_t{2} << 20;
// Ring: 4 slots of a block (8 MiB for chunks up to 2 MiB); at least 2 (16 MiB chunks: 32 MiB).
// More slots measured no faster: reading is far quicker than hashing, so a short lead is enough.
constexpr uint64_t kRingBytes = uint64_t{8} << 20;
constexpr uint64_t kHelperMinBytes = 256 * 1024;  // below: no helper thread, all done in place

class ReadAhead {
 public:
  // Units: unit i starts at offsets->offset(i) relative to `begin` (the last one ends at `end`);
  // without `offsets`, fixed pieces of kBlockBytes. Starts the helper thread.
  ReadAhead(const RangeReader& read, uint64_t begin, uint64_t end, const ParsedIndex* offsets,
            bool hash_units)
      : read_(read),
        begin_(begin),
        size_(end - begin),
        offsets_(offsets),
        count_(offsets ? offsets->size() : (size_ + kBlockBytes - 1) / kBlockBytes),
        hash_units_(hash_units) {
    uint64_t largest = 1;
    for (uint64_t first = 0; first < count_;) {
      const uint64_t last = BlockEnd(first);
      largest = std::max(largest, UnitStart(last) - UnitStart(first));
      first = last;
    }
    slots_.resize(static_cast<size_t>(std::clamp<uint64_t>(kRingBytes / largest, 2, 4)));
    for (auto& s : slots_) s.buf.reset(new uint8_t[largest]);  // not zeroed: pread fills it
    if (size_ < kHelperMinBytes) return;
    try {
      helper_ = std::thread(&ReadAhead::HelperMain, this);
    } catch (const std::system_error&) {  // no thread: the consumer does everything itself
    }
  }
  ~ReadAhead() {
    if (!helper_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    helper_cv_.notify_one();
    helper_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  uint64_t units() const { return count_; }
  // Where unit u starts, relative to `begin` (u == units(): the end).
  uint64_t UnitStart(uint64_t u) const {
    if (u >= count_) return size_;
    return offsets_ ? offsets_->offset(static_cast<size_t>(u)) : u * kBlockBytes;
  }

  // The consumer's current block: units [first, last), `bytes` bytes from UnitStart(first).
  struct Block {
    uint64_t first = 0, last = 0, bytes = 0;
    const uint8_t* data = nullptr;
  };

  // Waits for the next block (or reads it here when the helper has not started on it).
  Status Next(Block* out) {
    const uint64_t b = consumed_;
    Slot& s = SlotOf(b);
    std::unique_lock<std::mutex> lock(mu_);
    if (read_claimed_ == b) {
      ClaimReadLocked();
      lock.unlock();
      Read(s);
      lock.lock();
      FinishReadLocked(s);
    }
    while (!s.read_done) {
      if (helper_broken_) return Broken();
      WaitLocked(lock);
    }
    CAPSULE_RETURN_IF_ERROR(s.read_status);
    out->first = s.first;
    out->last = s.last;
    out->bytes = UnitStart(s.last) - UnitStart(s.first);
    out->data = s.buf.get();
    return Status::Ok();
  }

  // The hash of unit u of the current block; asked in order.
  Status UnitHash(uint64_t u, Hash32* out) {
    const uint64_t b = consumed_;
    Slot& s = SlotOf(b);
    const size_t k = static_cast<size_t>(u - s.first);
    std::unique_lock<std::mutex> lock(mu_);
    while (!s.hashed[k]) {
      if (helper_broken_) return Broken();
      SkipClaimedLocked();
      uint64_t v;
      if (hash_block_ == b && hash_next_ == u) {
        v = hash_next_++;  // nobody took u
      } else if (hash_block_ == b && hash_next_ < s.high) {
        v = --s.high;  // the helper is on u: take one from the far end meanwhile
      } else {
        WaitLocked(lock);  // every unit of the block is taken; the helper is on u
        continue;
      }
      lock.unlock();
      HashUnit(s, v, hasher_);
      lock.lock();
      s.hashed[static_cast<size_t>(v - s.first)] = 1;
    }
    *out = s.hashes[k];
    return Status::Ok();
  }

  // Done with the current block: its slot may be read into again.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    SkipClaimedLocked();  // its units are all claimed: move the cursor off its slot
    ++consumed_;
    if (helper_waiting_) helper_cv_.notify_one();
  }

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> buf;
    uint64_t first = 0, last = 0;  // the block's units
    uint64_t high = 0;             // units [high, last) were claimed from the far end
    bool read_done = false;
    Status read_status;
    std::vector<Hash32> hashes;   // per unit of the block
    std::vector<uint8_t> hashed;  // per unit: its hash is in `hashes`
  };

  Slot& SlotOf(uint64_t block) { return slots_[block % slots_.size()]; }

  // The unit after the last one of the block that starts with unit `first`.
  uint64_t BlockEnd(uint64_t first) const {
    uint64_t u = first + 1;
    while (u < count_ && UnitStart(u + 1) - UnitStart(first) <= kBlockBytes) ++u;
    return u;
  }

  // Under mu_: claims the read of block read_claimed_ (whose slot is free: the caller checked
  // that the block one ring before it was released).
  void ClaimReadLocked() {
    Slot& s = SlotOf(read_claimed_++);
    s.first = next_unit_;
    s.last = s.high = next_unit_ = BlockEnd(next_unit_);
    s.read_done = false;
    if (hash_units_) {
      s.hashes.resize(static_cast<size_t>(s.last - s.first));
      s.hashed.assign(static_cast<size_t>(s.last - s.first), 0);
    }
  }
  void FinishReadLocked(Slot& s) {
    s.read_done = true;
    if (!s.read_status.ok()) read_failed_ = true;  // no reading past an error
  }
  bool CanReadLocked() const {
    return !read_failed_ && next_unit_ < count_ && read_claimed_ - consumed_ < slots_.size();
  }

  // Under mu_: moves the near-end cursor (hash_block_, hash_next_) past blocks whose units are
  // all claimed: units below hash_next_, and from its block's `high` on, are. Keeps
  // consumed_ <= hash_block_ <= read_claimed_, so the cursor's slot holds its block.
  void SkipClaimedLocked() {
    while (hash_block_ < read_claimed_ && hash_next_ >= SlotOf(hash_block_).high) {
      hash_next_ = SlotOf(hash_block_).last;
      ++hash_block_;
    }
  }
  // Under mu_: the helper's next unit to hash, the lowest unclaimed one, once its block is read.
  bool ClaimHashLocked(Slot** slot, uint64_t* u) {
    if (!hash_units_) return false;
    SkipClaimedLocked();
    if (hash_block_ >= read_claimed_) return false;
    Slot& s = SlotOf(hash_block_);
    if (!s.read_done || !s.read_status.ok()) return false;
    *slot = &s;
    *u = hash_next_++;
    return true;
  }

  void Read(Slot& s) {
    const uint64_t off = UnitStart(s.first);
    s.read_status = read_(begin_ + off, s.buf.get(), UnitStart(s.last) - off);
  }
  void HashUnit(Slot& s, uint64_t u, Sha256& h) {
    const uint64_t off = UnitStart(u);
    h.Update(s.buf.get() + (off - UnitStart(s.first)), UnitStart(u + 1) - off);
    s.hashes[static_cast<size_t>(u - s.first)] = h.Final();  // Final() also resets h
  }

  void WaitLocked(std::unique_lock<std::mutex>& lock) {
    consumer_waiting_ = true;
    consumer_cv_.wait(lock);
    consumer_waiting_ = false;
  }
  static Status Broken() { return Status(Code::Internal, "read-ahead thread failed"); }

  // Reads first (the consumer waits for blocks, never for hashes it can do itself), then hashes.
  void HelperMain() {
    try {
      Sha256 h;
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        Slot* hs = nullptr;
        uint64_t hu = 0;
        if (CanReadLocked()) {
          Slot& s = SlotOf(read_claimed_);
          ClaimReadLocked();
          lock.unlock();
          Read(s);
          lock.lock();
          FinishReadLocked(s);
        } else if (ClaimHashLocked(&hs, &hu)) {
          lock.unlock();
          HashUnit(*hs, hu, h);
          lock.lock();
          hs->hashed[static_cast<size_t>(hu - hs->first)] = 1;
        } else {
          helper_waiting_ = true;
          helper_cv_.wait(lock);
          helper_waiting_ = false;
          continue;
        }
        if (consumer_waiting_) consumer_cv_.notify_one();
      }
    } catch (...) {  // (std::system_error from the lock): nothing may unwind out of a thread
      std::lock_guard<std::mutex> lock(mu_);
      helper_broken_ = true;
      consumer_cv_.notify_one();
    }
  }

  const RangeReader& read_;
  const uint64_t begin_, size_;
  const ParsedIndex* offsets_;
  const uint64_t count_;
  const bool hash_units_;
  std::vector<Slot> slots_;
  Sha256 hasher_;  // the consumer's
  std::thread helper_;

  std::mutex mu_;
  std::condition_variable helper_cv_, consumer_cv_;
  bool helper_waiting_ = false, consumer_waiting_ = false;
  uint64_t read_claimed_ = 0;  // blocks whose read was claimed
  uint64_t next_unit_ = 0;     // the first unit of block read_claimed_
  uint64_t consumed_ = 0;      // blocks released by the consumer (written by it alone)
  uint64_t hash_block_ = 0;    // the near-end hash cursor: a block and
  uint64_t hash_next_ = 0;     // its lowest unit nobody claimed
  bool read_failed_ = false, stop_ = false, helper_broken_ = false;
};

}  // namespace

Status ReadSequential(const RangeReader& read, uint64_t begin, uint64_t end,
                      const std::function<Status(uint64_t offset, ByteView piece)>& consume) {
  if (begin >= end) return Status::Ok();
  ReadAhead ra(read, begin, end, nullptr, /*hash_units=*/false);
  for (uint64_t u = 0; u < ra.units();) {
    ReadAhead::Block b;
    CAPSULE_RETURN_IF_ERROR(ra.Next(&b));
    CAPSULE_RETURN_IF_ERROR(consume(begin + ra.UnitStart(b.first), ByteView(b.data, b.bytes)));
    ra.Release();
    u = b.last;
  }
  return Status::Ok();
}

Status StreamPayload(OpenedCapsule& c, const std::function<Status(uint64_t, ByteView)>& sink,
                     const std::function<void(uint64_t, uint64_t)>& progress) {
  RequireBulkCrypto();
  const std::string& path = c.file.path();
  const CapsuleLayout& L = c.layout;
  if (!c.rolling) return Status(Code::Internal, "payload already streamed");
  // The payload section header (id, size, name) is part of part 3's hash.
  CAPSULE_ASSIGN_OR_RETURN(
      Bytes head, c.file.ReadRange(L.payload.offset, L.payload.content_offset - L.payload.offset));
  c.rolling->Update(head);
  // Two SHA-256 passes over the same bytes — each chunk against its index entry, and part 3's
  // rolling hash — run side by side (ReadAhead above): this thread feeds the rolling hash a
  // block (≤ 2 MiB of whole chunks) at a time while a helper thread reads ahead and hashes
  // chunks; the chunk hashes the helper has not reached when this thread gets to them, this
  // thread computes. A chunk reaches `sink` (on this thread, in order) only after its hash
  // matched. The chunks are contiguous: ChunkIndex::Parse checked that their lengths add up to
  // the payload contents.
  const uint64_t n = c.index.size();
  const RangeReader read = [&c](uint64_t off, uint8_t* buf, size_t len) {
    return c.file.ReadAt(off, buf, len);
  };
  ReadAhead ra(read, L.payload.content_offset, L.payload.end(), &c.index,
               /*hash_units=*/true);
  for (uint64_t first = 0; first < n;) {
    ReadAhead::Block b;
    CAPSULE_RETURN_IF_ERROR(ra.Next(&b));
    c.rolling->Update(b.data, b.bytes);
    for (uint64_t i = b.first; i < b.last; ++i) {
      Hash32 h;
      CAPSULE_RETURN_IF_ERROR(ra.UnitHash(i, &h));
      const IndexEntry e = c.index[i];
      if (h != e.hash)
        return Status(Code::ChunkHashMismatch, path + ": payload chunk " + std::to_string(i) +
                                                   " differs from its signed index entry");
      if (sink) {
        const uint64_t at = c.index.offset(i) - c.index.offset(b.first);
        CAPSULE_RETURN_IF_ERROR(sink(i, ByteView(b.data + at, e.length)));
      }
      if (progress) progress(i + 1, n);
    }
    ra.Release();
    first = b.last;
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
