// capsulec: the creator-facing CLI. Thin: parse flags, call the library, render the result.
// Exit codes (docs/exit-codes.md): 0 ok, 1 internal, 2 usage, 3 I/O, 4 malformed,
// 5 integrity, 6 untrusted signer, 7 refused by policy, 8 sandbox.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capsulec/cli.h"
#include "format/canonical_json.h"
#include "format/cli_args.h"
#include "format/crypto.h"
#include "format/file.h"
#include "format/keys.h"
#include "format/progress.h"

namespace capsulec {

int Fail(const capsule::Status& s, bool json, const std::string& input, const std::string& output) {
  std::cerr << "capsulec: " << s.ToString() << "\n";
  if (json) {
    nlohmann::json j = {{"ok", false},
                        {"error",
                         {{"code", std::string(capsule::ReasonCode(s.code()))},
                          {"exit_code", capsule::ExitCode(s.code())},
                          {"message", s.detail()}}}};
    if (!input.empty()) j["input"] = input;
    if (!output.empty()) j["output"] = output;
    std::cout << capsule::format::ReportJson(j) << "\n";
  }
  return capsule::ExitCode(s.code());
}

capsule::Result<std::string> ResolveKey(const std::string& flag) {
  return capsule::format::GivenOrDefaultKey(flag, "--key");
}

capsule::Progress MakeProgress(bool json, const std::string& label) {
  return capsule::format::TerminalProgress(json, label);
}

void EndProgress(bool json) { capsule::format::EndTerminalProgress(json); }

}  // namespace capsulec

// The command's result stands, but say so when it ran without libcrypto (format/crypto.h).
static int WarnedAbout(int rc) {
  const std::string w = capsule::format::BulkCryptoWarning();
  if (!w.empty()) std::cerr << "capsulec: warning: " << w << "\n";
  return rc;
}

int main(int argc, char** argv) {
  // Before anything opens a file: a closed stdout must not become an output or a key file.
  capsule::format::ReserveStandardDescriptors();
  capsule::format::RemoveTemporariesOnSignals();
  signal(SIGPIPE, SIG_IGN);  // a closed pipe is a write error with a message (-o - | head)
  CLI::App app{
      "capsulec — turn MP3, WAV and text into signed, encrypted WebAssembly capsules.\n\n"
      "  capsulec keygen                                  create your default identity\n"
      "  capsulec pack song.mp3 --royalty manifest.yaml   → song.capsule.wasm\n"
      "  capsulec verify song.capsule.wasm --trust alice.pub\n"
      "  capsulec inspect song.capsule.wasm\n"
      "  capsulec mint song.capsule.wasm -o token.json    ERC-1155 metadata for its token\n\n"
      "Exit codes: 0 ok, 1 internal error, 2 usage, 3 I/O, 4 malformed input, 5 integrity\n"
      "failure, 6 untrusted signer, 7 refused by policy, 8 sandbox. See docs/exit-codes.md.",
      "capsulec"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::function<std::string()>([] {
                         return std::string("capsulec 0.1.0 (capsule format 1)\n") +
                                capsule::format::CryptoVersions();
                       }));
  std::vector<capsulec::Command> cmds(9);
  capsulec::RegisterKeygen(app, cmds[0]);
  capsulec::RegisterPack(app, cmds[1]);
  capsulec::RegisterSign(app, cmds[2]);
  capsulec::RegisterInspect(app, cmds[3]);
  capsulec::RegisterVerify(app, cmds[4]);
  capsulec::RegisterUnpack(app, cmds[5]);
  capsulec::RegisterLicense(app, cmds[6]);
  capsulec::RegisterLogic(app, cmds[7]);
  capsulec::RegisterMint(app, cmds[8]);
  if (auto unknown = capsule::format::UnknownSubcommand(app, argc, argv)) {
    std::cerr << *unknown << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return capsule::format::FinishStdout(rc == 0 ? 0 : 2, "capsulec");
  }
  for (auto& c : cmds)
    if (c.app && c.app->parsed())
      return capsule::format::FinishStdout(WarnedAbout(c.run()), "capsulec");
  return 2;
}
