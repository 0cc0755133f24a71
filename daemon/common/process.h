// SPDX-License-Identifier: GPL-2.0-or-later
// Runs an external program the way DESIGN.md §5 asks: no shell, a deadline, stdin fed from a
// string, stdout and stderr captured (bounded), the whole process group killed at the deadline.
#pragma once

#include <string>
#include <vector>

#include "deadline.h"

namespace veeamha {

struct ProcessSpec {
    std::vector<std::string> argv;  // argv[0] is the program; absolute, or looked up in PATH
    std::string stdin_data;         // written to the child's stdin, then stdin is closed
    std::vector<std::string> extra_env;  // "KEY=value" added to the inherited environment
    Deadline deadline;
    // Between SIGTERM at the deadline and SIGKILL.
    std::chrono::milliseconds kill_grace{500};
};

struct ProcessResult {
    enum class Ended { Exited, Signaled, TimedOut, CouldNotStart };
    Ended ended = Ended::CouldNotStart;
    int exit_code = -1;   // Exited
    int signal = 0;       // Signaled
    std::string out;      // first kMaxCapture bytes of stdout
    std::string err;      // first kMaxCapture bytes of stderr
    std::string error;    // CouldNotStart: why (errno text)

    bool success() const { return ended == Ended::Exited && exit_code == 0; }
    // "exit 5", "killed by signal 9", "timed out", "could not start: ..." plus the last stderr
    // line, for log lines and error messages.
    std::string describe() const;
};

inline constexpr size_t kMaxCapture = 64 * 1024;

ProcessResult run_process(const ProcessSpec& spec);

// "vgchange -aey vg_repo": for log lines. Arguments with spaces or quotes are quoted.
std::string format_command(const std::vector<std::string>& argv);

}  // namespace veeamha
