// Fuzz target: a whole `capsule-run open` of a mutated capsule, with fixed keys.
//
// Input: 1 control byte ‖ a capsule. Unless the control byte says otherwise, the capsule is
// RE-SIGNED with the fixed creator key before it is opened, so that mutations of the manifest,
// index, preview, payload and code get past the signature check and reach the deeper parsers,
// the licence and ledger checks, the module checks and the sandbox:
//   1. re-sign: the sections are walked in memory; the signature section (when first) is
//      replaced by one set of hashes h1…hn — the cumulative SHA-256 of every section after it,
//      taken at each `signature_delimiter` (docs/spec/capsule-format.md §4) — signed by the
//      creator (format::AddSignature, as `capsulec sign` does); any other section is kept byte
//      for byte. Optionally the manifest is first re-encoded as canonical JSON, so that
//      structural JSON mutations are not all stopped by the canonical-form check;
//   2. licence (optional): the re-signed capsule is verified (format::OpenCapsule) and
//      format::IssueLicense issues a licence for one of the models its manifest offers, by the
//      creator (always an issuer) to the fixed holder, and a file ledger granting the capsule's
//      id to the holder is written — what `capsulec license issue` and `capsule-run ledger
//      grant` do;
//   3. runtime::Open with the creator's .pub trusted, the holder's identity, that licence and
//      ledger, a fixed clock and a fake play counter (no state store), output discarded
//      (hashed), the logic run in the real sandbox child (fork + exec of capsule-sandbox) with
//      small instruction and time limits.
//
// Control byte (bit 0 = least significant):
//   bits 0–2  == 7: open the capsule as given, NOT re-signed (the signature rejection path)
//   bit 3     issue a licence and a ledger grant (else: preview / free content, no licence)
//   bits 4–5  which offered model the licence is for (index modulo the number of models)
//   bit 6     re-encode the manifest as canonical JSON before re-signing (when it parses)
//   bit 7     reserved (ignored)
//
// Determinism: the keys are derived from fixed seeds (format::GenerateIdentity), the clock is
// fixed, and libsodium's randomness (licence id, sealed-box ephemeral keys) is replaced, for
// this process only, by a counter-based generator reset before every input
// (randombytes_set_implementation: a libsodium API, no hook in the library). So the same input
// always issues the same licence and takes the same path.
//
// Findings it flags beyond sanitizer reports: the sandbox child dying (sandbox-crashed: the
// interpreter or the child's glue crashed, or the seccomp filter killed it) and an `internal`
// error from Open.
//
// CAPSULE_FUZZ_VERBOSE=1: print what each input did (how it was signed, whether a licence was
// issued, Open's JSON report) — to check that the seeds reach the paths they are meant to.
// CAPSULE_FUZZ_OPEN_KEYS=DIR: write the fixed identities (creator.key/.pub, holder.key/.pub)
// to DIR and exit — tests/fuzz/make_seeds.sh packs the seed capsules with them.
#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "format/canonical_json.h"
#include "format/container.h"
#include "format/crypto.h"
#include "format/keys.h"
#include "format/license.h"
#include "format/signature.h"
#include "format/wasm.h"
#include "runtime-min/runtime.h"

#ifndef CAPSULE_FUZZ_SANDBOX_BINARY
#define CAPSULE_FUZZ_SANDBOX_BINARY "capsule-sandbox"
#endif

