// capsulec sign: add a co-signature without invalidating existing ones.
#include <iostream>

#include "capsulec/cli.h"

namespace capsulec {
namespace {
struct Opts {
  capsule::SignRequest req;
};
}  // namespace

void RegisterSign(CLI::App& root, Command& cmd) {
  auto o = std::make_shared<Opts>();
  cmd.app = root.add_subcommand("sign", "Add a co-signature (e.g. a CI key) to a capsule");
  cmd.app->footer(
      "The capsule is fully verified first. Existing signatures stay valid: the signature\n"
      "section is not covered by the hashes. Writes a new file unless --in-place.\n\n"
      "Examples:\n"
      "  capsulec sign song.capsule.wasm --key ci.key -o song.signed.capsule.wasm\n"
      "  capsulec sign song.capsule.wasm --key ci.key --detached song.sig");
  cmd.app->add_option("CAPSULE", o->req.path, "capsule to co-sign")
      ->required()
      ->check(CLI::ExistingFile);
  cmd.app->add_option("--key,-k", o->req.key_path, "co-signer's secret key")->required();
  auto out = cmd.app->add_option("-o,--output", o->req.output, "write the co-signed capsule here");
  auto inplace = cmd.app->add_flag("--in-place", o->req.in_place, "replace CAPSULE (atomically)");
  auto det =
      cmd.app->add_option("--detached", o->req.detached_path,
                          "write the new signature section content (a detached signature) here");
  out->excludes(inplace);
  det->excludes(inplace);
  det->excludes(out);
  cmd.app->add_flag("--force", o->req.overwrite, "replace an existing output");
  cmd.app->add_flag("--json", cmd.json, "print the result as JSON");
  cmd.run = [o, &cmd]() {
    auto r = capsule::Sign(o->req);
    if (!r.ok()) return Fail(r.status(), cmd.json);
    if (cmd.json)
      std::cout << r->ToJson() << "\n";
    else
      std::cout << r->output << ": signed by " << r->signer << " (" << r->key_id << "), "
                << r->signatures << " signature(s) in all\n";
    return 0;
  };
}

}  // namespace capsulec
