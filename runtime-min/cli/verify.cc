// capsule-run verify: the same checks and codes as `capsulec verify` (shared library code).
#include <iostream>

#include "capsule/capsule.h"
#include "chain/creator_binding.h"
#include "runtime-min/cli/cli.h"

namespace capsule_run {

void RegisterVerify(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::VerifyRequest>();
  cmd.app = root.add_subcommand("verify", "Verify a capsule's structure, signatures and payload");
  cmd.app->footer(
      "Same checks and exit codes as `capsulec verify`.\n\nExample:\n"
      "  capsule-run verify song.capsule.wasm --trust alice.pub --json");
  cmd.app->add_option("CAPSULE", req->path, "capsule file")->required()->check(CLI::ExistingFile);
  cmd.app->add_option("--trust", req->trust_paths, "trusted creator public key (.pub); repeatable");
  cmd.app->add_flag("--json", cmd.json, "print the report as JSON");
  cmd.run = [req, &cmd]() {
    req->check_binding = [path = req->path](const std::string& m) {
      return capsule::chain::CreatorBindingHook(m, path);
    };
    auto r = capsule::Verify(*req);
    if (cmd.json)
      std::cout << r.ToJson() << "\n";
    else
      std::cout << r.ToText();
    if (!r.status.ok()) {
      std::cerr << "capsule-run: " << r.status.ToString() << "\n";
      return capsule::ExitCode(r.status.code());
    }
    return 0;
  };
}

}  // namespace capsule_run
