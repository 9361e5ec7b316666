// capsulec unpack: a creator or issuer recovers the original content.
#include <iostream>

#include "capsulec/cli.h"

namespace capsulec {

void RegisterUnpack(CLI::App& root, Command& cmd) {
  auto req = std::make_shared<capsule::UnpackRequest>();
  cmd.app = root.add_subcommand("unpack", "Recover the content with an issuer's key");
  cmd.app->footer(
      "The capsule is verified while it streams; the output appears (atomically) only when\n"
      "every chunk and the payload's signed hash checked out. With -o - it streams to stdout:\n"
      "each chunk is checked before it is written, but a failure later leaves stdout truncated\n"
      "(exit 5).\n\n"
      "Example:\n  capsulec unpack song.capsule.wasm --key issuer.key -o song.mp3");
  cmd.app->add_option("CAPSULE", req->path, "capsule file")->required()->check(CLI::ExistingFile);
  cmd.app->add_option("--key,-k", req->key_path, "an issuer's secret key (default: your identity)");
  cmd.app->add_option("-o,--output", req->output, "where to write the content (- for stdout)")
      ->required();
  cmd.app->add_flag("--force", req->overwrite, "replace an existing output");
  cmd.app->add_flag("--json", cmd.json, "print the result as JSON");
  cmd.run = [req, &cmd]() {
    auto progress = MakeProgress(cmd.json, "unpacking");
    auto r = capsule::Unpack(*req, progress);
    EndProgress(cmd.json);
    if (!r.ok()) return Fail(r.status(), cmd.json);
    if (req->output == "-")
      std::cerr << r->bytes << " bytes written to stdout from capsule " << r->capsule_id << "\n";
    else if (cmd.json)
      std::cout << r->ToJson() << "\n";
    else
      std::cout << r->output << ": " << r->bytes << " bytes recovered from capsule "
                << r->capsule_id << "\n";
    return 0;
  };
}

}  // namespace capsulec
