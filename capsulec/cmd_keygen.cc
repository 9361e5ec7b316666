// capsulec keygen: create an identity (Ed25519 + X25519 + secp256k1) as NAME.key / NAME.pub.
#include <sys/stat.h>

#include <iostream>

#include "capsulec/cli.h"
#include "format/file.h"
#include "format/keys.h"

namespace capsulec {
namespace {
struct Opts {
  std::string out;
  bool protect = false, force = false;
};
}  // namespace

void RegisterKeygen(CLI::App& root, Command& cmd) {
  auto o = std::make_shared<Opts>();
  cmd.app = root.add_subcommand("keygen",
                                "Create a key pair (Ed25519 signing, X25519 receiving, "
                                "secp256k1 EVM address)");
  cmd.app->footer(
      "Without -o, writes your default identity ($CAPSULE_HOME/default.key; $CAPSULE_HOME\n"
      "defaults to $XDG_CONFIG_HOME/capsule, else ~/.config/capsule), which every command uses\n"
      "when --key is absent.\n"
      "The secret file is created 0600. With --passphrase it is encrypted (Argon2id); the\n"
      "passphrase comes from CAPSULE_PASSPHRASE, CAPSULE_PASSPHRASE_FILE or the terminal.\n\n"
      "Examples:\n  capsulec keygen\n  capsulec keygen -o ci-signer --json");
  cmd.app->add_option("-o,--out", o->out, "NAME: write NAME.key and NAME.pub");
  cmd.app->add_flag("--passphrase", o->protect, "protect the secret key with a passphrase");
  cmd.app->add_flag("--force", o->force, "replace existing key files");
  cmd.app->add_flag("--json", cmd.json, "print the result as JSON");
  cmd.run = [o, &cmd]() {
    capsule::KeygenRequest req;
    std::string base = o->out;
    if (base.empty()) {
      std::string home = capsule::format::CapsuleHome();
      (void)capsule::format::MakeDirs(home);  // a failure shows when the key is written
      base = home + "/default";
    } else if (base.size() > 4 && base.substr(base.size() - 4) == ".key") {
      base = base.substr(0, base.size() - 4);
    }
    req.key_path = base + ".key";
    req.pub_path = base + ".pub";
    req.protect = o->protect;
    req.overwrite = o->force;
    auto r = capsule::Keygen(req);
    if (!r.ok()) return Fail(r.status(), cmd.json);
    if (cmd.json) {
      std::cout << r->ToJson() << "\n";
    } else {
      std::cout << "secret key: " << r->key_path << " (keep it private)\n"
                << "public key: " << r->pub_path << "\n"
                << "key id:     " << r->key_id << "\n"
                << "did:key:    " << r->did_key << "\n"
                << "address:    " << r->address << "\n";
    }
    return 0;
  };
}

}  // namespace capsulec
