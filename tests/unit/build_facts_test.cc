// Facts the build and the docs promise: the bundled template is the committed one (same
// pinned toolchain → same bytes, DESIGN §9.11), it imports only `capsule_v1` and declares a
// memory maximum, and docs/exit-codes.md lists every row of the error table.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "capsule/capsule.h"
#include "capsule/status.h"
#include "packager/template.h"

namespace {
std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST(Template, HashMatchesCommittedValue) {
  std::string committed = Slurp(std::string(CAPSULE_SOURCE_DIR) + "/templates/default.wasm.sha256");
  while (!committed.empty() && (committed.back() == '\n' || committed.back() == ' '))
    committed.pop_back();
  EXPECT_EQ(committed, capsule::packager::kTemplateWasmSha256)
      << "templates/default.c or the toolchain changed the template; review and update "
         "templates/default.wasm.sha256";
}

TEST(Template, ImportsOnlyCapsuleV1AndHasMemoryMaximum) {
  // Independent check with wabt's wasm-objdump on the built template.
  std::string wasm = std::string(CAPSULE_BINARY_DIR) + "/templates/default.wasm";
  std::string out = std::string(CAPSULE_BINARY_DIR) + "/templates/default.objdump.txt";
  ASSERT_EQ(std::system(("wasm-objdump -x " + wasm + " > " + out).c_str()), 0);
  std::string dump = Slurp(out);
  size_t imports = 0;
  for (size_t p = dump.find("<- "); p != std::string::npos; p = dump.find("<- ", p + 1)) {
    ++imports;
    EXPECT_EQ(dump.compare(p + 3, 11, "capsule_v1."), 0) << dump.substr(p, 40);
  }
  EXPECT_GT(imports, 0u);
  EXPECT_NE(dump.find("max=2"), std::string::npos) << "memory must declare a maximum";
  EXPECT_NE(dump.find("-> \"capsule_run\""), std::string::npos);
  EXPECT_NE(dump.find("-> \"memory\""), std::string::npos);
}

TEST(Docs, ExitCodesDocumentEveryReasonCode) {
  std::string doc = Slurp(std::string(CAPSULE_SOURCE_DIR) + "/docs/exit-codes.md");
  ASSERT_FALSE(doc.empty()) << "docs/exit-codes.md missing";
  size_t n = 0;
  const capsule::Code* codes = capsule::AllCodes(&n);
  for (size_t i = 0; i < n; ++i) {
    std::string row = "| `" + std::string(capsule::ReasonCode(codes[i])) + "` | " +
                      std::to_string(capsule::ExitCode(codes[i])) + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "missing row: " << row;
  }
}
