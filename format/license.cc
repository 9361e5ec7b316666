// Licences (DESIGN §4, docs/spec/license.md): issuing, strict parsing, binding checks and
// unwrapping. Invariants:
// - The signed bytes are always the canonical re-encoding (RFC 8785) of the parsed body, never
//   the file's own bytes; a body that has no unique canonical form (duplicate keys, floats,
//   integers beyond 2^53 − 1) is refused, so every reader signs and checks the same bytes.
// - No field is used before the parser validated it; the parser accepts exactly the schema
//   (schemas/license.schema.json): unknown or missing fields are errors.
// - K exists in the clear only inside IssueLicense and UnwrapLicenseKey, in a wiped Secret.
#include "format/license.h"

#include <cstring>
#include <set>
#include <utility>

#include "format/canonical_json.h"
#include "format/chunk_crypto.h"
#include "format/file.h"

namespace capsule::format {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxTime = (int64_t{1} << 53) - 1;
constexpr uint64_t kMaxCount = (uint64_t{1} << 53) - 1;
constexpr size_t kSealedKeySize = 32 + kSealOverhead;

Status Malformed(const std::string& where, const std::string& why) {
  return Status(Code::LicenseMalformed, where + ": " + why);
}

// The model's term that a licence may lower, and whether it also fixes the window's end.
struct TermRule {
  const char* type;
  const char* term;   // nullptr: no term (the model object is copied as offered)
  bool fixes_window;  // not_after = not_before + term (rental unless from_first_play)
  const char* noun;   // for messages
};
constexpr TermRule kTermRules[] = {
    {"buy", nullptr, false, ""},
    {"resale", nullptr, false, ""},
    {"pay_per_view", "plays", false, "plays"},
    {"rental", "duration_s", true, "duration"},
    {"subscription", "period_s", true, "period"},
    {"free", nullptr, false, ""},
    {"free_with_ads", nullptr, false, ""},
};
const TermRule* RuleFor(const std::string& type) {
  for (const auto& r : kTermRules)
    if (type == r.type) return &r;
  return nullptr;
}
// Rentals counted from the first play leave the window open: the runtime ends them.
bool FixesWindow(const TermRule& r, const json& model) {
  if (!r.fixes_window) return false;
  auto f = model.find("from_first_play");
  return !(f != model.end() && f->is_boolean() && f->get<bool>());
}

std::string FormatSeconds(uint64_t s) {
  static const std::pair<uint64_t, const char*> kUnits[] = {
      {604800, "w"}, {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  if (s == 0) return "0s";
  std::string out;
  for (const auto& [n, u] : kUnits) {
    if (s >= n) {
      out += std::to_string(s / n) + u;
      s %= n;
    }
  }
  return out;
}

// "missing field `x`" / "unknown field `y`" / "" when `o` has exactly the keys allowed.
std::string KeysProblem(const json& o, std::initializer_list<const char*> required,
                        std::initializer_list<const char*> optional = {}) {
  for (const char* k : required)
    if (!o.contains(k)) return std::string("missing field `") + k + "`";
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool known = false;
    for (const char* k : required) known |= it.key() == k;
    for (const char* k : optional) known |= it.key() == k;
    if (!known) return "unknown field `" + it.key() + "`";
  }
  return "";
}

const json& Field(const json& o, const char* key) {
  static const json kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

bool IsLowerHex(const json& j, size_t bytes) {
  if (!j.is_string()) return false;
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() != bytes * 2) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
template <size_t N>
bool GetHex(const json& j, std::array<uint8_t, N>* out) {
  if (!IsLowerHex(j, N)) return false;
  auto b = HexDecode(j.get_ref<const std::string&>());
  if (!b || b->size() != N) return false;
  std::memcpy(out->data(), b->data(), N);
  return true;
}
// Standard padded base64 of exactly `n` bytes, in its one canonical spelling.
std::optional<Bytes> GetBase64(const json& j, size_t n) {
  if (!j.is_string()) return std::nullopt;
  const auto& s = j.get_ref<const std::string&>();
  auto b = Base64Decode(s);
  if (!b || b->size() != n || Base64Encode(*b) != s) return std::nullopt;
  return b;
}
// A non-negative integer (parsed JSON holds these as unsigned; a body built in code may hold
// them as signed).
std::optional<uint64_t> AsCount(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  return std::nullopt;
}
bool GetCount(const json& j, uint64_t lo, uint64_t hi, uint64_t* out) {
  auto v = AsCount(j);
  if (!v || *v < lo || *v > hi) return false;
  *out = *v;
  return true;
}
bool IsDecimal(const json& j, size_t max_len, bool fraction) {
  if (!j.is_string()) return false;
  const auto& s = j.get_ref<const std::string&>();
  size_t dot = fraction ? s.find('.') : std::string::npos;
  std::string ip = s.substr(0, dot);
  if (ip.empty() || ip.size() > max_len || (ip.size() > 1 && ip[0] == '0')) return false;
  for (char c : ip)
    if (c < '0' || c > '9') return false;
  if (dot == std::string::npos) return true;
  std::string fp = s.substr(dot + 1);
  if (fp.empty() || fp.back() == '0') return false;
  for (char c : fp)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string PriceProblem(const json& p) {
  if (!p.is_object()) return "price is not an object";
  std::string k = KeysProblem(p, {"amount", "currency", "decimals", "base_units"});
  if (!k.empty()) return "price: " + k;
  uint64_t d = 0;
  if (!IsDecimal(p["amount"], 78, true)) return "price.amount is not a normalized decimal";
  const json& cur = p["currency"];
  bool cur_ok = cur.is_string() && !cur.get_ref<const std::string&>().empty() &&
                cur.get_ref<const std::string&>().size() <= 10;
  if (cur_ok)
    for (char c : cur.get_ref<const std::string&>())
      cur_ok &= (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  if (!cur_ok) return "price.currency is not 1–10 characters A–Z, 0–9";
  if (!GetCount(p["decimals"], 0, 36, &d)) return "price.decimals is not an integer 0–36";
  if (!IsDecimal(p["base_units"], 78, false)) return "price.base_units is not a decimal integer";
  return "";
}

// The model object in the manifest's embedded form (docs/spec/manifest.md §3.4).
std::string ModelProblem(const json& m) {
  if (!m.is_object()) return "model is not an object";
  const json& t = Field(m, "type");
  if (!t.is_string() || !RuleFor(t.get<std::string>()))
    return "model.type is not one of buy, resale, pay_per_view, rental, subscription, free, "
           "free_with_ads";
  const std::string type = t.get<std::string>();
  std::string k;
  if (type == "buy")
    k = KeysProblem(m, {"type", "price"}, {"supply"});
  else if (type == "resale")
    k = KeysProblem(m, {"type", "reseller_cut_ppm"}, {"price"});
  else if (type == "pay_per_view")
    k = KeysProblem(m, {"type", "price", "plays"});
  else if (type == "rental")
    k = KeysProblem(m, {"type", "price", "duration_s", "from_first_play"});
  else if (type == "subscription")
    k = KeysProblem(m, {"type", "price", "period_s"});
  else if (type == "free")
    k = KeysProblem(m, {"type"});
  else
    k = KeysProblem(m, {"type", "ad_capsule_id"});
  if (!k.empty()) return "model (" + type + "): " + k;
  uint64_t v = 0;
  if (m.contains("price")) {
    std::string p = PriceProblem(m["price"]);
    if (!p.empty()) return "model." + p;
  }
  if (m.contains("supply") && !GetCount(m["supply"], 1, kMaxCount, &v))
    return "model.supply is not an integer ≥ 1";
  if (m.contains("reseller_cut_ppm") && !GetCount(m["reseller_cut_ppm"], 1, 1000000, &v))
    return "model.reseller_cut_ppm is not an integer 1–1000000";
  for (const char* term : {"plays", "duration_s", "period_s"})
    if (m.contains(term) && !GetCount(m[term], 1, kMaxCount, &v))
      return std::string("model.") + term + " is not an integer ≥ 1";
  if (m.contains("from_first_play") && !m["from_first_play"].is_boolean())
    return "model.from_first_play is not a boolean";
  if (m.contains("ad_capsule_id") && !IsLowerHex(m["ad_capsule_id"], 16))
    return "model.ad_capsule_id is not 32 lowercase hex digits";
  return "";
}

// The manifest's offer of `type`, or null.
const json* FindOffer(const json& manifest, const std::string& type) {
  const json& models = Field(manifest, "models");
  if (!models.is_array()) return nullptr;
  for (const auto& m : models)
    if (m.is_object() && Field(m, "type") == type) return &m;
  return nullptr;
}
std::string OfferedTypes(const json& manifest) {
  std::string out;
  const json& models = Field(manifest, "models");
  if (models.is_array())
    for (const auto& m : models) {
      const json& t = Field(m, "type");
      if (!t.is_string()) continue;
      out += (out.empty() ? "" : ", ") + t.get<std::string>();
    }
  return out.empty() ? "none" : out;
}

Bytes SigningMessage(const std::string& canonical) {
  Bytes msg(kLicenseDomain.begin(), kLicenseDomain.end());
  msg.push_back(0);
  msg.insert(msg.end(), canonical.begin(), canonical.end());
  return msg;
}

// Parses JSON, noting duplicate keys (nlohmann would silently keep the last one).
json ParseJsonNoDuplicates(const std::string& text, bool* duplicate) {
  std::vector<std::set<std::string>> open;
  *duplicate = false;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && parsed.is_string() &&
            !open.back().insert(parsed.get<std::string>()).second)
          *duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  return ParseJsonText(text, cb);
}

Status CheckIssuer(const License& l, const OpenedCapsule& c) {
  for (const auto& is : c.info.issuers)
    if (is.ed25519 == l.issuer) return Status::Ok();
  return Status(Code::LicenseIssuerNotListed, "licence issuer " + HexEncode(l.issuer) +
                                                  " is not one of capsule " + HexEncode(c.info.id) +
                                                  "'s issuers");
}

Status CheckCapsule(const License& l, const OpenedCapsule& c) {
  if (l.capsule_id != c.info.id)
    return Status(
        Code::LicenseWrongCapsule,
        "the licence is for capsule " + HexEncode(l.capsule_id) + ", not " + HexEncode(c.info.id));
  if (l.manifest_sha256 != Sha256Of(AsBytes(c.manifest_bytes)))
    return Status(Code::LicenseWrongCapsule,
                  "the licence binds another manifest (manifest_sha256 differs) for capsule " +
                      HexEncode(c.info.id));
  return Status::Ok();
}

Status CheckHolder(const License& l, const PublicIdentity& h) {
  if (l.holder_ed25519 != h.ed25519 || l.holder_x25519 != h.x25519 || l.holder_address != h.address)
    return Status(
        Code::LicenseWrongHolder,
        "the licence is for holder " + EvmAddressChecksum(l.holder_address) + ", not " +
            EvmAddressChecksum(h.address) +
            (l.holder_address == h.address ? " with these keys (Ed25519/X25519 differ)" : ""));
  return Status::Ok();
}

// The licence's model is the offer of its type with only its term lowered (never raised, never
// another field changed), and a fixed window is no longer than the granted term.
Status CheckModel(const License& l, const OpenedCapsule& c) {
  const json& t = Field(l.model, "type");
  const std::string type = t.is_string() ? t.get<std::string>() : std::string();
  const json* offer = FindOffer(c.manifest, type);
  const TermRule* rule = RuleFor(type);
  if (!offer || !rule)
    return Status(Code::ModelNotOffered, "the licence grants model `" + type +
                                             "`, which the capsule does not offer (it offers: " +
                                             OfferedTypes(c.manifest) + ")");
  std::set<std::string> keys;
  for (auto it = offer->begin(); it != offer->end(); ++it) keys.insert(it.key());
  for (auto it = l.model.begin(); it != l.model.end(); ++it) keys.insert(it.key());
  for (const auto& k : keys) {
    const json& granted = Field(l.model, k.c_str());
    const json& offered = Field(*offer, k.c_str());
    if (rule->term && k == rule->term) {
      auto g = AsCount(granted), o = AsCount(offered);
      if (!g || !o || *g > *o) {
        bool secs = k != "plays";
        auto show = [&](const json& v) {
          auto n = AsCount(v);
          if (!n) return std::string("?");
          return secs ? FormatSeconds(*n) : std::to_string(*n);
        };
        return Status(Code::ModelNotOffered, "the licence grants " + type + " " + rule->noun + " " +
                                                 show(granted) + "; the capsule offers at most " +
                                                 show(offered));
      }
      continue;
    }
    if (granted != offered)
      return Status(Code::ModelNotOffered,
                    "the licence's " + type + " model differs from the offer in `" + k + "`");
  }
  if (rule->term && FixesWindow(*rule, l.model)) {
    uint64_t term = AsCount(Field(l.model, rule->term)).value_or(0);
    if (!l.not_after)
      return Status(Code::ModelNotOffered, "the licence's " + type + " has no end; it must end " +
                                               rule->noun + " after not_before");
    if (static_cast<uint64_t>(*l.not_after - l.not_before) > term)
      return Status(Code::ModelNotOffered, "the licence window is longer than its " + type + " " +
                                               rule->noun + " (" + FormatSeconds(term) + ")");
  }
  return Status::Ok();
}

Status CheckWindow(const License& l, int64_t now) {
  if (now < l.not_before - kLicenseClockSkew)
    return Status(Code::LicenseNotYetValid,
                  "the licence is valid from Unix time " + std::to_string(l.not_before) + ", " +
                      FormatSeconds(static_cast<uint64_t>(l.not_before - now)) + " from now");
  // No skew at the end: access ends at not_after, as the runtime ends it (with the ledger's
  // `expires` and a rental's first play + duration, the earliest wins; the end instant itself
  // is expired). The skew only lets a licence made just now open at once.
  if (l.not_after && now >= *l.not_after)
    return Status(Code::LicenseExpired,
                  "the licence expired at Unix time " + std::to_string(*l.not_after) + ", " +
                      FormatSeconds(static_cast<uint64_t>(now - *l.not_after)) + " ago");
  return Status::Ok();
}

}  // namespace

Result<std::string> SignLicenseBody(const nlohmann::json& body, const SecretIdentity& issuer) {
  CryptoInit();
  auto canonical = CanonicalJson(body);
  if (!canonical.ok())
    return Status(Code::LicenseMalformed,
                  "licence body has no canonical form: " + canonical.status().detail());
  uint8_t sig[64];
  Ed25519Sign(issuer.ed25519_sk.data(), SigningMessage(*canonical), sig);
  json file = {{"license", body},
               {"signature",
                {{"alg", "ed25519"},
                 {"key", HexEncode(issuer.pub.ed25519)},
                 {"sig", Base64Encode(ByteView(sig, 64))}}}};
  return file.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<std::string> IssueLicense(const OpenedCapsule& capsule, const SecretIdentity& issuer,
                                 const PublicIdentity& holder, const LicenseRequest& request,
                                 int64_t now) {
  CryptoInit();
  const std::string& where = capsule.file.path();
  bool listed = false;
  for (const auto& is : capsule.info.issuers) listed |= is.ed25519 == issuer.pub.ed25519;
  if (!listed)
    return Status(Code::NotAnIssuer,
                  where + ": key " + issuer.pub.KeyId() + " is not one of the capsule's issuers");

  const json* offer = FindOffer(capsule.manifest, request.model_type);
  const TermRule* rule = RuleFor(request.model_type);
  if (!offer || !rule)
    return Status(Code::ModelNotOffered,
                  where + ": the capsule does not offer model `" + request.model_type +
                      "` (it offers: " + OfferedTypes(capsule.manifest) + ")");
  json model = *offer;
  if (!ModelProblem(model).empty())
    return Status(Code::ManifestInvalid, where + ": the manifest's " + request.model_type +
                                             " offer is malformed: " + ModelProblem(model));

  // Terms: only the model's own term may be given, and only within the offer.
  const bool term_is_plays = rule->term && std::string(rule->term) == "plays";
  const bool term_is_time = rule->term && !term_is_plays;
  if (request.plays && !term_is_plays)
    return Status(Code::Usage, "model " + request.model_type + " has no plays term");
  if (request.duration_s && !term_is_time)
    return Status(Code::Usage, "model " + request.model_type + " has no duration or period term");
  if (rule->term) {
    uint64_t offered = AsCount(model[rule->term]).value_or(0);
    uint64_t granted = offered;
    if (request.plays) granted = *request.plays;
    if (request.duration_s) {
      if (*request.duration_s <= 0)
        return Status(Code::Usage, "the " + std::string(rule->noun) + " must be positive");
      granted = static_cast<uint64_t>(*request.duration_s);
    }
    if (granted == 0) return Status(Code::Usage, "plays must be at least 1");
    if (granted > offered) {
      auto show = [&](uint64_t v) { return term_is_plays ? std::to_string(v) : FormatSeconds(v); };
      return Status(Code::ModelNotOffered, where + ": " + request.model_type + " " + rule->noun +
                                               " " + show(granted) + " exceeds the offered " +
                                               show(offered));
    }
    model[rule->term] = granted;
  }

  // Window.
  if (request.not_before < 0 || request.not_before > kMaxTime)
    return Status(Code::Usage, "not_before is out of range");
  json not_after = nullptr;
  if (rule->term && FixesWindow(*rule, model)) {
    if (request.not_after)
      return Status(Code::Usage, "a " + request.model_type + " licence ends " + rule->noun +
                                     " after not_before; not_after cannot be set");
    int64_t end = request.not_before + static_cast<int64_t>(AsCount(model[rule->term]).value_or(0));
    if (end > kMaxTime) return Status(Code::Usage, "the licence would end beyond 2^53 − 1");
    not_after = end;
  } else if (request.not_after) {
    if (*request.not_after <= request.not_before || *request.not_after > kMaxTime)
      return Status(Code::Usage, "not_after must be later than not_before");
    not_after = *request.not_after;
  }
  if (now < 0 || now > kMaxTime) return Status(Code::Usage, "the clock is out of range");

  // K, re-sealed to the holder; the Secret wipes it on every path out of this block.
  Bytes sealed;
  {
    ContentKey k;
    CAPSULE_RETURN_IF_ERROR(
        RecoverContentKey(capsule, issuer.pub.x25519.data(), issuer.x25519_sk(), &k));
    sealed = SealTo(holder.x25519.data(), k.view(), nullptr);
  }
  if (sealed.size() != kSealedKeySize)
    return Status(Code::BadKeyFile, "the holder's X25519 key " + HexEncode(holder.x25519) +
                                        " is not a usable public key");

  uint8_t id[16];
  RandomBytes(id, sizeof id);
  json body = {
      {"version", 1},
      {"id", HexEncode(ByteView(id, sizeof id))},
      {"capsule_id", HexEncode(capsule.info.id)},
      {"manifest_sha256", HexEncode(Sha256Of(AsBytes(capsule.manifest_bytes)))},
      {"holder",
       {{"ed25519", HexEncode(holder.ed25519)},
        {"x25519", HexEncode(holder.x25519)},
        {"address", EvmAddressLower(holder.address)}}},
      {"issuer", HexEncode(issuer.pub.ed25519)},
      {"model", model},
      {"not_before", request.not_before},
      {"not_after", not_after},
      {"issued_at", now},
      {"sealed_key", Base64Encode(sealed)},
  };
  return SignLicenseBody(body, issuer);
}

Result<std::string> ReadLicenseFile(const std::string& path) {
  return ReadSmallFile(path, kMaxLicenseSize, [&path](uint64_t size) {
    return Malformed(path, "licence file is " + std::to_string(size) +
                               " bytes; a licence is at most " + std::to_string(kMaxLicenseSize));
  });
}

Result<License> ParseLicenseUnverified(const std::string& text, const std::string& where) {
  if (text.size() > kMaxLicenseSize)
    return Malformed(where, "licence is larger than " + std::to_string(kMaxLicenseSize) + " bytes");
  bool duplicate = false;
  json file = ParseJsonNoDuplicates(text, &duplicate);
  if (file.is_discarded()) return Malformed(where, "not JSON");
  if (duplicate) return Malformed(where, "duplicate key in a JSON object");
  if (!file.is_object()) return Malformed(where, "not a JSON object");
  std::string k = KeysProblem(file, {"license", "signature"});
  if (!k.empty()) return Malformed(where, k + " at the top level");

  const json& sig = file["signature"];
  if (!sig.is_object()) return Malformed(where, "signature is not an object");
  k = KeysProblem(sig, {"alg", "key", "sig"});
  if (!k.empty()) return Malformed(where, "signature: " + k);
  if (sig["alg"] != "ed25519") return Malformed(where, "signature.alg is not \"ed25519\"");

  const json& b = file["license"];
  if (!b.is_object()) return Malformed(where, "license is not an object");
  k = KeysProblem(b, {"version", "id", "capsule_id", "manifest_sha256", "holder", "issuer", "model",
                      "not_before", "not_after", "issued_at", "sealed_key"});
  if (!k.empty()) return Malformed(where, "license: " + k);
  if (AsCount(b["version"]) != uint64_t{1})
    return Malformed(where, "unsupported licence version (this reader knows version 1)");

  License l;
  std::array<uint8_t, 16> id{};
  if (!GetHex(b["id"], &id)) return Malformed(where, "license.id is not 32 lowercase hex digits");
  l.id = b["id"].get<std::string>();
  if (!GetHex(b["capsule_id"], &l.capsule_id))
    return Malformed(where, "license.capsule_id is not 32 lowercase hex digits");
  if (!GetHex(b["manifest_sha256"], &l.manifest_sha256))
    return Malformed(where, "license.manifest_sha256 is not 64 lowercase hex digits");
  const json& h = b["holder"];
  if (!h.is_object()) return Malformed(where, "license.holder is not an object");
  k = KeysProblem(h, {"ed25519", "x25519", "address"});
  if (!k.empty()) return Malformed(where, "license.holder: " + k);
  if (!GetHex(h["ed25519"], &l.holder_ed25519))
    return Malformed(where, "license.holder.ed25519 is not 64 lowercase hex digits");
  if (!GetHex(h["x25519"], &l.holder_x25519))
    return Malformed(where, "license.holder.x25519 is not 64 lowercase hex digits");
  const json& addr = h["address"];
  if (!addr.is_string() || addr.get_ref<const std::string&>().size() != 42 ||
      addr.get_ref<const std::string&>().compare(0, 2, "0x") != 0 ||
      !GetHex(json(addr.get<std::string>().substr(2)), &l.holder_address))
    return Malformed(where, "license.holder.address is not 0x + 40 lowercase hex digits");
  if (!GetHex(b["issuer"], &l.issuer))
    return Malformed(where, "license.issuer is not 64 lowercase hex digits");
  std::string mp = ModelProblem(b["model"]);
  if (!mp.empty()) return Malformed(where, "license." + mp);
  l.model = b["model"];

  uint64_t t = 0;
  if (!GetCount(b["not_before"], 0, kMaxTime, &t))
    return Malformed(where, "license.not_before is not an integer 0 – 2^53 − 1");
  l.not_before = static_cast<int64_t>(t);
  if (!GetCount(b["issued_at"], 0, kMaxTime, &t))
    return Malformed(where, "license.issued_at is not an integer 0 – 2^53 − 1");
  l.issued_at = static_cast<int64_t>(t);
  if (!b["not_after"].is_null()) {
    if (!GetCount(b["not_after"], 0, kMaxTime, &t))
      return Malformed(where, "license.not_after is neither null nor an integer 0 – 2^53 − 1");
    l.not_after = static_cast<int64_t>(t);
    if (*l.not_after <= l.not_before)
      return Malformed(where, "license.not_after is not later than not_before");
  }
  auto sealed = GetBase64(b["sealed_key"], kSealedKeySize);
  if (!sealed)
    return Malformed(where, "license.sealed_key is not the base64 of an 80-byte sealed box");
  l.sealed_key = std::move(*sealed);

  std::array<uint8_t, 32> key{};
  if (!GetHex(sig["key"], &key))
    return Malformed(where, "signature.key is not 64 lowercase hex digits");
  if (key != l.issuer) return Malformed(where, "signature.key is not license.issuer");
  auto sig_bytes = GetBase64(sig["sig"], 64);
  if (!sig_bytes) return Malformed(where, "signature.sig is not the base64 of 64 bytes");
  std::memcpy(l.signature.data(), sig_bytes->data(), 64);

  auto canonical = CanonicalJson(b);
  if (!canonical.ok())
    return Malformed(where, "license has no canonical form: " + canonical.status().detail());
  l.body_canonical = std::move(*canonical);
  l.body = b;
  return l;
}

Status VerifyLicenseSignature(const License& license, const std::string& where) {
  CryptoInit();
  if (!Ed25519Verify(license.issuer.data(), SigningMessage(license.body_canonical),
                     license.signature.data()))
    return Status(Code::LicenseBadSignature,
                  where + ": the licence signature by " + HexEncode(license.issuer) +
                      " does not verify (the licence was changed or not signed by its issuer)");
  return Status::Ok();
}

Result<License> ParseLicense(const std::string& text, const std::string& where) {
  CAPSULE_ASSIGN_OR_RETURN(License l, ParseLicenseUnverified(text, where));
  CAPSULE_RETURN_IF_ERROR(VerifyLicenseSignature(l, where));
  return l;
}

std::vector<LicenseCheck> ExplainLicense(const License& license, const OpenedCapsule* capsule,
                                         const PublicIdentity* holder, int64_t now) {
  std::vector<LicenseCheck> out;
  if (capsule) {
    out.push_back({"issuer", CheckIssuer(license, *capsule)});
    out.push_back({"capsule", CheckCapsule(license, *capsule)});
  }
  if (holder) out.push_back({"holder", CheckHolder(license, *holder)});
  if (capsule) out.push_back({"model", CheckModel(license, *capsule)});
  out.push_back({"window", CheckWindow(license, now)});
  return out;
}

Status CheckLicense(const License& license, const OpenedCapsule& capsule,
                    const PublicIdentity& holder, int64_t now) {
  for (const auto& c : ExplainLicense(license, &capsule, &holder, now))
    if (!c.status.ok()) return c.status.WithContext(capsule.file.path());
  return Status::Ok();
}

Status UnwrapLicenseKey(const License& license, const OpenedCapsule& capsule,
                        const SecretIdentity& holder, ContentKey* out) {
  CryptoInit();
  const std::string& where = capsule.file.path();
  CAPSULE_RETURN_IF_ERROR(CheckHolder(license, holder.pub).WithContext(where));
  if (license.capsule_id != capsule.info.id)
    return CheckCapsule(license, capsule).WithContext(where);
  if (license.sealed_key.size() != kSealedKeySize ||
      !SealOpen(holder.pub.x25519.data(), holder.x25519_sk(), license.sealed_key, out->data())) {
    Wipe(out->data(), out->size());
    return Status(Code::KeyCommitmentMismatch,
                  where + ": the licence's sealed key does not open with the holder's X25519 key");
  }
  if (KeyCommitment(*out, capsule.info.id) != capsule.info.key_commitment) {
    Wipe(out->data(), out->size());
    return Status(Code::KeyCommitmentMismatch,
                  where + ": the licence's key does not match the capsule's key commitment");
  }
  return Status::Ok();
}

std::string DescribeLicenseModel(const nlohmann::json& model) {
  if (!ModelProblem(model).empty()) return "(malformed model)";
  const std::string type = model["type"].get<std::string>();
  std::string out = type;
  if (type == "rental") {
    out += ": " + FormatSeconds(model["duration_s"].get<uint64_t>()) +
           (model["from_first_play"].get<bool>() ? " from the first play" : " from not_before");
  } else if (type == "subscription") {
    out += ": period " + FormatSeconds(model["period_s"].get<uint64_t>());
  } else if (type == "pay_per_view") {
    out += ": " + std::to_string(model["plays"].get<uint64_t>()) + " play(s)";
  } else if (type == "resale") {
    uint64_t ppm = model["reseller_cut_ppm"].get<uint64_t>();
    std::string frac = std::to_string(10000 + ppm % 10000).substr(1);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += ": reseller cut " + std::to_string(ppm / 10000) + (frac.empty() ? "" : "." + frac) + "%";
  } else if (type == "free_with_ads") {
    out += ": ad capsule " + model["ad_capsule_id"].get<std::string>();
  }
  if (model.contains("price"))
    out += " (" + model["price"]["amount"].get<std::string>() + " " +
           model["price"]["currency"].get<std::string>() + ")";
  return out;
}

}  // namespace capsule::format
