// `capsulec mint`: ERC-1155 metadata for a capsule's access token. The capsule is verified in
// full first (every byte as signed), so every value in the metadata comes from an authentic
// manifest. Outputs (preview, image copy, metadata) are created before any is written, so an
// existing file without --force refuses the whole run; the metadata is renamed into place last.
#include "packager/token_metadata.h"

#include <algorithm>

#include "chain/creator_binding.h"
#include "chain/token.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/file.h"

namespace capsule::packager {
using namespace capsule::format;  // NOLINT

// The token id arithmetic is chain::U256's (docs/spec/chain.md §2); these keep the packager's
// byte-array form.
TokenId DeriveTokenId(const std::array<uint8_t, 16>& capsule_id) {
  return chain::DeriveTokenId(capsule_id).be;
}

std::optional<TokenId> TokenIdFromDecimal(std::string_view digits) {
  if (digits.size() > 100) return std::nullopt;
  auto v = chain::U256::FromDecimal(digits);
  if (!v) return std::nullopt;
  return v->be;
}

std::string TokenIdDecimal(const TokenId& id) { return chain::U256{id}.ToDecimal(); }

std::string TokenIdHex64(const TokenId& id) { return HexEncode(id); }

std::string PreviewExtension(std::string_view media_type) {
  if (media_type == "audio/mpeg") return "mp3";
  if (media_type == "audio/wav") return "wav";
  if (media_type.substr(0, 10) == "text/plain") return "txt";
  return "";
}

namespace {

Status Invalid(const std::string& where, const std::string& what) {
  return Status(Code::ManifestInvalid, where + ": manifest: " + what);
}

template <size_t N>
bool GetHexArray(const nlohmann::json& o, const char* key, std::array<uint8_t, N>* out) {
  auto b = HexDecode(JsonStr(o, key));
  if (!b || b->size() != N) return false;
  std::copy(b->begin(), b->end(), out->begin());
  return true;
}

// A URI as the metadata may carry it: scheme ":" and no white space or control characters.
bool IsUri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
      return false;
  }
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

// --image: a URI has "scheme://" or is a data: URI; anything else names a file.
bool LooksLikeUri(std::string_view s) {
  return IsUri(s) && (s.find("://") != std::string_view::npos || s.substr(0, 5) == "data:");
}

// `name` in the directory of `path` ("dir/name", or "name" when `path` has no directory).
std::string Beside(const std::string& path, const std::string& name) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return name;
  return path.substr(0, slash + 1) + name;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The extension of a file name, lowercased, when it is 1–8 letters or digits; else empty.
std::string FileExtension(const std::string& path) {
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == base.size()) return "";
  std::string ext = Lower(base.substr(dot + 1));
  if (ext.size() > 8 || !std::all_of(ext.begin(), ext.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c));
      }))
    return "";
  return ext;
}

// Seconds as a JSON number with at most 3 decimals (exact: ms/1000 prints as its shortest
// decimal form, e.g. 2.345).
nlohmann::json Seconds(int64_t ms) {
  if (ms % 1000 == 0) return ms / 1000;
  return static_cast<double>(ms) / 1000.0;
}

nlohmann::json Percent(uint32_t ppm) {
  if (ppm % 10000 == 0) return ppm / 10000;
  return static_cast<double>(ppm) / 10000.0;
}

Status CopyFile(const std::string& from, AtomicOutput& to) {
  CAPSULE_ASSIGN_OR_RETURN(InputFile in, InputFile::Open(from));
  Bytes buf(256 * 1024);
  for (uint64_t off = 0; off < in.size();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), in.size() - off));
    CAPSULE_RETURN_IF_ERROR(in.ReadAt(off, buf.data(), n));
    CAPSULE_RETURN_IF_ERROR(to.Write(buf.data(), n));
    off += n;
  }
  return Status::Ok();
}

}  // namespace

Result<MintPlan> PlanMint(const nlohmann::json& m, std::string_view manifest_bytes,
                          const std::string& where) {
  if (!JsonAt(m, "chain").is_object())
    return Status(Code::Usage,
                  where +
                      ": the manifest has no `chain` block; mint needs `chain:` in "
                      "manifest.yaml (chain_id, contract, token_id) — add it and pack again");
  MintPlan p;
  if (!GetHexArray(JsonAt(m, "capsule"), "id", &p.capsule_id))
    return Invalid(where, "capsule.id is malformed");
  // The chain fields, token id and royalty split are read where the runtime reads them.
  CAPSULE_ASSIGN_OR_RETURN(chain::TokenRef t,
                           chain::TokenRefOf(m, manifest_bytes, p.capsule_id, where));
  p.token_id = t.token_id.be;
  p.manifest_sha256 = t.manifest_hash;
  p.creator_ed25519 = t.creator_key;
  p.creator_address = t.creator;
  p.royalty_ppm = t.royalty_ppm;
  p.chain_id = t.chain_id;
  p.contract = t.contract;
  for (size_t i = 0; i < t.recipients.size(); ++i)  // ascending by address, as TokenRefOf sorts
    p.recipients.push_back({t.recipients[i], static_cast<uint32_t>(t.allocations[i])});
  return p;
}

