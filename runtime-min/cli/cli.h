// Shared plumbing for capsule-run subcommands (same shape as capsulec's): each subcommand file
// registers its flags and sets `run`, which calls the runtime library and renders text/--json.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "capsule/status.h"

namespace capsule::runtime {
struct OpenRequest;
}

namespace capsule_run {

struct Command {
  CLI::App* app = nullptr;
  bool json = false;
  std::function<int()> run;
};

// Prints a failure (stderr; with --json also {"ok":false,"error":{…}} on stdout) and returns
// the documented exit code.
int Fail(const capsule::Status& s, bool json);

// --ledger, --confirmations, --rpc-timeout-ms (open and test share them).
void AddLedgerOptions(CLI::App* app, capsule::runtime::OpenRequest& req);
// --range, --from (open and test).
void AddSeekOptions(CLI::App* app, capsule::runtime::OpenRequest& req);
// --max-instructions, --max-time-ms, --max-memory-mib (open and test).
void AddLimitOptions(CLI::App* app, capsule::runtime::OpenRequest& req);
// --trust-logic HASH (open and test): 64 hex digits, either case (compared in lowercase).
void AddTrustLogicOption(CLI::App* app, capsule::runtime::OpenRequest& req);

void RegisterVerify(CLI::App& root, Command& cmd);
void RegisterOpen(CLI::App& root, Command& cmd);
void RegisterLedger(CLI::App& root, Command& cmd);  // runtime-min/cli/ledger.cc
void RegisterTest(CLI::App& root, Command& cmd);    // runtime-min/cli/test.cc

}  // namespace capsule_run
