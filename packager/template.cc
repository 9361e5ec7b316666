// Choosing the bundled template for a capsule (docs/spec/host-abi.md §4).
#include "packager/template.h"

#include <set>

namespace capsule::packager {

Result<const templates::Template*> ChooseTemplate(const std::string& requested,
                                                  const nlohmann::json& models) {
  std::string name = requested;
  std::set<std::string> families;  // template names of the models offered
  for (const auto& m : models) {
    std::string type = m.is_object() && m.contains("type") && m["type"].is_string()
                           ? m["type"].get<std::string>()
                           : "";
    if (type == "resale") type = "buy";
    for (auto& ch : type)
      if (ch == '_') ch = '-';
    families.insert(type);
  }
  static const std::set<std::string> own = {"buy",          "pay-per-view", "rental",
                                            "subscription", "free",         "free-with-ads"};
  if (requested.empty() || requested == "auto") {
    name = "standard";
    if (families.size() == 1 && own.count(*families.begin())) name = *families.begin();
  } else if (own.count(requested)) {
    // A model's own template serves that model alone: a licence for any other the manifest
    // offers would be refused by the capsule's code at every open.
    for (const auto& f : families)
      if (f != requested)
        return Status(Code::Usage, "--template " + requested + " serves " + requested +
                                       " licences only, and the manifest offers " + f +
                                       "; use --template standard (or leave it out)");
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
