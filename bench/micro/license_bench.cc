// The licence check of `capsule-run open` (format/license + runtime-min's ledger): parse and
// verify the signed licence (canonical JSON + Ed25519), check its bindings against the
// verified capsule, unwrap K (X25519 sealed box + key commitment), and ask the file ledger.
// Setup packs one small capsule with a fresh creator and licenses a fresh holder.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "bench/micro/bench_util.h"
#include "capsule/capsule.h"
#include "format/container.h"
#include "format/keys.h"
#include "format/license.h"
#include "runtime-min/ledger.h"

namespace capsule::bench {
namespace {
using namespace capsule::format;  // NOLINT

struct Fixture {
  bool ok = false;
  std::string error;
  SecretIdentity creator, holder;
  std::optional<OpenedCapsule> capsule;
  std::string license_text, ledger_spec;
  int64_t now = static_cast<int64_t>(std::time(nullptr));

  Fixture() { ok = Setup(); }
  bool Setup() {
    CryptoInit();
    const std::string d = ScratchDir();
    setenv("CAPSULE_HOME", (d + "/home").c_str(), 1);
    auto c = GenerateIdentity();
    auto h = GenerateIdentity();
    if (!c.ok() || !h.ok()) return Fail("keygen");
    creator = *c;
    holder = *h;
    if (!WriteIdentity(creator, d + "/creator.key", d + "/creator.pub", std::nullopt, true).ok())
      return Fail("write key");
    std::ofstream(d + "/m.yaml") << "title: Micro-benchmark\n"
                                    "creator:\n  name: Bench\n"
                                    "  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"
                                    "royalties:\n  splits:\n    - role: creator\n"
                                    "      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n"
                                    "      share: 100%\n"
                                    "models:\n  - type: buy\n    price: \"5\"\n"
                                    "    currency: ELA\n";
    auto text = Text(100 * 1024);
    std::ofstream(d + "/in.txt", std::ios::binary)
        .write(reinterpret_cast<const char*>(text.data()),
               static_cast<std::streamsize>(text.size()));
    PackRequest req;
    req.manifest_path = d + "/m.yaml";
    req.key_path = d + "/creator.key";
    req.overwrite = true;
    auto packer = Packer::Create(req);
    if (!packer.ok()) return Fail(packer.status().ToString());
    auto packed = (*packer)->Pack(d + "/in.txt", d + "/in.capsule.wasm", 0, nullptr);
    if (!packed.ok()) return Fail(packed.status().ToString());
    VerifyOptions vo;
    vo.check_payload = false;
    auto opened = OpenCapsule(d + "/in.capsule.wasm", vo);
    if (!opened.ok()) return Fail(opened.status().ToString());
    capsule.emplace(std::move(*opened));
    LicenseRequest lr;
    lr.model_type = "buy";
    lr.not_before = now - 60;
    auto lic = IssueLicense(*capsule, creator, holder.pub, lr, now);
    if (!lic.ok()) return Fail(lic.status().ToString());
    license_text = *lic;
    runtime::LedgerChange g;
    g.path = d + "/ledger.json";
    g.capsule = capsule->info.id;
    g.holder = holder.pub.address;
    g.now = now;
    if (!runtime::LedgerGrant(g).ok()) return Fail("ledger grant");
    ledger_spec = "file:" + g.path;
    return true;
  }
  bool Fail(const std::string& what) {
    error = what;
    return false;
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

#define CAPSULE_BENCH_SETUP(state)          \
  if (!F().ok) {                            \
    state.SkipWithError(F().error.c_str()); \
    return;                                 \
  }

// Parse + signature check (canonical JSON re-encoding, Ed25519 verify).
void BM_LicenseParse(benchmark::State& state) {
  CAPSULE_BENCH_SETUP(state);
  for (auto _ : state) {
    auto lic = ParseLicense(F().license_text, "bench.lic");
    if (!lic.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(lic);
  }
}
BENCHMARK(BM_LicenseParse)->Unit(benchmark::kMicrosecond);

// Bindings against the verified capsule: issuer, capsule id, manifest hash, holder, model, window.
void BM_LicenseCheck(benchmark::State& state) {
  CAPSULE_BENCH_SETUP(state);
  auto lic = ParseLicense(F().license_text, "bench.lic");
  for (auto _ : state) {
    Status st = CheckLicense(*lic, *F().capsule, F().holder.pub, F().now);
    if (!st.ok()) state.SkipWithError("check failed");
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_LicenseCheck)->Unit(benchmark::kMicrosecond);

// K out of the holder's sealed box, then the key commitment.
void BM_LicenseUnwrapKey(benchmark::State& state) {
  CAPSULE_BENCH_SETUP(state);
  auto lic = ParseLicense(F().license_text, "bench.lic");
  ContentKey k;
  for (auto _ : state) {
    Status st = UnwrapLicenseKey(*lic, *F().capsule, F().holder, &k);
    if (!st.ok()) state.SkipWithError("unwrap failed");
  }
}
BENCHMARK(BM_LicenseUnwrapKey)->Unit(benchmark::kMicrosecond);

// The file ledger: open (read + parse JSON under a shared lock) and one Holds query.
void BM_FileLedgerHolds(benchmark::State& state) {
  CAPSULE_BENCH_SETUP(state);
  for (auto _ : state) {
    auto ledger = runtime::OpenLedger(F().ledger_spec);
    if (!ledger.ok()) {
      state.SkipWithError("ledger open failed");
      break;
    }
    auto h = (*ledger)->Holds(F().capsule->info.id, F().holder.pub.address, F().now);
    if (!h.ok() || !h->holds) state.SkipWithError("not a holder");
  }
}
BENCHMARK(BM_FileLedgerHolds)->Unit(benchmark::kMicrosecond);

// The whole licence step of open: parse + check + unwrap + ledger.
void BM_LicenseWholeCheck(benchmark::State& state) {
  CAPSULE_BENCH_SETUP(state);
  ContentKey k;
  for (auto _ : state) {
    auto lic = ParseLicense(F().license_text, "bench.lic");
    bool good = lic.ok() && CheckLicense(*lic, *F().capsule, F().holder.pub, F().now).ok() &&
                UnwrapLicenseKey(*lic, *F().capsule, F().holder, &k).ok();
    auto ledger = runtime::OpenLedger(F().ledger_spec);
    good = good && ledger.ok() &&
           (*ledger)->Holds(F().capsule->info.id, F().holder.pub.address, F().now).ok();
    if (!good) state.SkipWithError("licence step failed");
  }
}
BENCHMARK(BM_LicenseWholeCheck)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace capsule::bench