nlohmann::json TokenMetadata(const nlohmann::json& m, const MintPlan& plan, const IpfsCid& cid,
                             uint64_t capsule_size, const MetadataLinks& links,
                             const std::optional<IpfsCid>& preview_cid) {
  using json = nlohmann::json;
  const auto& cap = JsonAt(m, "capsule");
  const auto& media = JsonAt(cap, "media");
  const auto& creator = JsonAt(m, "creator");
  const std::string media_type = JsonStr(media, "type");
  const bool text = media_type.rfind("text/", 0) == 0;

  json props = {
      {"capsule_id", HexEncode(plan.capsule_id)},
      {"capsule_cid", cid.v0},
      {"capsule_cid_v1", cid.v1},
      {"capsule_size", capsule_size},
      {"manifest_sha256", HexEncode(plan.manifest_sha256)},
      {"media_type", media_type},
      {"creator",
       {{"name", JsonStr(creator, "name")},
        {"address", EvmAddressLower(plan.creator_address)},
        {"ed25519", HexEncode(plan.creator_ed25519)}}},
      {"models", JsonAt(m, "models")},
  };
  if (creator.contains("binding")) props["creator"]["binding"] = JsonStr(creator, "binding");
  if (text) {
    props["size"] = JsonInt(media, "size", 0);
    props["lines"] = JsonInt(media, "lines", 0);
    props["characters"] = JsonInt(media, "characters", 0);
  } else {
    props["duration_ms"] = JsonInt(media, "duration_ms", 0);
  }
  json splits = json::array();
  for (const auto& s : JsonAt(JsonAt(m, "royalties"), "splits")) {
    json o = {{"role", JsonStr(s, "role")},
              {"address", JsonStr(s, "address")},
              {"share_ppm", JsonInt(s, "share_ppm", 0)}};
    if (s.contains("name")) o["name"] = JsonStr(s, "name");
    splits.push_back(o);
  }
  props["royalties"] = {{"splits", splits}, {"resale_royalty_ppm", plan.royalty_ppm}};
  // EIP-2981: one receiver, the access-token contract, which splits what it receives itself
  // (1e6 denominator, DESIGN §3.12); basis points only when the rate is a whole number of them.
  props["royalty"] = {{"receiver", EvmAddressLower(plan.contract)},
                      {"royalty_ppm", plan.royalty_ppm}};
  if (plan.royalty_ppm % 100 == 0) props["royalty"]["eip2981_bps"] = plan.royalty_ppm / 100;
  if (plan.recipients.size() >= 2) {
    json accounts = json::array(), allocations = json::array();
    for (const auto& r : plan.recipients) {
      accounts.push_back(EvmAddressLower(r.address));
      allocations.push_back(r.allocation_ppm);
    }
    props["split_0xsplits"] = {
        {"recipients", accounts}, {"percentAllocations", allocations}, {"distributorFee", 0}};
  }
  props["chain"] = {{"chain_id", plan.chain_id},
                    {"contract", EvmAddressLower(plan.contract)},
                    {"token_id", TokenIdDecimal(plan.token_id)}};
  if (cap.contains("preview")) {
    json pv = JsonAt(cap, "preview");
    pv["media_type"] = media_type;
    pv["file"] = TokenIdHex64(plan.token_id) + ".preview." + PreviewExtension(media_type);
    if (preview_cid) pv["cid"] = preview_cid->v0;
    props["preview"] = pv;
  }

  json attrs = json::array();
  attrs.push_back({{"trait_type", "Media type"}, {"value", media_type}});
  if (text) {
    attrs.push_back({{"trait_type", "Lines"},
                     {"display_type", "number"},
                     {"value", JsonInt(media, "lines", 0)}});
    attrs.push_back({{"trait_type", "Characters"},
                     {"display_type", "number"},
                     {"value", JsonInt(media, "characters", 0)}});
  } else {
    attrs.push_back({{"trait_type", "Duration (seconds)"},
                     {"display_type", "number"},
                     {"value", Seconds(JsonInt(media, "duration_ms", 0))}});
  }
  attrs.push_back({{"trait_type", "Creator"}, {"value", JsonStr(creator, "name")}});
  for (const auto& model : JsonAt(m, "models"))
    attrs.push_back({{"trait_type", "Business model"}, {"value", JsonStr(model, "type")}});
  attrs.push_back({{"trait_type", "Resale royalty (%)"},
                   {"display_type", "number"},
                   {"value", Percent(plan.royalty_ppm)}});
  attrs.push_back(
      {{"trait_type", "Clear preview"}, {"value", cap.contains("preview") ? "yes" : "no"}});

  json j = {
      {"name", JsonStr(m, "title")}, {"decimals", 0}, {"attributes", attrs}, {"properties", props}};
  if (m.contains("description")) j["description"] = JsonStr(m, "description");
  if (!links.image.empty()) j["image"] = links.image;
  if (!links.animation_url.empty()) j["animation_url"] = links.animation_url;
  if (!links.external_url.empty()) j["external_url"] = links.external_url;
  return j;
}

