// The bundled templates' code sections and code hashes, computed once from the embedded bytes.
#include "templates/registry.h"

#include <cstdlib>

#include "format/crypto.h"
#include "format/wasm.h"

namespace capsule::templates {

const std::vector<Template>& All() {
  static const std::vector<Template> all = [] {
    std::vector<Template> v;
    for (size_t i = 0; i < kBlobCount; ++i) {
      const Blob& b = kBlobs[i];
      auto stripped = format::StripCustomSections(format::ByteView(b.wasm, b.size));
      if (!stripped.ok()) std::abort();  // the build validated it; this cannot fail
      Template t;
      t.name = b.name;
      t.file_name = b.file_name;
      t.file_sha256 = b.file_sha256;
      t.code = format::Bytes(stripped->begin() + 8, stripped->end());  // without the preamble
      t.code_sha256 = format::HexEncode(format::Sha256Of(t.code));
      v.push_back(std::move(t));
    }
    return v;
  }();
  return all;
}

const Template* ByName(std::string_view name) {
  for (const auto& t : All())
    if (t.name == name) return &t;
  return nullptr;
}

const Template* ByCodeSha256(std::string_view hex) {
  for (const auto& t : All())
    if (t.code_sha256 == hex) return &t;
  return nullptr;
}

std::string Describe(std::string_view code_sha256) {
  const Template* t = ByCodeSha256(code_sha256);
  return t ? "bundled template " + t->name : "custom";
}

}  // namespace capsule::templates
