// Fuzz target: licence files (JSON, canonical body, Ed25519 signature), and the inspect path
// that describes an unverified licence's model.
#include <cstddef>
#include <cstdint>
#include <string>

#include "format/license.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = capsule::format::ParseLicense(text, "fuzz.license");
  (void)r.ok();
  auto u = capsule::format::ParseLicenseUnverified(text, "fuzz.license");
  if (u.ok()) {
    (void)capsule::format::DescribeLicenseModel(u->model);
    (void)capsule::format::ExplainLicense(*u, nullptr, nullptr, 1700000000);
  }
  return 0;
}
