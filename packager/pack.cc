// The pack pipeline for one input (DESIGN §2): probe → preview cut → keys and ids → manifest →
// write parts 1–2 with a placeholder index → stream chunks (packager/pack_pipeline.h: read →
// zstd when it pays → AES-256-GCM → chunk hash on the thread budget, written in order) → fill
// in index and payload size → read back for the signature's rolling hash → sign → re-parse and
// check the result → rename into place. Memory does not grow with the input: a bounded ring of
// chunks (pack_pipeline.h), the index (37 bytes a chunk) and the preview (capped) in memory.
#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "capsule/capsule.h"
#include "chain/creator_binding.h"
#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/container.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/signature.h"
#include "format/wasm.h"
#include "packager/logic.h"
#include "packager/manifest_yaml.h"
#include "packager/media.h"
#include "packager/pack_pipeline.h"
#include "packager/template.h"

namespace capsule {
namespace {
using namespace capsule::format;  // NOLINT: this file is all format plumbing

// Randomness for one capsule: from the OS, or (--reproducible) derived from the seed, the
// input's content hash, the manifest, every setting that changes how the plaintext maps to
// chunks or who gets the key (chunk size, compression, creator, issuers, co-signers, template),
// and the input's position in the run (DESIGN §3.14, §9.13). Any change of these gives a new
// content key and capsule id, so a (key, nonce) pair never meets two different plaintexts.
class Randomness {
 public:
  Randomness() = default;
  Randomness(ByteView seed, const Hash32& content, const Hash32& manifest, const Hash32& settings,
             uint64_t position)
      : derived_(true) {
    key_.assign(seed.begin(), seed.end());
    ctx_.assign(content.begin(), content.end());
    ctx_.insert(ctx_.end(), manifest.begin(), manifest.end());
    ctx_.insert(ctx_.end(), settings.begin(), settings.end());
    PutU64Be(ctx_, position);
  }
  ~Randomness() { Wipe(key_.data(), key_.size()); }
  void Fill(std::string_view label, uint8_t* out, size_t n) {
    if (!derived_) {
      RandomBytes(out, n);
      return;
    }
    Bytes msg(label.begin(), label.end());
    msg.push_back(0);
    msg.insert(msg.end(), ctx_.begin(), ctx_.end());
    Hash32 h = HmacSha256(key_, msg);
    if (n > 32) std::abort();
    std::memcpy(out, h.data(), n);
    Wipe(h.data(), h.size());
  }

