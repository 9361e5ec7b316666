// docs/spec/chain.md §2.
#include "chain/token.h"

#include <algorithm>

#include "format/bytes.h"
#include "format/canonical_json.h"
#include "format/crypto.h"

namespace capsule::chain {

using format::HexDecode;
using format::JsonAt;
using format::JsonStr;

U256 DeriveTokenId(const std::array<uint8_t, 16>& capsule_id) {
  return *U256::FromBigEndian(format::ByteView(capsule_id.data(), capsule_id.size()));
}

namespace {

bool Hex32(const nlohmann::json& v, Hash32* out) {
  if (!v.is_string()) return false;
  auto b = HexDecode(v.get<std::string>());
  if (!b || b->size() != 32) return false;
  std::copy(b->begin(), b->end(), out->begin());
  return true;
}

bool Addr(const nlohmann::json& v, Address* out) {
  if (!v.is_string()) return false;
  auto b = format::ParseEvmAddress(v.get<std::string>());
  if (!b || b->size() != 20) return false;
  std::copy(b->begin(), b->end(), out->begin());
  return true;
}

// A non-negative JSON integer (nlohmann stores parsed ones as unsigned, built ones as signed).
std::optional<uint64_t> UInt(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

}  // namespace

Result<TokenRef> TokenRefOf(const nlohmann::json& manifest, std::string_view manifest_bytes,
                            const std::array<uint8_t, 16>& capsule_id, const std::string& where) {
  auto bad = [&](const std::string& what) {
    return Status(Code::ManifestInvalid, where + ": manifest " + what);
  };
  if (!manifest.is_object()) return bad("is not an object");
  const nlohmann::json& chain = JsonAt(manifest, "chain");
  if (!chain.is_object())
    return Status(Code::Usage, where +
                                   ": the manifest has no `chain` block (chain_id, contract, "
                                   "token_id), so the capsule has no access token");
  TokenRef t;
  auto id = UInt(JsonAt(chain, "chain_id"));
  if (!id || *id == 0) return bad("chain.chain_id is invalid");
  t.chain_id = *id;
  if (!Addr(JsonAt(chain, "contract"), &t.contract)) return bad("chain.contract is invalid");
  if (chain.contains("token_id") && !chain["token_id"].is_string())
    return bad("chain.token_id is not a string (\"derive\" or a decimal)");
  std::string tid = JsonStr(chain, "token_id", "derive");
  if (tid == "derive") {
    t.token_id = DeriveTokenId(capsule_id);
  } else {
    auto v = U256::FromDecimal(tid);
    if (!v) return bad("chain.token_id is not derive or a decimal below 2^256");
    t.token_id = *v;
  }
  t.manifest_hash = format::Sha256Of(format::AsBytes(manifest_bytes));
  const nlohmann::json& creator = JsonAt(manifest, "creator");
  if (!Hex32(JsonAt(creator, "ed25519"), &t.creator_key)) return bad("creator.ed25519 is invalid");
  if (!Addr(JsonAt(creator, "address"), &t.creator)) return bad("creator.address is invalid");

  const nlohmann::json& roy = JsonAt(manifest, "royalties");
  const nlohmann::json& rr = JsonAt(roy, "resale_royalty_ppm");
  if (!rr.is_null()) {
    auto v = UInt(rr);
    if (!v || *v > 1000000) return bad("royalties.resale_royalty_ppm is invalid");
    t.royalty_ppm = static_cast<uint32_t>(*v);
  }
  const nlohmann::json& splits = JsonAt(roy, "splits");
  if (!splits.is_array() || splits.empty()) return bad("royalties.splits is missing");
  std::vector<std::pair<Address, uint64_t>> s;
  uint64_t sum = 0;
  for (const auto& e : splits) {
    Address a;
    auto ppm = UInt(JsonAt(e, "share_ppm"));
    if (!Addr(JsonAt(e, "address"), &a) || !ppm || *ppm == 0 || *ppm > 1000000)
      return bad("royalties.splits has a malformed entry");
    sum += *ppm;
    s.emplace_back(a, *ppm);
  }
  if (sum != 1000000) return bad("royalty shares do not sum to 1000000 ppm");
  std::sort(s.begin(), s.end());
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i].first == s[i - 1].first) return bad("royalties.splits repeats an address");
  for (const auto& [a, p] : s) {
    t.recipients.push_back(a);
    t.allocations.push_back(p);
  }
  return t;
}

}  // namespace capsule::chain
