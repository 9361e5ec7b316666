// manifest.yaml → the authored part of the embedded manifest (DESIGN §3.7–8, §9.1).
// Errors name file:line:column and what was expected; unknown and duplicate keys are errors.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capsule/status.h"
#include "packager/media.h"

namespace capsule::packager {

struct AuthoredManifest {
  // Authored fields in their embedded (canonical JSON) form: see docs/spec/manifest.md.
  nlohmann::json json;
  std::optional<PreviewRequest> preview;
  bool free = false;  // offers `free` or `free_with_ads` (then K is published)
  bool has_signing_key = false;  // creator.ed25519 was given in the YAML
};

Result<AuthoredManifest> LoadManifestYaml(const std::string& path);
// Same, from text (the path is used in messages only).
Result<AuthoredManifest> ParseManifestYaml(const std::string& text, const std::string& path);

}  // namespace capsule::packager
