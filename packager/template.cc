// Access to the embedded template's code sections.
#include "packager/template.h"

#include <cstdlib>

#include "format/crypto.h"
#include "format/wasm.h"

namespace capsule::packager {

const format::Bytes& TemplateCodeSections() {
  static const format::Bytes code = [] {
    auto stripped = format::StripCustomSections(format::ByteView(kTemplateWasm, kTemplateWasmSize));
    if (!stripped.ok()) std::abort();  // the build validated it; this cannot fail
    return format::Bytes(stripped->begin() + 8, stripped->end());
  }();
  return code;
}

}  // namespace capsule::packager

namespace capsule {
std::string BundledTemplateSha256() {
  return format::HexEncode(format::Sha256Of(packager::TemplateCodeSections()));
}
}  // namespace capsule