namespace {
namespace fmt = capsule::format;

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z

// ---- deterministic randomness (this process only) ----
uint64_t g_rng = 0;
uint64_t NextRandom() {  // SplitMix64
  uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
const char* RngName() { return "capsule-fuzz-splitmix64"; }
uint32_t RngRandom() { return static_cast<uint32_t>(NextRandom() >> 32); }
void RngBuf(void* const buf, const size_t size) {
  auto* p = static_cast<uint8_t*>(buf);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = NextRandom();
    std::memcpy(p + i, &v, std::min<size_t>(8, size - i));
  }
}
randombytes_implementation g_rng_impl = {RngName, RngRandom, nullptr, nullptr, RngBuf, nullptr};

// ---- fixed identities and the scratch directory ----
fmt::SecretIdentity Identity(uint8_t fill) {
  uint8_t seed[96];
  for (size_t i = 0; i < sizeof seed; ++i) seed[i] = static_cast<uint8_t>(fill + i);
  auto id = fmt::GenerateIdentity(seed);
  if (!id.ok()) {
    std::fprintf(stderr, "fuzz_open: GenerateIdentity: %s\n", id.status().ToString().c_str());
    std::abort();
  }
  return *id;
}

struct Env {
  std::string dir;
  fmt::SecretIdentity creator, holder;
  std::string creator_pub, holder_key, capsule, license, ledger, trusted, ads, state;
  std::string sandbox;
};

Env* g_env = nullptr;
bool g_verbose = false;  // CAPSULE_FUZZ_VERBOSE=1: print each open's report (seed checks)

void RemoveTree(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = dir + "/" + n;
      struct stat st;
      if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(p);
      } else {
        unlink(p.c_str());
      }
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

void WriteKeys(const std::string& dir, const Env& e) {
  for (auto [id, name] : {std::pair{&e.creator, "creator"}, std::pair{&e.holder, "holder"}}) {
    capsule::Status s =
        fmt::WriteIdentity(*id, dir + "/" + name + ".key", dir + "/" + name + ".pub", std::nullopt,
                           /*overwrite=*/true);
    if (!s.ok()) {
      std::fprintf(stderr, "fuzz_open: %s\n", s.ToString().c_str());
      std::abort();
    }
  }
}

bool WriteText(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

// ---- re-signing in memory ----
struct Section {
  size_t start = 0, end = 0;  // the whole section (id byte … end)
  bool custom = false;
  std::string name;
  size_t content = 0;  // custom: first byte after the name
};

std::optional<std::vector<Section>> Walk(const uint8_t* b, size_t n) {
  if (n < 8 || std::memcmp(b, fmt::kWasmPreamble, 8) != 0) return std::nullopt;
  std::vector<Section> out;
  for (size_t i = 8; i < n;) {
    Section s;
    s.start = i;
    s.custom = b[i] == 0;
    ++i;
    uint32_t len = 0;
    size_t k = fmt::GetLeb128U32(fmt::ByteView(b + i, n - i), &len);
    if (k == 0 || len > n - i - k) return std::nullopt;
    i += k;
    s.end = i + len;
    s.content = i;
    if (s.custom) {
      uint32_t nl = 0;
      size_t kk = fmt::GetLeb128U32(fmt::ByteView(b + i, s.end - i), &nl);
      if (kk == 0 || nl > s.end - i - kk) return std::nullopt;
      s.name.assign(reinterpret_cast<const char*>(b + i + kk), nl);
      s.content = i + kk + nl;
    }
    i = s.end;
    out.push_back(std::move(s));
    if (out.size() > 4096) return std::nullopt;
  }
  return out;
}

// The capsule with its signature section replaced by a creator signature over the current
// parts (and the manifest canonicalised when asked). nullopt when the framing is too broken to
// find sections: the capsule is then opened as given.
std::optional<fmt::Bytes> Resign(const uint8_t* b, size_t n, bool canonical_manifest,
                                 const fmt::SecretIdentity& key) {
  auto sections = Walk(b, n);
  if (!sections) return std::nullopt;
  size_t first = 0;
  if (!sections->empty() && (*sections)[0].custom && (*sections)[0].name == fmt::kSignatureSection)
    first = 1;
  fmt::Bytes rest;
  fmt::Sha256 rolling;
  std::vector<fmt::Hash32> hashes;
  for (size_t i = first; i < sections->size(); ++i) {
    const Section& s = (*sections)[i];
    fmt::Bytes enc(b + s.start, b + s.end);
    if (canonical_manifest && s.custom && s.name == fmt::kManifestSection) {
      auto j = nlohmann::json::parse(b + s.content, b + s.end, nullptr, /*exceptions=*/false);
      if (!j.is_discarded()) {
        auto c = fmt::CanonicalJson(j);
        if (c.ok()) enc = fmt::CustomSection(fmt::kManifestSection, fmt::AsBytes(*c));
      }
    }
    rolling.Update(enc);
    rest.insert(rest.end(), enc.begin(), enc.end());
    if (s.custom && s.name == fmt::kDelimiterSection && hashes.size() < fmt::kMaxHashes)
      hashes.push_back(rolling.Peek());
  }
  fmt::SignatureData sigs;
  if (!fmt::AddSignature(sigs, hashes, key.ed25519_sk.data(), key.pub.ed25519.data()).ok())
    return std::nullopt;
  fmt::Bytes out(fmt::kWasmPreamble, fmt::kWasmPreamble + 8);
  fmt::Bytes sig = fmt::CustomSection(fmt::kSignatureSection, sigs.Serialize());
  out.insert(out.end(), sig.begin(), sig.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// ---- licence and ledger, as `capsulec license issue` and `capsule-run ledger grant` ----
bool IssueLicenseAndGrant(const Env& e, unsigned pick) {
  fmt::VerifyOptions vo;
  vo.check_payload = false;
  auto c = fmt::OpenCapsule(e.capsule, vo);
  if (!c.ok()) return false;
  std::vector<std::string> types;
  const nlohmann::json& models =
      c->manifest.contains("models") ? c->manifest["models"] : nlohmann::json::array();
  if (models.is_array())
    for (const auto& m : models)
      if (m.is_object() && m.contains("type") && m["type"].is_string())
        types.push_back(m["type"].get<std::string>());
  if (types.empty()) return false;
  fmt::LicenseRequest req;
  req.model_type = types[pick % types.size()];
  req.not_before = kNow - 60;
  auto lic = fmt::IssueLicense(*c, e.creator, e.holder.pub, req, kNow);
  if (!lic.ok()) return false;
  nlohmann::json ledger = {{"format", "capsule-file-ledger"},
                           {"version", 1},
                           {"grants",
                            {{{"capsule", fmt::HexEncode(c->info.id)},
                              {"holder", "0x" + fmt::HexEncode(e.holder.pub.address)},
                              {"granted_at", kNow - 60},
                              {"expires", nullptr}}}}};
  return WriteText(e.license, *lic) && WriteText(e.ledger, ledger.dump(2) + "\n");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Before anything calls sodium_init (CryptoInit): libsodium requires it.
  randombytes_set_implementation(&g_rng_impl);
  g_env = new Env;
  Env& e = *g_env;
  e.creator = Identity(0x10);
  e.holder = Identity(0x80);
  g_verbose = std::getenv("CAPSULE_FUZZ_VERBOSE") != nullptr;
  if (const char* dir = std::getenv("CAPSULE_FUZZ_OPEN_KEYS")) {
    WriteKeys(dir, e);
    std::exit(0);
  }
  std::string base = "/dev/shm";
  struct stat st;
  if (stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || access(base.c_str(), W_OK) != 0) {
    const char* t = std::getenv("TMPDIR");
    base = (t && *t) ? t : "/tmp";
  }
  // Fixed-width pid: the paths end up in error messages, whose lengths should not vary by run.
  char pid[16];
  std::snprintf(pid, sizeof pid, "%07d", static_cast<int>(getpid()));
  e.dir = base + "/capsule-fuzz-open-" + pid;
  RemoveTree(e.dir);
  e.trusted = e.dir + "/trusted";  // empty: only --trust creator.pub counts
  e.ads = e.dir + "/ads";          // empty: free_with_ads finds no ad (ad-missing)
  e.state = e.dir + "/state";
  for (const auto& d : {e.dir, e.trusted, e.ads, e.state})
    if (mkdir(d.c_str(), 0700) != 0) {
      std::perror(d.c_str());
      std::abort();
    }
  WriteKeys(e.dir, e);
  e.creator_pub = e.dir + "/creator.pub";
  e.holder_key = e.dir + "/holder.key";
  e.capsule = e.dir + "/fuzz.capsule.wasm";
  e.license = e.dir + "/fuzz.lic";
  e.ledger = e.dir + "/ledger.json";
  const char* sb = std::getenv("CAPSULE_SANDBOX_BINARY");
  e.sandbox = (sb && *sb) ? sb : CAPSULE_FUZZ_SANDBOX_BINARY;
  if (access(e.sandbox.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "fuzz_open: sandbox binary %s not found (set CAPSULE_SANDBOX_BINARY)\n",
                 e.sandbox.c_str());
    std::abort();
  }
  std::atexit([] { RemoveTree(g_env->dir); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 + 8) return 0;
  const Env& e = *g_env;
  g_rng = 0x5eed;  // the same input issues the same licence
  const uint8_t ctl = data[0];
  const uint8_t* cap = data + 1;
  const size_t cap_size = size - 1;
  const bool resign = (ctl & 7) != 7;
  const bool want_license = ctl & 0x08;
  const unsigned pick = (ctl >> 4) & 3;
  const bool canonical = ctl & 0x40;

  std::optional<fmt::Bytes> signed_bytes;
  if (resign) signed_bytes = Resign(cap, cap_size, canonical, e.creator);
  {
    const uint8_t* p = signed_bytes ? signed_bytes->data() : cap;
    size_t n = signed_bytes ? signed_bytes->size() : cap_size;
    if (!WriteText(e.capsule, std::string(reinterpret_cast<const char*>(p), n))) return 0;
  }
  unlink(e.license.c_str());
  unlink(e.ledger.c_str());
  const bool licensed = want_license && IssueLicenseAndGrant(e, pick);

  capsule::runtime::OpenRequest req;
  req.capsule_path = e.capsule;
  req.license_path = licensed ? e.license : "";
  req.identity_path = e.holder_key;
  req.ledger_spec = "file:" + e.ledger;
  req.trust_paths = {e.creator_pub};
  req.trust_dir = e.trusted;
  req.ad_dir = e.ads;
  req.state_dir = e.state;
  req.discard_output = true;
  req.plays_used = 0;
  req.clock = [] { return kNow; };
  req.sandbox_binary = e.sandbox;
  req.limits.max_instructions = 20'000'000;
  req.limits.wall_ms = 3'000;
  capsule::runtime::OpenReport r = capsule::runtime::Open(req);
  std::string report = r.ToJson();
  if (g_verbose)
    std::fprintf(stderr, "fuzz_open: ctl 0x%02x, %s, %s: %s\n", ctl,
                 !resign        ? "as given"
                 : signed_bytes ? "re-signed"
                                : "unparsable, as given",
                 licensed ? "licensed" : "no licence", report.c_str());
  if (r.status.code() == capsule::Code::SandboxCrashed ||
      r.status.code() == capsule::Code::Internal) {
    std::fprintf(stderr, "fuzz_open: %s\n", r.status.ToString().c_str());
    __builtin_trap();
  }
  return 0;
}
