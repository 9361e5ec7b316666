// inspect: a report over format::OpenCapsule (parts 1–2 verified; the payload is not read) that
// also shows what no signature covers and whether the code is the bundled template.
#include <nlohmann/json.hpp>
#include <sstream>

#include "capsule/capsule.h"
#include "format/canonical_json.h"
#include "format/container.h"
#include "format/keys.h"
#include "packager/template.h"

namespace capsule {
using namespace capsule::format;  // NOLINT

namespace {
nlohmann::json SectionJson(const SectionRef& s) {
  nlohmann::json j = {{"offset", s.offset}, {"size", s.end() - s.offset}};
  if (s.is_custom())
    j["name"] = s.name;
  else
    j["id"] = s.id;
  return j;
}

Result<nlohmann::json> Inspect(const std::string& path) {
  VerifyOptions vo;
  vo.check_payload = false;
  CAPSULE_ASSIGN_OR_RETURN(OpenedCapsule c, OpenCapsule(path, vo));
  const auto& L = c.layout;
  nlohmann::json parts = nlohmann::json::array();
  nlohmann::json p1 = nlohmann::json::array();
  for (const auto& s : L.code) p1.push_back(SectionJson(s));
  p1.push_back(SectionJson(L.delimiters[0]));
  nlohmann::json p2 = {SectionJson(L.manifest), SectionJson(L.index)};
  if (L.preview) p2.push_back(SectionJson(*L.preview));
  p2.push_back(SectionJson(L.delimiters[1]));
  nlohmann::json p3 = {SectionJson(L.payload), SectionJson(L.delimiters[2])};
  parts.push_back({{"part", 1},
                   {"contents", "capsule code"},
                   {"sections", p1},
                   {"hash", HexEncode(c.part_hashes[0])}});
  parts.push_back({{"part", 2},
                   {"contents", "manifest, chunk index, preview"},
                   {"sections", p2},
                   {"hash", HexEncode(c.part_hashes[1])}});
  parts.push_back({{"part", 3},
                   {"contents", "encrypted payload"},
                   {"sections", p3},
                   {"hash", "verified only by `verify` (streams the payload)"}});
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& set : c.signatures.sets) {
    nlohmann::json sigs = nlohmann::json::array();
    for (const auto& s : set.signatures)
      sigs.push_back({{"key_id", s.key_id.empty() ? "(empty)" : HexEncode(s.key_id)},
                      {"signature", HexEncode(s.sig)}});
    sets.push_back({{"hashes", set.hashes.size()}, {"signatures", sigs}});
  }
  nlohmann::json signers = nlohmann::json::array();
  for (const auto& s : c.signers)
    signers.push_back(
        {{"ed25519", HexEncode(s.ed25519)},
         {"role", s.role == SignerRole::kCreator ? "creator" : "co-signer"},
         {"valid", "over parts 1-2 and the signed part-3 hash (verify streams part 3)"}});
  std::string code_hash = HexEncode(c.code_hash);
  // Part-1 hash over the code sections only (without the delimiter) identifies the template.
  Bytes code_only;
  {
    uint64_t b = L.code.front().offset, e = L.delimiters[0].offset;
    auto bytes = c.file.ReadRange(b, e - b);
    if (bytes.ok()) code_only = *bytes;
  }
  std::string code_sha = HexEncode(Sha256Of(code_only));
  nlohmann::json j = {
      {"file", path},
      {"size", c.file.size()},
      {"capsule_id", HexEncode(c.info.id)},
      {"parts", parts},
      {"signature_sets", sets},
      {"signers", signers},
      {"signatures_total", c.signature_count},
      {"code", {{"sha256", code_sha}, {"logic", templates::Describe(code_sha)}}},
      {"chunks",
       {{"count", c.info.chunk_count},
        {"chunk_size", c.info.chunk_size},
        {"plaintext_size", c.info.plaintext_size},
        {"payload_size", L.payload.content_size()}}},
      {"manifest", c.manifest},
      {"not_covered_by_signatures",
       {"module preamble (8 bytes: magic and version)",
        "signature section: key ids and any extra signature sets (co-signers are identified only "
        "by the keys given to verify --trust)"}}};
  return j;
}
}  // namespace

Result<std::string> InspectJson(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(nlohmann::json j, Inspect(path));
  j["ok"] = true;  // as every --json success says
  return ReportJson(j, 2) + "\n";
}

Result<std::string> InspectText(const std::string& path) {
  CAPSULE_ASSIGN_OR_RETURN(nlohmann::json j, Inspect(path));
  const auto& m = j["manifest"];
  const auto& cap = JsonAt(m, "capsule");
  std::ostringstream o;
  o << path << " (" << j["size"].get<uint64_t>() << " bytes)\n";
  o << "  title:     " << JsonStr(m, "title") << "\n";
  o << "  creator:   " << JsonStr(JsonAt(m, "creator"), "name") << " "
    << JsonStr(JsonAt(m, "creator"), "address")
    << "\n  creator key (ed25519): " << JsonStr(JsonAt(m, "creator"), "ed25519") << "\n";
  o << "  capsule:   " << JsonStr(cap, "id") << "  suite " << JsonStr(cap, "suite") << "\n";
  o << "  media:     " << JsonAt(cap, "media").dump() << "\n";
  if (cap.contains("preview"))
    o << "  preview:   " << JsonAt(cap, "preview").dump() << " (clear)\n";
  o << "  chunks:    " << j["chunks"]["count"] << " x " << j["chunks"]["chunk_size"]
    << " bytes, plaintext " << j["chunks"]["plaintext_size"] << " bytes\n";
  o << "  access:    "
    << (cap.contains("content_key")
            ? "free (content key published in the manifest)"
            : std::to_string(JsonAt(cap, "issuers").size()) + " issuer(s) hold the sealed key")
    << "\n";
  if (m.contains("royalties")) {
    o << "  royalty splits (parts per million):\n";
    for (const auto& s : JsonAt(m, "royalties")["splits"])
      o << "    " << JsonStr(s, "role") << " " << JsonStr(s, "address") << " "
        << JsonAt(s, "share_ppm") << "\n";
    o << "  resale royalty: " << JsonInt(JsonAt(m, "royalties"), "resale_royalty_ppm", 0)
      << " ppm\n";
  }
  o << "  business models:\n";
  for (const auto& mm : JsonAt(m, "models")) o << "    " << mm.dump() << "\n";
  if (m.contains("chain")) o << "  chain:     " << JsonAt(m, "chain").dump() << "\n";
  o << "  code:      " << j["code"]["logic"].get<std::string>() << " (sha256 "
    << j["code"]["sha256"].get<std::string>() << ")\n";
  o << "  parts:\n";
  for (const auto& p : j["parts"]) {
    o << "    " << p["part"] << " " << p["contents"].get<std::string>() << ":";
    for (const auto& s : p["sections"])
      o << " " << (s.contains("name") ? s["name"].get<std::string>() : "id" + s["id"].dump());
    o << "\n";
  }
  o << "  signers:\n";
  for (const auto& s : j["signers"])
    o << "    " << s["role"].get<std::string>() << " " << s["ed25519"].get<std::string>() << "\n";
  o << "  signatures: " << j["signatures_total"]
    << " over this capsule's parts (co-signers are "
       "identified with `verify --trust KEY.pub`)\n";
  o << "  not covered by any signature: module preamble; key ids and extra signature sets\n";
  return o.str();
}

}  // namespace capsule
