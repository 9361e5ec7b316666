// The bundled capsule templates (templates/*.c), built and embedded by cmake/Template.cmake.
// Runtimes recognise them by the SHA-256 of their code sections (a capsule's part 1), which is
// the code hash `inspect` shows and `--trust-logic` takes (docs/spec/host-abi.md §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/bytes.h"

namespace capsule::templates {

// One embedded module, as the build wrote it (generated table).
struct Blob {
  const char* name;       // e.g. "rental"
  const char* file_name;  // e.g. "rental.wasm"
  const uint8_t* wasm;
  size_t size;
  const char* file_sha256;  // of the .wasm file (templates/templates.sha256)
};
extern const Blob kBlobs[];
extern const size_t kBlobCount;

struct Template {
  std::string name;
  std::string file_name;
  std::string file_sha256;
  format::Bytes code;       // the code sections: exactly a capsule's part 1 (before its delimiter)
  std::string code_sha256;  // hex SHA-256 of `code`
};

// Every bundled template, in the build's order.
const std::vector<Template>& All();
// nullptr when unknown.
const Template* ByName(std::string_view name);
const Template* ByCodeSha256(std::string_view hex);
// "bundled template NAME" for a bundled template's code hash, else "custom" (what inspect,
// pack --json and capsule-run report).
std::string Describe(std::string_view code_sha256);

}  // namespace capsule::templates
