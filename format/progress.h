// A progress bar on stderr for long work (pack, verify, unpack, open): shown only when stderr
// is a terminal and the command is not printing JSON; otherwise no callback at all.
#pragma once

#include <string>

#include "capsule/capsule.h"

namespace capsule::format {

// nullptr when json or stderr is not a terminal.
Progress TerminalProgress(bool json, const std::string& label);
// Clears the bar's line (when one could have been drawn).
void EndTerminalProgress(bool json);

}  // namespace capsule::format
