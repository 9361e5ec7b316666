// The bundled template (templates/default.c), embedded at build time by cmake/Template.cmake.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/bytes.h"

namespace capsule::packager {

extern const uint8_t kTemplateWasm[];
extern const size_t kTemplateWasmSize;
extern const char kTemplateWasmSha256[];

// The template's sections without preamble or custom sections: exactly a capsule's part 1
// (before its delimiter).
const format::Bytes& TemplateCodeSections();

}  // namespace capsule::packager
