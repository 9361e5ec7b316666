// capsulec verify: structure, signatures, chunk index against the payload. Integrity and
// trust are reported separately.
#include <iostream>

#include "capsulec/cli.h"
#include "chain/creator_binding.h"

namespace capsulec {

void RegisterVerify(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::VerifyRequest>();
  cmd.app = root.add_subcommand("verify", "Verify a capsule's structure, signatures and payload");
  cmd.app->footer(
      "Integrity: the bytes are exactly as the creator signed them (all three parts, every\n"
      "chunk against the signed index). Trust: the creator key is one you listed with --trust.\n"
      "Without --trust, trust is reported as not evaluated and does not fail the command.\n\n"
      "Examples:\n  capsulec verify song.capsule.wasm --trust alice.pub\n"
      "  capsulec verify song.capsule.wasm --json");
  cmd.app->add_option("CAPSULE", req->path, "capsule file")->required()->check(CLI::ExistingFile);
  cmd.app->add_option("--trust", req->trust_paths, "trusted creator public key (.pub); repeatable");
  cmd.app->add_flag("--json", cmd.json, "print the report as JSON");
  cmd.run = [req, &cmd]() {
    req->progress = MakeProgress(cmd.json, "verifying");
    req->check_binding = [path = req->path](const std::string& m) {
      return capsule::chain::CreatorBindingHook(m, path);
    };
    auto r = capsule::Verify(*req);
    EndProgress(cmd.json);
    if (cmd.json)
      std::cout << r.ToJson() << "\n";
    else
      std::cout << r.ToText();
    if (!r.status.ok()) {
      std::cerr << "capsulec: " << r.status.ToString() << "\n";
      return capsule::ExitCode(r.status.code());
    }
    return 0;
  };
}

}  // namespace capsulec
