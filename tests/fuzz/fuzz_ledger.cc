// Fuzz target: file ledgers ("file:PATH"), queried for a fixed capsule and holder (the ones the
// seed ledgers grant, so that the fuzzer reaches the grant-matching code).
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "runtime-min/ledger.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static capsule_fuzz::ScratchFile file("ledger", ".json");
  if (!file.Write(data, size)) return 0;
  auto ledger = capsule::runtime::OpenLedger("file:" + file.path());
  if (!ledger.ok()) return 0;
  capsule::runtime::CapsuleIdBytes capsule{};
  capsule::runtime::Address holder{};
  for (size_t i = 0; i < capsule.size(); ++i) capsule[i] = static_cast<uint8_t>(0x11 * (i % 16));
  for (size_t i = 0; i < holder.size(); ++i) holder[i] = 0xab;
  auto h = (*ledger)->Holds(capsule, holder, 1700000000);
  (void)h.ok();
  (void)(*ledger)->Describe();
  return 0;
}
