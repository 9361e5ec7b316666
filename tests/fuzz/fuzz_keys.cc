// Fuzz target: key files. The input is tried as a .pub (PublicFromJson) and as a .key file
// (LoadSecretKey from a 0600 file, with a fixed passphrase).
//
// Protected key files name their own Argon2id cost. The library caps it (opslimit ≤ 64,
// memlimit ≤ 2 GiB), but even capped values take minutes per execution, so inputs asking for
// more than a small cost are skipped here (see docs/hardening.md: a known, documented DoS
// bound, not explored by this target).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "format/keys.h"
#include "fuzz_common.h"

namespace {
bool CheapKdf(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("kdf")) return true;
  const auto& kdf = j["kdf"];
  if (!kdf.is_object()) return true;
  auto big = [&](const char* k, uint64_t max) {
    return kdf.contains(k) && kdf[k].is_number_unsigned() && kdf[k].get<uint64_t>() > max;
  };
  return !big("opslimit", 2) && !big("memlimit", 64u << 20);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto pub = capsule::format::PublicFromJson(text, "fuzz.pub");
  if (pub.ok()) {
    (void)pub->KeyId();
    (void)pub->DidKey();
    (void)pub->AddressChecksummed();
    (void)pub->ToJson();
  }
  if (!CheapKdf(text)) return 0;
  static capsule_fuzz::ScratchFile file("key", ".key");
  if (!file.Write(data, size)) return 0;
  capsule::format::PassphraseSource pass =
      [](const std::string&) -> capsule::Result<std::string> { return std::string("fuzzfuzz"); };
  auto sk = capsule::format::LoadSecretKey(file.path(), pass);
  (void)sk.ok();
  return 0;
}
