// JCS serializer, written here because nlohmann's dump differs from RFC 8785 in details that
// matter for byte equality (it would accept floats; its key order is std::map's, which only
// equals UTF-16 order for ASCII keys, so we enforce ASCII keys).
#include "format/canonical_json.h"

#include "format/bytes.h"

namespace capsule::format {
namespace {
constexpr int64_t kMaxSafe = static_cast<int64_t>(kMaxJsonInteger);

Status AppendString(std::string& out, const std::string& s) {
  if (!IsValidUtf8(s)) return Status(Code::ManifestInvalid, "string is not valid UTF-8");
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return Status::Ok();
}

Status Append(std::string& out, const nlohmann::json& j, int depth) {
  if (depth > 32) return Status(Code::ManifestInvalid, "JSON nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      return Status::Ok();
    case nlohmann::json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return Status::Ok();
    case nlohmann::json::value_t::number_integer: {
      int64_t v = j.get<int64_t>();
      if (v > kMaxSafe || v < -kMaxSafe)
        return Status(Code::ManifestInvalid, "integer beyond 2^53 must be a string");
      out += std::to_string(v);
      return Status::Ok();
    }
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t v = j.get<uint64_t>();
      if (v > kMaxJsonInteger)
        return Status(Code::ManifestInvalid, "integer beyond 2^53 must be a string");
      out += std::to_string(v);
      return Status::Ok();
    }
    case nlohmann::json::value_t::number_float:
      return Status(Code::ManifestInvalid, "floating-point numbers are not allowed");
    case nlohmann::json::value_t::string:
      return AppendString(out, j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out.push_back(',');
        first = false;
        CAPSULE_RETURN_IF_ERROR(Append(out, e, depth + 1));
      }
      out.push_back(']');
      return Status::Ok();
    }
    case nlohmann::json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {  // std::map: byte order
        for (unsigned char c : it.key())
          if (c >= 0x80) return Status(Code::ManifestInvalid, "non-ASCII object key");
        if (!first) out.push_back(',');
        first = false;
        CAPSULE_RETURN_IF_ERROR(AppendString(out, it.key()));
        out.push_back(':');
        CAPSULE_RETURN_IF_ERROR(Append(out, it.value(), depth + 1));
      }
      out.push_back('}');
      return Status::Ok();
    }
    default:
      return Status(Code::ManifestInvalid, "unsupported JSON value");
  }
}
}  // namespace

Result<std::string> CanonicalJson(const nlohmann::json& j) {
  std::string out;
  CAPSULE_RETURN_IF_ERROR(Append(out, j, 0));
  return out;
}

Result<nlohmann::json> ParseCanonicalJson(std::string_view bytes, const std::string& where) {
  if (HasNulByte(bytes))
    return Status(Code::ManifestInvalid, where + ": not valid JSON (a NUL byte)");
  nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(Code::ManifestInvalid, where + ": not valid JSON");
  auto canon = CanonicalJson(j);
  if (!canon.ok()) return canon.status().WithContext(where);
  if (*canon != bytes)
    return Status(Code::ManifestNotCanonical,
                  where + ": not canonical JSON (RFC 8785): re-encoding gives different bytes");
  return j;
}

std::string JsonStr(const nlohmann::json& o, const char* key, const std::string& def) {
  const auto& v = JsonAt(o, key);
  return v.is_string() ? v.get<std::string>() : def;
}
int64_t JsonInt(const nlohmann::json& o, const char* key, int64_t def) {
  const auto& v = JsonAt(o, key);
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? def : static_cast<int64_t>(u);
  }
  return v.is_number_integer() ? v.get<int64_t>() : def;
}
bool JsonBool(const nlohmann::json& o, const char* key, bool def) {
  const auto& v = JsonAt(o, key);
  return v.is_boolean() ? v.get<bool>() : def;
}
const nlohmann::json& JsonAt(const nlohmann::json& o, const char* key) {
  static const nlohmann::json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

std::string ReportJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ValidUtf8(const std::string& s) {
  if (IsValidUtf8(s)) return s;
  // nlohmann's serializer does the replacement (per maximal invalid subsequence, as Unicode
  // recommends); parsing its output back undoes the escaping.
  return nlohmann::json::parse(ReportJson(nlohmann::json(s))).get<std::string>();
}

}  // namespace capsule::format
