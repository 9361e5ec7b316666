// capsule-run: the minimal verifying runtime's CLI. Thin: flags → runtime library → text/--json.
// Exit codes (docs/exit-codes.md): 0 completed (also "preview served"), 2 usage, 3 I/O,
// 4 malformed, 5 integrity, 6 untrusted signer, 7 refused by policy, 8 sandbox.
#include <signal.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/canonical_json.h"
#include "format/cli_args.h"
#include "format/crypto.h"
#include "format/file.h"
#include "runtime-min/cli/cli.h"

namespace capsule_run {

int Fail(const capsule::Status& s, bool json) {
  std::cerr << "capsule-run: " << s.ToString() << "\n";
  if (json) {
    nlohmann::json j = {{"ok", false},
                        {"error",
                         {{"code", std::string(capsule::ReasonCode(s.code()))},
                          {"exit_code", capsule::ExitCode(s.code())},
                          {"message", s.detail()}}}};
    std::cout << capsule::format::ReportJson(j) << "\n";
  }
  return capsule::ExitCode(s.code());
}

}  // namespace capsule_run

// The command's result stands, but say so when it ran without libcrypto (format/crypto.h).
static int WarnedAbout(int rc) {
  const std::string w = capsule::format::BulkCryptoWarning();
  if (!w.empty()) std::cerr << "capsule-run: warning: " << w << "\n";
  return rc;
}

int main(int argc, char** argv) {
  // Before anything opens a file: a closed stdout must not become the capsule, the ledger or the
  // sandbox's socket. A reader that closes the pipe (-o - | head) is an I/O error with a
  // message and an outcome, not a silent death by SIGPIPE (the sandbox child gets the default).
  capsule::format::ReserveStandardDescriptors();
  capsule::format::RemoveTemporariesOnSignals();
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "capsule-run — open data capsules for entitled holders, in a sandbox.\n\n"
      "  capsule-run verify song.capsule.wasm --trust alice.pub\n"
      "  capsule-run open song.capsule.wasm --trust alice.pub --license song.lic \\\n"
      "      --ledger file:ledger.json -o song.mp3\n"
      "  capsule-run ledger grant --ledger file:ledger.json --capsule song.capsule.wasm --holder "
      "bob.pub\n\n"
      "Exit codes: 0 completed, 1 internal error, 2 usage, 3 I/O, 4 malformed, 5 integrity\n"
      "failure, 6 untrusted signer, 7 refused by policy, 8 sandbox (trap or limit).",
      "capsule-run"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", std::function<std::string()>([] {
        return std::string("capsule-run 0.1.0 (capsule format 1, ABI capsule_v1)\n") +
               capsule::format::CryptoVersions();
      }));
  // When the first argument names a subcommand, only that one is built: building all four
  // (their options, validators and help text) took ~0.15 ms of an open's start-up. Any other
  // first argument (--help, --version, a typo) gets all four, for the help and the errors.
  using Register = void (*)(CLI::App&, capsule_run::Command&);
  const std::pair<const char*, Register> all[] = {{"verify", capsule_run::RegisterVerify},
                                                  {"open", capsule_run::RegisterOpen},
                                                  {"ledger", capsule_run::RegisterLedger},
                                                  {"test", capsule_run::RegisterTest}};
  const std::string_view first = argc > 1 ? argv[1] : "";
  const bool named =
      std::any_of(std::begin(all), std::end(all), [&](const auto& c) { return first == c.first; });
  std::vector<capsule_run::Command> cmds(std::size(all));
  for (size_t i = 0; i < std::size(all); ++i)
    if (!named || first == all[i].first) all[i].second(app, cmds[i]);
  if (auto unknown = capsule::format::UnknownSubcommand(app, argc, argv)) {
    std::cerr << *unknown << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return capsule::format::FinishStdout(rc == 0 ? 0 : 2, "capsule-run");
  }
  for (auto& c : cmds)
    if (c.app && c.app->parsed())
      return capsule::format::FinishStdout(WarnedAbout(c.run()), "capsule-run");
  for (auto& c : cmds)  // nested subcommands (ledger grant …) report through their parent
    if (c.app && c.app->count() > 0)
      return capsule::format::FinishStdout(WarnedAbout(c.run()), "capsule-run");
  return 2;
}