 private:
  bool derived_ = false;
  Bytes key_, ctx_;
};

// The input's content hash (--reproducible): read ahead on a helper thread while this one hashes.
Result<Hash32> HashFile(const InputFile& f) {
  Sha256 h;
  CAPSULE_RETURN_IF_ERROR(ReadSequential(
      [&f](uint64_t off, uint8_t* buf, size_t n) { return f.ReadAt(off, buf, n); }, 0, f.size(),
      [&h](uint64_t, ByteView piece) {
        h.Update(piece);
        return Status::Ok();
      }));
  return h.Final();
}

std::string BaseName(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

class PackerImpl final : public Packer {
 public:
  Status Init(const PackRequest& req) {
    CryptoInit();
    req_ = req;
    if (req.chunk_size < kMinChunkSize || req.chunk_size > kMaxChunkSize)
      return Status(Code::BadChunkSize, "--chunk-size " + std::to_string(req.chunk_size) +
                                            ": must be between 4096 and 16777216 bytes");
    if (req.compress == "auto")
      mode_ = CompressMode::kAuto;
    else if (req.compress == "always")
      mode_ = CompressMode::kAlways;
    else if (req.compress == "never")
      mode_ = CompressMode::kNever;
    else
      return Status(Code::Usage, "--compress must be auto, always or never");
    threads_ = req.threads ? req.threads : std::max(1u, std::thread::hardware_concurrency());

    CAPSULE_ASSIGN_OR_RETURN(authored_, packager::LoadManifestYaml(req.manifest_path));
    auto pass = DefaultPassphraseSource();
    CAPSULE_ASSIGN_OR_RETURN(creator_, LoadSecretKey(req.key_path, pass));
    std::string creator_hex = HexEncode(creator_.pub.ed25519);
    auto& cj = authored_.json["creator"];
    if (cj.contains("ed25519") && cj["ed25519"] != creator_hex)
      return Status(Code::Usage, req.manifest_path + ": creator.signing_key (" +
                                     cj["ed25519"].get<std::string>() +
                                     ") is not the creator key " + req.key_path + " (" +
                                     creator_hex + "); pack with that key (--key)");
    cj["ed25519"] = creator_hex;
    // The creator binding (docs/spec/chain.md §3) when this key's EVM address is the creator's:
    // the chain ledger requires it. Deterministic (RFC 6979), so --reproducible still holds.
    auto manifest_address = ParseEvmAddress(JsonStr(cj, "address"));
    if (manifest_address && std::equal(manifest_address->begin(), manifest_address->end(),
                                       creator_.pub.address.begin())) {
      CAPSULE_ASSIGN_OR_RETURN(cj["binding"],
                               chain::MakeCreatorBinding(creator_.pub.address, creator_.pub.ed25519,
                                                         creator_.secret.data() + 64));
      creator_bound_ = true;
    }
    issuers_.push_back(creator_.pub);
    for (const auto& p : req.issuer_paths) {
      CAPSULE_ASSIGN_OR_RETURN(PublicIdentity pub, LoadPublicKey(p));
      bool dup = false;
      for (const auto& i : issuers_) dup |= i.ed25519 == pub.ed25519;
      if (!dup) issuers_.push_back(pub);
    }
    for (const auto& p : req.cosign_key_paths) {
      CAPSULE_ASSIGN_OR_RETURN(SecretIdentity s, LoadSecretKey(p, pass));
      if (s.pub.ed25519 == creator_.pub.ed25519)
        return Status(Code::Usage, p + ": a co-signer key must differ from the creator key");
      cosigners_.push_back(std::move(s));
    }
    if (!req.seed_path.empty()) {
      CAPSULE_ASSIGN_OR_RETURN(std::string seed, ReadSmallFile(req.seed_path, 4096));
      if (seed.size() < 32)
        return Status(Code::BadSeedFile,
                      req.seed_path + ": a seed file must hold at least 32 bytes");
      seed_.assign(seed.begin(), seed.end());
      Wipe(seed.data(), seed.size());
    }
    // auto carries its rule's name: another rule compresses other chunks, so it must get other
    // keys. (The thread count is not a setting: it changes no byte.)
    std::string settings =
        "chunk_size=" + std::to_string(req.chunk_size) + ";compress=" +
        (mode_ == CompressMode::kAuto ? "auto:" + std::string(kAutoCompressRule) : req.compress) +
        ";creator=" + HexEncode(creator_.pub.ed25519) + ";issuers=";
    for (const auto& i : issuers_) settings += HexEncode(i.x25519) + ",";
    settings += ";cosigners=";
    for (const auto& c : cosigners_) settings += HexEncode(c.pub.ed25519) + ",";
    if (!req.logic_path.empty()) {  // custom logic: checked (wabt) and stripped once, here
      if (!req.template_name.empty() && req.template_name != "auto")
        return Status(Code::Usage, "--template and --logic exclude each other");
      CAPSULE_ASSIGN_OR_RETURN(custom_code_, packager::LoadLogicCodeSections(req.logic_path));
      code_ = &custom_code_;
    } else {  // a bundled template, chosen from the models (or named with --template)
      CAPSULE_ASSIGN_OR_RETURN(
          template_, packager::ChooseTemplate(req.template_name, authored_.json["models"]));
      code_ = &template_->code;
    }
    settings += ";template=" + HexEncode(Sha256Of(*code_));
    settings_ = Sha256Of(AsBytes(settings));
    return Status::Ok();
  }

  ~PackerImpl() override { Wipe(seed_.data(), seed_.size()); }

  Result<PackedCapsule> Pack(const std::string& input, const std::string& output, uint64_t position,
                             const Progress& progress) override {
    auto r = PackOne(input, output, position, progress);
    return r;
  }

 private:
  Result<PackedCapsule> PackOne(const std::string& input, const std::string& output,
                                uint64_t position, const Progress& progress) {
    {
      std::vector<std::string> inputs = {
          input, req_.manifest_path, req_.seed_path, req_.logic_path,
          req_.key_path.empty() ? format::DefaultKeyPath() : req_.key_path};
      inputs.insert(inputs.end(), req_.issuer_paths.begin(), req_.issuer_paths.end());
      inputs.insert(inputs.end(), req_.cosign_key_paths.begin(), req_.cosign_key_paths.end());
      CAPSULE_RETURN_IF_ERROR(CheckOutputIsNoInput(output, inputs));
    }
    CAPSULE_ASSIGN_OR_RETURN(packager::MediaInfo media, packager::ProbeMedia(input));
    CAPSULE_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(input));
    if (in.size() == 0) return Status(Code::MediaTruncated, input + ": empty file");
    if (in.size() > (uint64_t{4} << 30) - (uint64_t{64} << 20))
      return Status(Code::MediaUnsupported,
                    input + ": larger than the 4 GiB payload limit of a capsule");

    if (template_)
      CAPSULE_RETURN_IF_ERROR(packager::CheckTemplateMedia(*template_, media.mime, input));
    std::optional<packager::Preview> preview;
    if (authored_.preview) {
      bool text = media.kind == packager::MediaKind::kText;
      bool wants_time = authored_.preview->unit == packager::PreviewRequest::Unit::kMilliseconds;
      if (text == wants_time)
        return Status(
            Code::BadPreview,
            req_.manifest_path + ": preview " +
                (wants_time ? "in seconds needs audio, but " + input + " is text"
                            : "in lines/characters needs text, but " + input + " is audio"));
      CAPSULE_ASSIGN_OR_RETURN(preview, packager::CutPreview(input, media, *authored_.preview));
      // The preview is clear: one that covers everything would ship the content unencrypted.
      if (text ? preview->bytes.size() >= in.size() : preview->duration_ms >= media.duration_ms)
        return Status(Code::BadPreview,
                      req_.manifest_path + ": the preview would be the whole of " + input +
                          " (sent in the clear); make it shorter, or offer the content free");
    }

    // Keys and ids.
    Randomness rnd;
    if (!seed_.empty()) {
      CAPSULE_ASSIGN_OR_RETURN(Hash32 content, HashFile(in));
      CAPSULE_ASSIGN_OR_RETURN(std::string m, CanonicalJson(authored_.json));
      rnd = Randomness(seed_, content, Sha256Of(AsBytes(m)), settings_, position);
    }
    ContentKey k;
    rnd.Fill("content key", k.data(), 32);
    CapsuleId id;
    rnd.Fill("capsule id", id.data(), id.size());
    uint8_t delims[3][kDelimiterSize];
    rnd.Fill("delimiter 1", delims[0], kDelimiterSize);
    rnd.Fill("delimiter 2", delims[1], kDelimiterSize);
    rnd.Fill("delimiter 3", delims[2], kDelimiterSize);

    const uint32_t cs = req_.chunk_size;
    const uint64_t count = (in.size() + cs - 1) / cs;

    // Manifest.
    nlohmann::json m = authored_.json;
    nlohmann::json block = {{"format", 1},
                            {"id", HexEncode(id)},
                            {"suite", std::string(kSuiteV1Name)},
                            {"chunk_size", cs},
                            {"chunk_count", count},
                            {"plaintext_size", in.size()},
                            {"key_commitment", HexEncode(KeyCommitment(k, id))},
                            {"media", media.ToJson()},
                            {"file_name", ValidUtf8(BaseName(input))},
                            {"issuers", nlohmann::json::array()}};
    // The creator is always an issuer (DESIGN §9.1); free capsules also publish K.
    if (authored_.free) block["content_key"] = HexEncode(k.view());
    {
      for (size_t i = 0; i < issuers_.size(); ++i) {
        uint8_t eph[32];
        rnd.Fill("sealed box " + std::to_string(i), eph, 32);
        Bytes sealed = SealTo(issuers_[i].x25519.data(), k.view(), seed_.empty() ? nullptr : eph);
        Wipe(eph, sizeof eph);
        if (sealed.empty())
          return Status(Code::BadKeyFile, "issuer key " + HexEncode(issuers_[i].x25519) +
                                              " is not a usable X25519 public key");
        block["issuers"].push_back({{"ed25519", HexEncode(issuers_[i].ed25519)},
                                    {"x25519", HexEncode(issuers_[i].x25519)},
                                    {"sealed_key", Base64Encode(sealed)}});
      }
    }
    if (preview) block["preview"] = preview->ToJson();
    m["capsule"] = block;
    // The authored fields come from the YAML (its strings may hold bytes that are not UTF-8).
    Result<std::string> canonical = CanonicalJson(m);
    if (!canonical.ok()) return canonical.status().WithContext(req_.manifest_path);
    const std::string manifest = std::move(*canonical);

    // Signature section placeholder of the final size (sizes are fixed: 3 hashes, empty key
    // ids, 64-byte signatures).
    std::vector<Hash32> zero_hashes(3);
    SignatureData placeholder;
    placeholder.sets.push_back(SignedHashes{zero_hashes, {}});
    for (size_t i = 0; i < 1 + cosigners_.size(); ++i) {
      placeholder.sets[0].signatures.push_back(PartSignature{});
    }
    Bytes sig_section = CustomSection(kSignatureSection, placeholder.Serialize());

    CAPSULE_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(output, req_.overwrite));
    const Bytes& code = *code_;
    CAPSULE_RETURN_IF_ERROR(out.Write(kWasmPreamble, sizeof kWasmPreamble));
    const uint64_t sig_offset = out.position();
    CAPSULE_RETURN_IF_ERROR(out.Write(sig_section));
    const uint64_t part1_offset = out.position();
    CAPSULE_RETURN_IF_ERROR(out.Write(code));
    CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kDelimiterSection, ByteView(delims[0], 16))));
    const uint64_t part2_offset = out.position();
    CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kManifestSection, AsBytes(manifest))));
    Bytes index_head = CustomSectionHeader(kIndexSection, ChunkIndex::SerializedSize(count));
    CAPSULE_RETURN_IF_ERROR(out.Write(index_head));
    const uint64_t index_offset = out.position();
    Bytes zeros(ChunkIndex::SerializedSize(count), 0);
    CAPSULE_RETURN_IF_ERROR(out.Write(zeros));
    if (preview)
      CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kPreviewSection, AsBytes(preview->bytes))));
    CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kDelimiterSection, ByteView(delims[1], 16))));
    // The payload section's size is known only after compression, but its LEB128 must be
    // written in shortest form (wasmsign2 re-encodes sizes when it hashes parts). Upper bound:
    // every chunk stored uncompressed. We reserve the LEB width of that bound and keep the
    // final size in the same width by declining compression for a chunk that would take the
    // total below the width's floor (see ChunkSealer::Seal's `min_compressed`); that never
    // happens unless the payload sits right at a 2 MiB / 256 MiB boundary.
    const uint64_t name_bytes = 1 + kPayloadSection.size();
    const uint64_t upper = name_bytes + in.size() + 16 * count;
    if (upper > 0xffffffffu)
      return Status(Code::MediaUnsupported, input + ": payload exceeds the 4 GiB section limit");
    const size_t size_width = Leb128Size(upper);
    const uint64_t floor = size_width == 1 ? 0 : uint64_t{1} << (7 * (size_width - 1));
    const uint64_t payload_offset = out.position();
    Bytes payload_head = CustomSectionHeader(kPayloadSection, upper, size_width);
    CAPSULE_RETURN_IF_ERROR(out.Write(payload_head));

    // Stream the chunks (packager/pack_pipeline.h): sealed on threads_ threads, written here in
    // chunk order. The pipeline applies the width floor above with the exact running total, as
    // the sequential loop did, so the bytes do not depend on the thread count.
    ChunkIndex index;
    index.entries.reserve(count);
    packager::SealPlan plan;
    plan.plaintext_size = in.size();
    plan.chunk_size = cs;
    plan.mode = mode_;
    plan.min_payload = floor > name_bytes ? floor - name_bytes : 0;
    plan.threads = threads_;
    auto sealed = packager::SealChunks(
        k, id, plan, [&in](uint64_t off, uint8_t* buf, size_t n) { return in.ReadAt(off, buf, n); },
        [&](uint64_t i, ByteView chunk, const IndexEntry& e) {
          CAPSULE_RETURN_IF_ERROR(out.Write(chunk));
          index.entries.push_back(e);
          if (progress) progress(std::min<uint64_t>(in.size(), (i + 1) * cs), in.size());
          return Status::Ok();
        });
    if (!sealed.ok()) return sealed.status();
    const uint64_t payload_bytes = sealed->payload_bytes, compressed = sealed->compressed_chunks;
    CAPSULE_RETURN_IF_ERROR(out.Write(CustomSection(kDelimiterSection, ByteView(delims[2], 16))));
    const uint64_t file_size = out.position();
    const uint64_t payload_section_size = name_bytes + payload_bytes;
    if (Leb128Size(payload_section_size) != size_width)
      return Status(Code::Internal, "payload size left its LEB128 width");

    // Fill in the index and the payload size.
    Bytes index_bytes = index.Serialize();
    CAPSULE_RETURN_IF_ERROR(out.WriteAt(index_offset, index_bytes.data(), index_bytes.size()));
    Bytes size_field;
    PutLeb128Padded(size_field, payload_section_size, size_width);  // shortest form: see above
    CAPSULE_RETURN_IF_ERROR(out.WriteAt(payload_offset + 1, size_field.data(), size_field.size()));

    // The signature's rolling hash over the finished parts, read back sequentially: a helper
    // thread reads ahead (ReadSequential) while this one hashes, so the pass costs one core's
    // SHA-256 and little more. It cannot start earlier: part 2 holds the index, known only now.
    std::vector<Hash32> hashes;
    {
      Sha256 h;
      const uint64_t ends[3] = {part2_offset, payload_offset, file_size};
      CAPSULE_RETURN_IF_ERROR(ReadSequential(
          [&out](uint64_t off, uint8_t* buf, size_t n) { return out.ReadAt(off, buf, n); },
          part1_offset, file_size,
          [&](uint64_t off, ByteView piece) {
            while (!piece.empty()) {  // a snapshot of the hash at the end of each part
              const uint64_t end = ends[hashes.size()];
              const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), end - off));
              h.Update(piece.data(), n);
              piece = piece.subspan(n);
              off += n;
              if (off == end) hashes.push_back(h.Peek());
            }
            return Status::Ok();
          }));
    }
    SignatureData sigs;
    CAPSULE_RETURN_IF_ERROR(
        AddSignature(sigs, hashes, creator_.ed25519_sk.data(), creator_.pub.ed25519.data()));
    for (const auto& co : cosigners_)
      CAPSULE_RETURN_IF_ERROR(
          AddSignature(sigs, hashes, co.ed25519_sk.data(), co.pub.ed25519.data()));
    Bytes final_sig = CustomSection(kSignatureSection, sigs.Serialize());
    if (final_sig.size() != sig_section.size())
      return Status(Code::Internal, "signature section size changed while signing");
    CAPSULE_RETURN_IF_ERROR(out.WriteAt(sig_offset, final_sig.data(), final_sig.size()));

    // Self-check: re-parse the written file and verify parts 1–2 and the signatures; the
    // payload hash is the one computed above, and the index must be what we wrote.
    VerifyOptions vo;
    vo.check_payload = false;
    auto reopened = OpenCapsule(out.temp_path(), vo);
    if (!reopened.ok())
      return Status(Code::Internal,
                    output + ": self-check failed: " + reopened.status().ToString());
    if (reopened->index.Serialize() != index_bytes || reopened->manifest_bytes != manifest ||
        !HasValidSignature(reopened->signatures, hashes, creator_.pub.ed25519.data()))
      return Status(Code::Internal, output + ": self-check failed: re-read capsule differs");

    PackedCapsule r;
    r.input = input;
    r.output = output;
    r.capsule_id = HexEncode(id);
    r.media_type = media.mime;
    r.code_sha256 = HexEncode(Sha256Of(code));
    r.logic = templates::Describe(r.code_sha256);
    r.input_size = in.size();
    r.capsule_size = file_size;
    r.chunk_count = count;
    r.compressed_chunks = compressed;
    r.duration_ms = media.duration_ms;
    r.preview_size = preview ? preview->bytes.size() : 0;
    r.free = authored_.free;
    r.creator_binding = creator_bound_;
    CAPSULE_RETURN_IF_ERROR(out.Commit());
    return r;
  }

  PackRequest req_;
  CompressMode mode_ = CompressMode::kAuto;
  unsigned threads_ = 1;  // sealing threads per capsule (PackRequest::threads, resolved)
  packager::AuthoredManifest authored_;
  SecretIdentity creator_;
  bool creator_bound_ = false;
  std::vector<PublicIdentity> issuers_;
  std::vector<SecretIdentity> cosigners_;
  Bytes seed_;
  Hash32 settings_{};
  Bytes custom_code_;                              // --logic, when given
  const templates::Template* template_ = nullptr;  // the bundled template otherwise
  const Bytes* code_ = nullptr;                    // part 1's sections
};

}  // namespace

