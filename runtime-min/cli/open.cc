// capsule-run open: verify, check licence, ledger and rules, then run the capsule's logic in
// the sandbox and write what it releases.
#include <cctype>
#include <iostream>

#include "format/progress.h"
#include "runtime-min/cli/cli.h"
#include "runtime-min/runtime.h"

namespace capsule_run {

void RegisterOpen(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::runtime::OpenRequest>();
  cmd.app = root.add_subcommand("open", "Open a capsule for its holder and write the content");
  cmd.app->footer(
      "Checks, in order, failing closed: structure → signatures → trusted creator → manifest →\n"
      "capsule code → licence → ledger → business-model rules → content key → sandboxed logic.\n"
      "Without --license, serves the capsule's clear preview (and says so), or free content.\n"
      "The output appears (atomically) only when everything succeeded; with -o - (or an existing\n"
      "device or FIFO, e.g. /dev/null) it streams. --range and --from release part of the "
      "content,\n"
      "reading only the chunks they need.\n\n"
      "Examples:\n"
      "  capsule-run open song.capsule.wasm --trust alice.pub --license song.lic \\\n"
      "      --identity bob.key --ledger file:ledger.json -o song.mp3\n"
      "  capsule-run open song.capsule.wasm --license song.lic --identity bob.key \\\n"
      "      --ledger evm:https://api.elastos.io/esc --confirmations 3 -o song.mp3\n"
      "  capsule-run open song.capsule.wasm --trust alice.pub -o preview.mp3\n"
      "  capsule-run open song.capsule.wasm --license song.lic --identity bob.key \\\n"
      "      --ledger file:ledger.json --from 90 -o - | ffplay -nodisp -");
  cmd.app->add_option("CAPSULE", req->capsule_path, "capsule file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.app->add_option("--license,-l", req->license_path, "licence file (from an issuer)");
  cmd.app->add_option("--identity,-i", req->identity_path,
                      "holder's secret key (default identity)");
  AddLedgerOptions(cmd.app, *req);
  cmd.app->add_option("--trust", req->trust_paths, "trusted creator key (.pub); repeatable");
  cmd.app->add_option("--trust-dir", req->trust_dir,
                      "trust every .pub in this directory "
                      "(default $CAPSULE_HOME/trusted)");
  AddTrustLogicOption(cmd.app, *req);
  cmd.app->add_option("--ad-dir", req->ad_dir, "directory of ad capsules (free_with_ads)");
  cmd.app->add_option("--state-dir", req->state_dir, "state store (default $CAPSULE_HOME/state)");
  cmd.app->add_option("-o,--output", req->output, "output file, or - for stdout")->required();
  AddSeekOptions(cmd.app, *req);
  AddLimitOptions(cmd.app, *req);
  cmd.app->add_flag("--force", req->overwrite, "replace an existing output");
  cmd.app->add_flag("--json", cmd.json, "print the outcome as JSON (on stderr with -o -)");
  cmd.run = [req, &cmd]() {
    if (req->sandbox_binary.empty()) req->sandbox_binary = capsule::runtime::DefaultSandboxBinary();
    req->progress = capsule::format::TerminalProgress(cmd.json, "opening " + req->capsule_path);
    auto r = capsule::runtime::Open(*req);
    if (req->progress) capsule::format::EndTerminalProgress(cmd.json);
    std::ostream& info = req->output == "-" ? std::cerr : std::cout;
    if (cmd.json) info << r.ToJson() << "\n";
    if (!r.status.ok()) {
      std::cerr << "capsule-run: " << r.status.ToString() << "\n";
      return capsule::ExitCode(r.status.code());
    }
    if (r.preview)
      std::cerr << "capsule-run: no licence: served the clear preview (" << r.bytes << " bytes)\n";
    else if (!cmd.json)
      info << r.output << ": " << r.bytes << " bytes released (" << r.model
           << (r.ad_played ? ", ad played first" : "") << "; " << r.logic << ")\n";
    return 0;
  };
}

void AddSeekOptions(CLI::App* app, capsule::runtime::OpenRequest& req) {
  auto* range =
      app->add_option("--range", req.range,
                      "FIRST-LAST or FIRST-: release only these bytes of the content "
                      "(inclusive, as HTTP ranges)")
          ->check(CLI::Validator(
              [](std::string& v) { return v.empty() ? "expected FIRST-LAST or FIRST-" : ""; }, "",
              "non-empty"));
  app->add_option_function<double>(
         "--from", [&req](const double& s) { req.from_seconds = s; },
         "SECONDS (decimal): start the audio there (WAV: that sample, behind a rewritten "
         "header; MP3: the first frame at that time, exact for CBR and within the file's seek "
         "table for VBR, about 1 % of the duration, behind a Xing frame for what follows)")
      ->check(CLI::Validator(
          [](std::string& v) {
            return !v.empty() && v.find_first_not_of("0123456789.eE+") == std::string::npos
                       ? ""
                       : "expected seconds as a decimal number, e.g. 90 or 12.5";
          },
          "", "decimal"))
      ->check(CLI::NonNegativeNumber)
      ->excludes(range);
}

void AddTrustLogicOption(CLI::App* app, capsule::runtime::OpenRequest& req) {
  app->add_option("--trust-logic", req.trust_logic,
                  "accept only capsule code with this SHA-256 (as inspect shows it); repeatable")
      ->transform(CLI::Validator(
          [](std::string& v) {
            if (v.size() != 64 ||
                v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
              return std::string("expected a SHA-256: 64 hex digits, as `capsulec inspect` shows");
            for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return std::string();
          },
          "HASH", "sha256"));
}

void AddLimitOptions(CLI::App* app, capsule::runtime::OpenRequest& req) {
  app->add_option("--max-instructions", req.limits.max_instructions,
                  "instruction budget of the capsule logic")
      ->default_val(req.limits.max_instructions);
  app->add_option("--max-time-ms", req.limits.wall_ms,
                  "wall-clock limit of the logic (output waits excluded)")
      ->default_val(req.limits.wall_ms);
  app->add_option_function<uint32_t>(
         "--max-memory-mib",
         [&req](const uint32_t& mib) { req.limits.max_memory_bytes = mib << 20; },  // ≤ 4095: fits
         "largest memory maximum a capsule may declare")
      ->default_val(req.limits.max_memory_bytes >> 20)
      ->check(CLI::Range(1u, 4095u));
}

void AddLedgerOptions(CLI::App* app, capsule::runtime::OpenRequest& req) {
  app->add_option("--ledger", req.ledger_spec,
                  "who holds tokens: evm:URL (the access-token contract on the capsule's chain; "
                  "https unless loopback) or file:PATH (development ledger)");
  app->add_option("--confirmations", req.confirmations,
                  "evm: read the chain this many blocks behind the head")
      ->default_val(req.confirmations)
      ->check(CLI::NonNegativeNumber);
  app->add_option("--rpc-timeout-ms", req.rpc_timeout_ms,
                  "evm: time limit of each JSON-RPC request")
      ->default_val(req.rpc_timeout_ms)
      ->check(CLI::Range(100, 600000));
}

}  // namespace capsule_run
