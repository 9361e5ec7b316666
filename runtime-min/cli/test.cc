// capsule-run test: run a capsule's real checks and logic with a fake clock and a fake play
// counter, writing no content anywhere (the output is counted and hashed), for CI loops over
// capsule logic. --trace prints every host call answered for the logic.
#include <iostream>
#include <optional>

#include "format/time.h"
#include "runtime-min/cli/cli.h"
#include "runtime-min/runtime.h"

namespace capsule_run {

void RegisterTest(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::runtime::OpenRequest>();
  auto at = std::make_shared<std::string>();
  auto plays = std::make_shared<int64_t>(-1);
  auto trace = std::make_shared<bool>(false);
  cmd.app = root.add_subcommand(
      "test", "Dry-run an open with a fake clock and play counter; writes no content");
  cmd.app->footer(
      "Runs every check of `open` and the capsule's logic in the sandbox, but writes nothing:\n"
      "the output is counted, and hashed (SHA-256) when that reveals nothing: free content, a\n"
      "preview, or a holder who is one of the capsule's issuers (the creator is). The state store\n"
      "(plays used, first play, the clock it has seen) is read but never written, so a test\n"
      "counts no play. --plays-used replaces the state store, which is then not read either.\n"
      "--trace prints each host call the runtime answers for the logic (reads of the manifest,\n"
      "terms and preview are served from one answer each).\n\n"
      "Example:\n"
      "  capsule-run test song.capsule.wasm --trust alice.pub --identity bob.key \\\n"
      "      --license song.lic --at 2027-01-01T00:00Z --plays-used 2 --ledger file:ledger.json "
      "--trace");
  cmd.app->add_option("CAPSULE", req->capsule_path, "capsule file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.app->add_option("--as,--identity,-i", req->identity_path,
                      "holder's secret key (default identity)");
  cmd.app->add_option("--license,-l", req->license_path, "licence file");
  AddLedgerOptions(cmd.app, *req);
  cmd.app->add_option("--trust", req->trust_paths, "trusted creator key (.pub); repeatable");
  cmd.app->add_option("--trust-dir", req->trust_dir, "trust every .pub in this directory");
  AddTrustLogicOption(cmd.app, *req);
  cmd.app->add_option("--ad-dir", req->ad_dir, "directory of ad capsules (free_with_ads)");
  cmd.app->add_option("--state-dir", req->state_dir,
                      "state store, read only (default $CAPSULE_HOME/state)");
  AddSeekOptions(cmd.app, *req);
  AddLimitOptions(cmd.app, *req);
  cmd.app->add_option("--at", *at, "fake clock, UTC: 2027-01-01T00:00Z");
  cmd.app->add_option("--plays-used", *plays, "fake play counter (instead of the state store)")
      ->check(CLI::NonNegativeNumber);
  cmd.app->add_flag("--trace", *trace, "print every host call (on stderr)");
  cmd.app->add_flag("--json", cmd.json, "print the decision as JSON");
  cmd.run = [req, at, plays, trace, &cmd]() {
    if (!at->empty()) {
      std::optional<int64_t> t = capsule::format::ParseUtcTime(*at);
      if (!t)
        return Fail(capsule::Status(capsule::Code::Usage,
                                    "--at " + *at +
                                        ": expected UTC like 2027-01-01T00:00Z, 2027-01-01 or "
                                        "@UNIX-SECONDS"),
                    cmd.json);
      req->clock = [t = *t]() { return t; };
    }
    if (*plays >= 0) req->plays_used = static_cast<uint64_t>(*plays);
    if (*trace)
      req->trace = [](const std::string& line) { std::cerr << "trace: " << line << "\n"; };
    req->discard_output = true;
    req->output = "(discarded)";
    if (req->sandbox_binary.empty()) req->sandbox_binary = capsule::runtime::DefaultSandboxBinary();
    auto r = capsule::runtime::Open(*req);
    if (cmd.json) std::cout << r.ToJson() << "\n";
    if (!r.status.ok()) {
      std::cerr << "capsule-run: " << r.status.ToString() << "\n";
      if (!cmd.json) {
        std::cout << "decision: " << capsule::runtime::OutcomeOf(r.status) << " ("
                  << capsule::ReasonCode(r.status.code()) << ")\n";
        if (!r.logic.empty()) std::cout << "logic: " << r.logic << "\n";
        if (r.instructions_known && r.instructions > 0)
          std::cout << "instructions: " << r.instructions << "\n";
      }
      return capsule::ExitCode(r.status.code());
    }
    if (!cmd.json) {
      std::cout << "decision: completed (" << r.mode << ", " << r.model
                << (r.ad_played ? ", ad played first" : "") << ")\n"
                << "logic: " << r.logic << "\n"
                << "output: " << r.bytes << " bytes"
                << (r.output_sha256.empty()
                        ? " (not hashed: licensed content is hashed only for its issuers)"
                        : ", sha256 " + r.output_sha256)
                << "\n";
      if (r.plays_used)
        std::cout << "plays: " << *r.plays_used
                  << (r.plays_total ? " of " + std::to_string(*r.plays_total) : "")
                  << " after this open\n";
      std::cout << "instructions: " << r.instructions << "\n";
    }
    return 0;
  };
}

}  // namespace capsule_run