Result<std::unique_ptr<Packer>> Packer::Create(const PackRequest& req) {
  format::RequireBulkCrypto();  // sealing and hashing are bulk work: on libcrypto
  auto p = std::make_unique<PackerImpl>();
  CAPSULE_RETURN_IF_ERROR(p->Init(req));
  return std::unique_ptr<Packer>(std::move(p));
}

std::string DefaultCapsuleName(const std::string& input, const std::string& out_dir) {
  std::string base = BaseName(input);
  auto dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  base += ".capsule.wasm";
  if (!out_dir.empty()) return out_dir + "/" + base;
  auto s = input.rfind('/');
  return s == std::string::npos ? base : input.substr(0, s + 1) + base;
}

std::string PackedCapsule::ToJson() const {
  nlohmann::json j = {{"ok", true},
                      {"input", input},
                      {"output", output},
                      {"capsule_id", capsule_id},
                      {"media_type", media_type},
                      {"code_sha256", code_sha256},
                      {"logic", logic},
                      {"input_size", input_size},
                      {"capsule_size", capsule_size},
                      {"chunk_count", chunk_count},
                      {"compressed_chunks", compressed_chunks},
                      {"duration_ms", duration_ms},
                      {"preview_size", preview_size},
                      {"free", free},
                      {"creator_binding", creator_binding}};
  return ReportJson(j);
}

}  // namespace capsule
