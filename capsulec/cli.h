// Shared plumbing for capsulec subcommands: each subcommand file registers its flags into an
// options struct and sets `run`, which calls the library and renders text or --json.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "capsule/capsule.h"
#include "capsule/status.h"

namespace capsulec {

struct Command {
  CLI::App* app = nullptr;
  bool json = false;
  std::function<int()> run;
};

// Prints a failure (text on stderr; with --json also a JSON object on stdout) and returns the
// documented exit code.
// With --json, `input` and `output` (when given) join the error object: `pack --jobs` prints
// one line per input, in the order they finish, matched by `input`.
int Fail(const capsule::Status& s, bool json, const std::string& input = "",
         const std::string& output = "");
// The key to use: the flag, else the default identity; NoIdentity when neither exists.
capsule::Result<std::string> ResolveKey(const std::string& flag);
// A progress bar on stderr when stderr is a terminal and --json is off.
capsule::Progress MakeProgress(bool json, const std::string& label);
void EndProgress(bool json);

void RegisterKeygen(CLI::App& root, Command& cmd);
void RegisterPack(CLI::App& root, Command& cmd);
void RegisterSign(CLI::App& root, Command& cmd);
void RegisterInspect(CLI::App& root, Command& cmd);
void RegisterVerify(CLI::App& root, Command& cmd);
void RegisterUnpack(CLI::App& root, Command& cmd);
void RegisterLicense(CLI::App& root, Command& cmd);
void RegisterLogic(CLI::App& root, Command& cmd);
void RegisterMint(CLI::App& root, Command& cmd);

}  // namespace capsulec
