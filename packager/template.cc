// Choosing the bundled template for a capsule (docs/spec/host-abi.md §4).
#include "packager/template.h"

#include <set>

namespace capsule::packager {

Result<const templates::Template*> ChooseTemplate(const std::string& requested,
                                                  const nlohmann::json& models) {
  std::string name = requested;
  if (requested.empty() || requested == "auto") {
    std::set<std::string> families;
    for (const auto& m : models) {
      std::string type = m.is_object() && m.contains("type") && m["type"].is_string()
                             ? m["type"].get<std::string>()
                             : "";
      families.insert(type == "resale" ? "buy" : type);
    }
    static const std::set<std::string> own = {"buy",          "pay_per_view", "rental",
                                              "subscription", "free",         "free_with_ads"};
    name = "standard";
    if (families.size() == 1 && own.count(*families.begin())) {
      name = *families.begin();
      for (auto& ch : name)
        if (ch == '_') ch = '-';
    }
  }
  const templates::Template* t = templates::ByName(name);
  if (!t) {
    std::string known;
    for (const auto& x : templates::All()) known += (known.empty() ? "" : ", ") + x.name;
    return Status(Code::Usage,
                  "--template " + requested + ": no such bundled template (known: " + known + ")");
  }
  return t;
}

Status CheckTemplateMedia(const templates::Template& t, const std::string& media_type,
                          const std::string& input) {
  if (t.name == "watermark-text" && media_type.rfind("text/", 0) != 0)
    return Status(Code::Usage, input + ": the watermark-text template serves text only (this is " +
                                   media_type + ")");
  return Status::Ok();
}

}  // namespace capsule::packager
