// capsule-run's library: open a capsule for a holder, failing closed at the first failure
// (issue 3): structure → signatures over parts 1–2 → trust → manifest → code checks → licence →
// ledger → business-model rules and state → unwrap K and check its commitment → run the capsule
// logic in the sandbox → stream the output, each chunk checked against the signed index and its
// AEAD tag before a byte of it is released. Output goes to a temporary file renamed on success.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "capsule/status.h"
#include "runtime-min/sandbox/sandbox.h"

namespace capsule::runtime {

struct OpenRequest {
  std::string capsule_path;
  std::string license_path;              // empty: preview (or free content)
  std::string identity_path;             // holder's secret key; empty: default identity
  std::string ledger_spec;               // "file:PATH" or "evm:URL"; required for paid content
  uint64_t confirmations = 2;            // evm: read the chain this many blocks behind the head
  int rpc_timeout_ms = 10000;            // evm: per JSON-RPC request
  std::vector<std::string> trust_paths;  // trusted creator keys (.pub)
  std::string trust_dir;                 // every *.pub in it is trusted
  std::vector<std::string> trust_logic;  // accepted code hashes (hex); empty: any
  std::string ad_dir;                    // where free_with_ads finds its ad capsule
  std::string state_dir;                 // empty: $CAPSULE_HOME/state
  std::string output;                    // path or "-" (stdout)
  bool overwrite = false;
  SandboxLimits limits;
  std::string sandbox_binary;      // the capsule-sandbox executable
  std::function<int64_t()> clock;  // Unix seconds; default: the system clock
  // `capsule-run test`: write nothing (count the output and hash it; the state store is read
  // but never written), take the play count from `plays_used` instead of the state store
  // (which is then not even read) when set, and report every
  // host call answered for the logic (name, arguments, result) to `trace`.
  bool discard_output = false;
  // `open --range FIRST-LAST` (bytes of the content) or `--from SECONDS` (MP3/WAV): the logic
  // sees only that window (runtime-min/seek.h).
  std::string range;
  std::optional<double> from_seconds;
  // Called as output is released (bytes so far, bytes expected), as capsule::Progress.
  std::function<void(uint64_t done, uint64_t total)> progress;
  std::optional<uint64_t> plays_used;
  std::function<void(const std::string& line)> trace;
};

struct OpenReport {
  std::string capsule_id, mode, model, output;
  std::string logic;  // "bundled template NAME" or "custom" (by code hash)
  std::optional<uint64_t> range_offset, range_length;  // --range/--from: the window served
  uint64_t chunks_decrypted = 0;  // content chunks the host decrypted (the ad's not counted)
  std::string output_sha256;      // with discard_output: SHA-256 of what the logic released
  uint64_t bytes = 0;
  uint64_t instructions = 0;       // what the logic ran (the ad's included)
  bool instructions_known = true;  // false: a run was stopped from outside (no count came back)
  std::optional<uint64_t> plays_used, plays_total;
  std::optional<int64_t> expires;
  bool preview = false;
  bool ad_played = false;
  Status status;
  std::string ToJson() const;
};

OpenReport Open(const OpenRequest& req);

// How an open ended, for --json's `outcome` and `test`'s decision: "completed"; "stopped" (the
// logic ran and hit a trap or a limit: exit 8); "refused" (the logic ran and refused:
// refused-by-logic, exit 7 — a paid play was counted before it ran); "rejected" (it never ran:
// exit 2–7).
const char* OutcomeOf(const Status& status);

// The default location of capsule-sandbox: beside the running executable.
std::string DefaultSandboxBinary();

}  // namespace capsule::runtime
