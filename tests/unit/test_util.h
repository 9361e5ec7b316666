// Helpers shared by the end-to-end unit tests: temp dirs, whole-file I/O, shell steps, and
// re-signing a modified capsule with a given key (what an attacker holding that key could do).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/signature.h"
#include "format/wasm.h"

namespace capsule::testing {

inline std::string MakeTmp(const char* prefix) {
  const char* base = std::getenv("CAPSULE_TEST_TMP");
  std::string root = base ? base : "/tmp";
  mkdir(root.c_str(), 0700);
  std::string t = root + "/" + prefix + "XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  return mkdtemp(b.data());
}

inline std::string ReadAll(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void WriteAll(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

inline void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// Rewrites `file` with a fresh signature section by `key` over its current parts.
inline void Resign(const std::string& file, const std::string& key) {
  using namespace capsule::format;  // NOLINT
  auto f = InputFile::Open(file);
  ASSERT_TRUE(f.ok());
  auto secs = ScanSections(*f);
  ASSERT_TRUE(secs.ok()) << secs.status().ToString();
  std::string all = ReadAll(file);
  std::vector<Hash32> hashes;
  Sha256 h;
  for (size_t i = 1; i < secs->size(); ++i) {
    const auto& s = (*secs)[i];
    h.Update(AsBytes(std::string_view(all).substr(s.offset, s.end() - s.offset)));
    if (s.is_custom() && s.name == kDelimiterSection) hashes.push_back(h.Peek());
  }
  auto id = LoadSecretKey(key, DefaultPassphraseSource());
  ASSERT_TRUE(id.ok());
  SignatureData d;
  ASSERT_TRUE(AddSignature(d, hashes, id->ed25519_sk.data(), id->pub.ed25519.data()).ok());
  Bytes sec = CustomSection(kSignatureSection, d.Serialize());
  WriteAll(file,
           all.substr(0, 8) + std::string(sec.begin(), sec.end()) + all.substr((*secs)[0].end()));
}

// Replaces a capsule's code part (part 1) with the code sections of `module` and re-signs it.
inline void ReplaceCode(const std::string& file, const std::string& module_path,
                        const std::string& key) {
  using namespace capsule::format;  // NOLINT
  std::string all = ReadAll(file);
  auto f = InputFile::Open(file);
  auto secs = ScanSections(*f);
  ASSERT_TRUE(secs.ok());
  size_t d0 = 0;
  while (!((*secs)[d0].is_custom() && (*secs)[d0].name == kDelimiterSection)) ++d0;
  std::string mod = ReadAll(module_path);
  auto stripped = StripCustomSections(AsBytes(mod));
  ASSERT_TRUE(stripped.ok()) << stripped.status().ToString();
  std::string code(stripped->begin() + 8, stripped->end());
  WriteAll(file, all.substr(0, (*secs)[1].offset) + code + all.substr((*secs)[d0].offset));
  Resign(file, key);
}

}  // namespace capsule::testing