Result<MintResult> MintWithPlan(const MintRequest& req, MintPlan* plan_out) {
  // Flags first: nothing is read for a command line that cannot be carried out.
  if (req.output.empty()) return Status(Code::Usage, "mint needs -o FILE for the metadata");
  std::string uri_base = req.uri_base;
  while (!uri_base.empty() && uri_base.back() == '/') uri_base.pop_back();
  // A base gets "/NAME" appended: a query or fragment would swallow it, and a quote or a
  // backslash has no place in a URI.
  if (!req.uri_base.empty() && (!IsUri(uri_base) || uri_base.find("://") == std::string::npos ||
                                uri_base.find_first_of("?#\"\\<>") != std::string::npos))
    return Status(Code::Usage, "--uri-base `" + req.uri_base +
                                   "` is not a URI like ipfs://<CID> or https://host/path "
                                   "(no query or fragment: file names are appended to it)");
  if (!req.preview_uri.empty() && !IsUri(req.preview_uri))
    return Status(Code::Usage, "--preview-uri `" + req.preview_uri + "` is not a URI");
  if (!req.external_url.empty() && !IsUri(req.external_url))
    return Status(Code::Usage, "--external-url `" + req.external_url + "` is not a URI");
  const bool image_is_file = !req.image.empty() && !LooksLikeUri(req.image);
  if (image_is_file && uri_base.empty())
    return Status(Code::Usage, "--image " + req.image +
                                   ": an image file is published beside the metadata and needs "
                                   "--uri-base (or give the image's URI instead)");
  if (image_is_file && !FileExists(req.image))
    return Status(Code::IoOpen, req.image + ": cannot open the image file (not a URI either)");

  VerifyOptions vo;
  vo.check_payload = true;  // integrity of every byte, as `capsulec verify`
  vo.progress = req.progress;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenCapsule(req.path, vo));
  // A present creator binding is checked like every reader does (chain.md §3): the metadata
  // repeats it, and a marketplace would take it as the creator's word.
  CAPSULE_RETURN_IF_ERROR(chain::CheckCreatorBinding(c.manifest, req.path).status());
  CAPSULE_ASSIGN_OR_RETURN(MintPlan plan, PlanMint(c.manifest, c.manifest_bytes, req.path));
  CAPSULE_ASSIGN_OR_RETURN(IpfsCid cid, IpfsCidOfFile(req.path, req.progress));

  const std::string hex = TokenIdHex64(plan.token_id);
  const std::string media_type = JsonStr(JsonAt(JsonAt(c.manifest, "capsule"), "media"), "type");
  MintResult r;
  r.token_id = TokenIdDecimal(plan.token_id);
  r.token_id_hex = hex;
  r.capsule_id = HexEncode(plan.capsule_id);
  r.capsule_cid = cid.v0;
  r.capsule_cid_v1 = cid.v1;
  r.manifest_sha256 = HexEncode(plan.manifest_sha256);
  // "{id}" in -o stands for the 64-hex token id, as in the ERC-1155 URI (meta/{id}.json).
  std::string output = req.output;
  for (size_t at; (at = output.find("{id}")) != std::string::npos;) output.replace(at, 4, hex);
  r.metadata = output;

  MetadataLinks links;
  links.external_url = req.external_url;
  std::string preview_name;
  if (c.layout.preview) {
    std::string ext = PreviewExtension(media_type);
    if (ext.empty())
      return Status(Code::MediaUnsupported, req.path + ": preview of unknown media type");
    preview_name = hex + ".preview." + ext;
    r.preview_file = Beside(output, preview_name);
  }
  // animation_url: the given URI, else the preview's published place under the URI base.
  // Without a preview there is nothing a marketplace could play.
  if (!req.preview_uri.empty())
    links.animation_url = req.preview_uri;
  else if (!preview_name.empty() && !uri_base.empty())
    links.animation_url = uri_base + "/" + preview_name;
  r.animation_url = links.animation_url;
  std::string image_name;
  if (image_is_file) {
    std::string ext = FileExtension(req.image);
    image_name = hex + ".image" + (ext.empty() ? "" : "." + ext);
    r.image_file = Beside(output, image_name);
    links.image = uri_base + "/" + image_name;
  } else {
    links.image = req.image;
  }

  // Every output is refused before anything is written: existing (without --force), or the
  // capsule or the image itself.
  std::vector<std::string> outs = {output};
  if (!r.preview_file.empty()) outs.push_back(r.preview_file);
  if (!r.image_file.empty()) outs.push_back(r.image_file);
  for (size_t i = 0; i < outs.size(); ++i) {
    for (size_t k = 0; k < i; ++k)
      if (outs[i] == outs[k])
        return Status(Code::Usage, outs[i] +
                                       ": the metadata would overwrite the preview or image "
                                       "written beside it; choose another -o name");
    if (FileExists(outs[i]) &&
        (SameFile(outs[i], req.path) || (image_is_file && SameFile(outs[i], req.image))))
      return Status(Code::SameInputOutput, outs[i] + ": the output would overwrite an input");
  }
  CAPSULE_ASSIGN_OR_RETURN(AtomicOutput meta_out, AtomicOutput::Create(output, req.overwrite));
  AtomicOutput preview_out, image_out;
  if (!r.preview_file.empty()) {
    CAPSULE_ASSIGN_OR_RETURN(preview_out, AtomicOutput::Create(r.preview_file, req.overwrite));
  }
  if (!r.image_file.empty()) {
    CAPSULE_ASSIGN_OR_RETURN(image_out, AtomicOutput::Create(r.image_file, req.overwrite));
  }

  std::optional<IpfsCid> preview_cid;
  if (c.layout.preview) {
    preview_cid = IpfsCidOf(AsBytes(c.preview));
    r.preview_cid = preview_cid->v0;
  }
  nlohmann::json meta = TokenMetadata(c.manifest, plan, cid, c.file.size(), links, preview_cid);
  if (!r.preview_file.empty()) {
    CAPSULE_RETURN_IF_ERROR(preview_out.Write(AsBytes(c.preview)));
  }
  if (!r.image_file.empty()) CAPSULE_RETURN_IF_ERROR(CopyFile(req.image, image_out));
  CAPSULE_RETURN_IF_ERROR(meta_out.Write(AsBytes(meta.dump(2) + "\n")));
  // The metadata last: it never points at a file that was not written.
  if (!r.preview_file.empty()) CAPSULE_RETURN_IF_ERROR(preview_out.Commit());
  if (!r.image_file.empty()) CAPSULE_RETURN_IF_ERROR(image_out.Commit());
  CAPSULE_RETURN_IF_ERROR(meta_out.Commit());
  if (plan_out) *plan_out = plan;
  return r;
}

}  // namespace capsule::packager

