// Which bundled template a capsule carries (templates/registry.h has them all).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "capsule/status.h"
#include "templates/registry.h"

namespace capsule::packager {

// The template for a manifest's `models`: `requested` is "auto" or a template name. Auto: the
// model family's own template when every model is of one family (buy and resale are one), else
// "standard". `watermark-text` only when asked for (and only for text: see CheckTemplateMedia).
Result<const templates::Template*> ChooseTemplate(const std::string& requested,
                                                  const nlohmann::json& models);

// Usage error when the template cannot serve this input's media type.
Status CheckTemplateMedia(const templates::Template& t, const std::string& media_type,
                          const std::string& input);

}  // namespace capsule::packager
