// Facts the build and the docs promise: the bundled templates are the committed ones (same
// pinned toolchain → same bytes, DESIGN §9.11), they import only `capsule_v1` and declare a
// memory maximum, and docs/exit-codes.md lists every row of the error table.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "capsule/capsule.h"
#include "capsule/status.h"
#include "templates/registry.h"

namespace {
std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST(Template, HashesMatchCommittedValues) {
  std::string committed = Slurp(std::string(CAPSULE_SOURCE_DIR) + "/templates/templates.sha256");
  const auto& all = capsule::templates::All();
  ASSERT_EQ(all.size(), 8u);
  size_t lines = 0;
  for (char c : committed) lines += c == '\n';
  EXPECT_EQ(lines, all.size()) << "templates/templates.sha256 lists a template that is not built";
  for (const auto& t : all) {
    EXPECT_NE(committed.find(t.file_sha256 + "  " + t.file_name + "\n"), std::string::npos)
        << t.name << ": templates/" << t.file_name
        << " or the toolchain changed the template; review and update templates/templates.sha256";
    EXPECT_EQ(capsule::templates::ByCodeSha256(t.code_sha256), &t) << "two templates, one code";
  }
}

TEST(Template, ImportsOnlyCapsuleV1AndHaveMemoryMaximum) {
  // Independent check with wabt's wasm-objdump on every built template.
  for (const auto& t : capsule::templates::All()) {
    SCOPED_TRACE(t.name);
    std::string wasm = std::string(CAPSULE_BINARY_DIR) + "/templates/" + t.file_name;
    std::string out = wasm + ".objdump.txt";
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
