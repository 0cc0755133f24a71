// SPDX-License-Identifier: GPL-2.0-or-later
// What veeam-had and veeam-hactl share: exit codes, the default paths, loading and checking the
// configuration with every error printed, and a small argument scanner.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace veeamha::cli {

// Exit codes of both programs (documented in --help and the README's CLI reference).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;       // invalid configuration, or the operation failed
inline constexpr int kExitRefused = 2;       // refused by a safety check (fence without --yes, ...)
inline constexpr int kExitRestart = 3;       // veeam-had: a failure a restart may fix (systemd restarts)
inline constexpr int kExitUsage = 64;        // bad command line (EX_USAGE)

inline constexpr const char* kDefaultConfig = "/etc/veeam-ha.yaml";

// Loads `path`; on errors prints each one (FILE:LINE:COL: key: message) and a count to `err`
// and returns nullopt. Warnings go to `err` as well, prefixed "warning: ".
std::optional<config::Config> load_config(const std::string& path, bool check_files,
                                          std::ostream& err);

// --check-config / `veeam-hactl check`: exit 0 and the summary on `out`, or 1 and every error.
// `node_override` marks this node in the summary; when it is given and matches no node the
// check fails, when the host name matches none it is only a warning. `quiet` (--quiet, what the
// unit's ExecReload= runs before SIGHUP): nothing at all when the file is valid (the daemon logs
// its warnings itself when it reloads), every error and warning when it is not.
int check_config(const std::string& path, const std::string& node_override, bool check_files,
                 bool quiet, std::ostream& out, std::ostream& err);

// Milliseconds since this process was created (the kernel's start time in /proc/self/stat, to
// the clock tick), or -1 if it cannot be read. What a restart costs before the daemon speaks:
// systemd's setup of the unit's sandbox, loading the program and its libraries.
double ms_since_process_start();

// Pulls "--NAME VALUE" / "--NAME=VALUE" (and the short form, if given) out of args.
// Returns false (and sets `error`) when the value is missing.
bool take_option(std::vector<std::string>& args, const std::string& name, const std::string& short_name,
                 std::optional<std::string>& value, std::string& error);
// Pulls a flag ("--force") out of args; true if it was there.
bool take_flag(std::vector<std::string>& args, const std::string& name);

}  // namespace veeamha::cli
