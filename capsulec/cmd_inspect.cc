// capsulec inspect: parts, sections, manifest, splits, models, signers, and what no signature
// covers. Parts 1–2 are verified first; the payload is not read (use verify for that).
#include <iostream>

#include "capsulec/cli.h"

namespace capsulec {

void RegisterInspect(CLI::App& root, Command& cmd) {
  auto path = std::make_shared<std::string>();
  cmd.app = root.add_subcommand("inspect",
                                "Show a capsule's parts, manifest, splits, models and signers");
  cmd.app->footer(
      "Examples:\n  capsulec inspect song.capsule.wasm\n  capsulec inspect song.capsule.wasm "
      "--json | jq .manifest.royalties");
  cmd.app->add_option("CAPSULE", *path, "capsule file")->required()->check(CLI::ExistingFile);
  cmd.app->add_flag("--json", cmd.json, "print the full report as JSON");
  cmd.run = [path, &cmd]() {
    auto r = cmd.json ? capsule::InspectJson(*path) : capsule::InspectText(*path);
    if (!r.ok()) return Fail(r.status(), cmd.json);
    std::cout << *r;
    return 0;
  };
}

}  // namespace capsulec