namespace capsule {

Result<MintResult> Mint(const MintRequest& req) { return packager::MintWithPlan(req, nullptr); }

std::string MintResult::ToJson() const {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return format::ReportJson(nlohmann::json({{"ok", true},
                                            {"token_id", token_id},
                                            {"token_id_hex", token_id_hex},
                                            {"capsule_id", capsule_id},
                                            {"capsule_cid", capsule_cid},
                                            {"capsule_cid_v1", capsule_cid_v1},
                                            {"manifest_sha256", manifest_sha256},
                                            {"metadata", metadata},
                                            {"preview_file", opt(preview_file)},
                                            {"preview_cid", opt(preview_cid)},
                                            {"image_file", opt(image_file)},
                                            {"animation_url", opt(animation_url)}}));
}

std::string MintResult::ToText() const {
  std::string o = metadata + ": ERC-1155 metadata for token " + token_id + "\n";
  o += "  token id (hex): " + token_id_hex + "\n";
  o += "  capsule:        " + capsule_id + "\n";
  o += "  capsule CID:    " + capsule_cid + " (v1 " + capsule_cid_v1 + ")\n";
  if (!preview_file.empty())
    o += "  preview:        " + preview_file + " (CID " + preview_cid + ")\n";
  if (!image_file.empty()) o += "  image:          " + image_file + "\n";
  if (!animation_url.empty()) o += "  animation_url:  " + animation_url + "\n";
  o += "  publish as:     " + token_id_hex + ".json under the contract's URI base ({id}.json)\n";
  return o;
}

}  // namespace capsule
