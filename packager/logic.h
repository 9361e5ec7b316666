// Capsule logic helpers for `capsulec logic` and `pack --logic` (DESIGN §3.9, §3.11): compile C
// against ABI capsule_v1 with clang-14/wasm-ld-14 (the flags of cmake/Template.cmake), check the
// module with wabt (capsule::runtime::CheckModule) before Binaryen parses it, optimise with
// Binaryen's C API, check again. Binaryen aborts on malformed input, so nothing reaches it
// unchecked.
#pragma once

#include <string>
#include <string_view>

#include "capsule/status.h"
#include "format/bytes.h"

namespace capsule::packager {

constexpr size_t kMaxLogicSize = 16u << 20;  // a logic module, in bytes

// Embedded at build time (packager/CMakeLists.txt): the ABI header and the starter project.
extern const char kCapsuleV1Header[];
extern const char kStarterC[];            // "@NAME@" stands for the project name
extern const char kStarterTestSh[];       // idem
extern const char kStarterReadme[];       // idem
extern const char* const kGuestCflags[];  // null-terminated
extern const char* const kGuestLdflags[];

// Compiles one C file to a raw (unoptimised) wasm32 module. `diagnostics` receives the
// compiler's and linker's messages. BadTemplate (exit 4) when compilation fails; Usage when the
// toolchain is missing.
Result<format::Bytes> CompileLogicC(const std::string& c_path, std::string* diagnostics);

// CheckModule → Binaryen (features MVP + mutable globals, -O2, no debug info or names) →
// Binaryen validation → CheckModule. Returns the optimised module without custom sections.
Result<format::Bytes> OptimizeLogic(format::ByteView module, const std::string& what);

// A module ready to be a capsule's part 1: checked, custom sections stripped, preamble removed.
Result<format::Bytes> LoadLogicCodeSections(const std::string& path);

}  // namespace capsule::packager
