// The Capsule SDK's public C++ API: pack, sign, verify, inspect, unpack, keygen, mint.
// Rule: public headers include only the standard library and other public headers; no
// sodium/OpenSSL/zstd/Binaryen/wabt/yaml/json types appear here. Reports are plain structs
// plus their JSON rendering (a string) for `--json`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "capsule/status.h"

namespace capsule {

using Progress = std::function<void(uint64_t done, uint64_t total)>;

// ---- keygen ----
struct KeygenRequest {
  std::string key_path;  // NAME.key (the .pub goes beside it)
  std::string pub_path;
  bool protect = false;  // ask for a passphrase (CAPSULE_PASSPHRASE / _FILE / terminal)
  bool overwrite = false;
};
struct KeygenResult {
  std::string key_path, pub_path, key_id, did_key, ed25519, x25519, address;
  std::string ToJson() const;
};
Result<KeygenResult> Keygen(const KeygenRequest& req);
// The default identity's key path ($CAPSULE_HOME/default.key).
std::string DefaultKeyPath();

// ---- pack ----
struct PackRequest {
  std::string manifest_path;
  std::string key_path;                       // creator's secret key
  std::vector<std::string> issuer_paths;      // extra issuers (.pub); the creator is always one
  std::vector<std::string> cosign_key_paths;  // co-signers' secret keys
  uint32_t chunk_size = 64 * 1024;
  std::string compress = "auto";  // auto | always | never
  // Threads that seal one capsule's chunks, the calling thread included; 0 = every core
  // (std::thread::hardware_concurrency()). Never changes the capsule's bytes. `capsulec pack`
  // sets max(1, --threads / --jobs).
  unsigned threads = 0;
  std::string seed_path;  // --reproducible
  bool overwrite = false;
  std::string
      logic_path;  // custom capsule logic (.wasm from `capsulec logic build`); empty: template
  // Which bundled template when there is no custom logic: "auto" (chosen from the manifest's
  // models, docs/spec/host-abi.md §4) or a template's name, e.g. "watermark-text".
  std::string template_name = "auto";
};
struct PackedCapsule {
  std::string input, output, capsule_id, media_type, code_sha256;
  uint64_t input_size = 0, capsule_size = 0, chunk_count = 0, compressed_chunks = 0;
  uint64_t duration_ms = 0, preview_size = 0;
  bool free = false;
  // The manifest carries an EIP-712 creator binding (the key's EVM address is creator.address).
  bool creator_binding = false;
  std::string logic;  // "bundled template NAME" or "custom"
  std::string ToJson() const;
};
class Packer {
 public:
  static Result<std::unique_ptr<Packer>> Create(const PackRequest& req);
  virtual ~Packer() = default;
  // Packs one input. `position` is the input's place in the run (reproducible derivation).
  virtual Result<PackedCapsule> Pack(const std::string& input, const std::string& output,
                                     uint64_t position, const Progress& progress) = 0;
};
// song.mp3 → song.capsule.wasm (in `out_dir` when given, else beside the input).
std::string DefaultCapsuleName(const std::string& input, const std::string& out_dir);

// ---- verify / inspect ----
struct VerifyRequest {
  std::string path;
  std::vector<std::string> trust_paths;  // .pub files; empty = trust not evaluated
  bool check_payload = true;
  Progress progress;  // called as payload chunks are checked
  // Checks the creator binding of the verified manifest (canonical JSON bytes): "valid" or
  // "absent", or a CreatorBindingInvalid error. The tools pass chain::CreatorBindingHook (the
  // format library cannot depend on the chain library); unset: not checked.
  std::function<Result<std::string>(const std::string& manifest_json)> check_binding;
};
struct VerifyReport {
  std::string path, capsule_id;
  bool integrity = false;
  bool integrity_checked = true;     // false: the capsule was not examined (a --trust file
                                     // that could not be used, or an unreadable capsule)
  std::optional<bool> trusted;       // nullopt: no --trust given
  std::vector<std::string> signers;  // identified: "creator <hex>" / "co-signer <hex>"
  size_t signatures = 0;             // all signatures over the capsule's parts
  uint64_t chunks = 0;
  std::string creator_binding;  // "valid" / "absent"; empty: not checked
  Status status;
  std::string ToJson() const;
  std::string ToText() const;
};
VerifyReport Verify(const VerifyRequest& req);

// Inspect verifies parts 1–2 (never shows unverified manifest bytes) and reports the layout.
Result<std::string> InspectJson(const std::string& path);
Result<std::string> InspectText(const std::string& path);

// ---- sign (co-signature) ----
struct SignRequest {
  std::string path, key_path;
  std::string output;  // empty with in_place
  bool in_place = false;
  std::string detached_path;  // write the signature section content here instead
  bool overwrite = false;
};
struct SignResult {
  std::string output, signer, key_id;
  size_t signatures = 0;
  std::string ToJson() const;
};
Result<SignResult> Sign(const SignRequest& req);

// ---- unpack ----
struct UnpackRequest {
  std::string path, key_path, output;
  bool overwrite = false;
};
struct UnpackResult {
  std::string output, capsule_id;
  uint64_t bytes = 0;
  std::string ToJson() const;
};
Result<UnpackResult> Unpack(const UnpackRequest& req, const Progress& progress);

// ---- capsule logic (custom part 1) ----
struct LogicBuildRequest {
  std::string input;       // FILE.c (clang-14 + wasm-ld-14) or FILE.wasm (check + optimise only)
  std::string output;      // written atomically; an existing module is replaced (a rebuild)
  bool overwrite = false;  // also replace an existing file that is not a WebAssembly module
};
struct LogicBuildResult {
  std::string input, output, code_sha256;  // code hash as `inspect` and --trust-logic show it
  uint64_t unoptimized_size = 0, size = 0;
  std::string ToJson() const;
};
// `diagnostics` receives the compiler's and linker's messages (also on failure).
Result<LogicBuildResult> BuildLogic(const LogicBuildRequest& req, std::string* diagnostics);
struct LogicNewResult {
  std::string dir;
  std::vector<std::string> files;
  std::string ToJson() const;
};
// Creates NAME/ with NAME.c, capsule_v1.h, test.sh and README.md. OutputExists if NAME exists.
Result<LogicNewResult> NewLogicProject(const std::string& name);

// ---- mint: ERC-1155 token metadata (docs/spec/token-metadata.md) ----
struct MintRequest {
  std::string path;          // the capsule; verified in full (integrity) before anything else
  std::string output;        // the metadata JSON; "{id}" in it becomes the 64-hex token id
  std::string uri_base;      // where the preview (and an image file) go, e.g. "ipfs://<CID>"
  std::string image;         // an image URI, or an image file copied beside the output
  std::string preview_uri;   // animation_url; default <uri_base>/<64-hex id>.preview.<ext>
  std::string external_url;  // optional link to the creator's page
  bool overwrite = false;    // replace existing outputs
  Progress progress;         // the verify pass, then the CID pass
};
struct MintResult {
  std::string token_id;      // decimal
  std::string token_id_hex;  // 64 lowercase hex digits (the ERC-1155 {id} form)
  std::string capsule_id, capsule_cid, capsule_cid_v1, manifest_sha256;
  std::string metadata;      // the file written; publish it as <64-hex id>.json (ERC-1155 {id})
  std::string preview_file;  // written beside the metadata; empty when the capsule has none
  std::string preview_cid;   // its CIDv0 as `ipfs add` computes it (empty without a preview)
  std::string image_file;    // copied beside the metadata when --image named a file
  std::string animation_url;
  std::string ToJson() const;
  std::string ToText() const;
};
// Needs a `chain` block in the manifest (Usage otherwise).
Result<MintResult> Mint(const MintRequest& req);

}  // namespace capsule
