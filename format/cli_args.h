// For the two CLIs only (header-only: the format library itself does not use CLI11): an unknown
// subcommand is named before CLI11 parses. CLI11 reports `capsulec bogus` and
// `capsulec logic bogus` as "A subcommand is required", which sends the user looking for a
// missing word instead of the misspelt one.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace capsule::format {

// Walks argv down the subcommand tree while the arguments are words: the first word that is not
// a subcommand of an app that has subcommands gives the message to print (exit 2).
inline std::optional<std::string> UnknownSubcommand(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = app.get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') return std::nullopt;  // options: CLI11 judges the rest
    std::vector<CLI::App*> subs = at->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;  // a positional argument of a leaf command
    CLI::App* next = nullptr;
    std::string names;
    for (CLI::App* s : subs) {
      if (s->check_name(arg)) next = s;
      names += (names.empty() ? "" : ", ") + s->get_name();
    }
    if (next == nullptr)
      return path + ": unknown subcommand '" + arg + "' (one of: " + names + "; see " + path +
             " --help)";
    at = next;
    path += " " + next->get_name();
  }
  return std::nullopt;
}

}  // namespace capsule::format
