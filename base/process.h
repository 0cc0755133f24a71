// SPDX-License-Identifier: GPL-2.0-or-later
// Runs an external program the way docs/design.md §5 asks: no shell, a deadline, stdin fed from a
// string, stdout and stderr captured (bounded), the whole process group killed at the deadline.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/deadline.h"

namespace veeamha::base {

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

// How every child is set up (run_process uses it, and so does the lab harness): stdin, stdout
// and stderr from the given descriptors (-1: /dev/null), every other descriptor of ours closed,
// default signal dispositions and an empty signal mask, and optionally a process group of its
// own, so that a kill at the deadline reaches what the command started too.
struct SpawnSpec {
    std::vector<std::string> argv;       // argv[0] is the program; absolute, or looked up in PATH
    std::vector<std::string> extra_env;  // "KEY=value" replacing or adding to the inherited ones
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    bool own_process_group = true;
};

// Starts the child and returns its pid, or -1 with `error` saying why.
pid_t spawn(const SpawnSpec& spec, std::string& error);

// "vgchange -aey vg_repo": for log lines. Arguments with spaces or quotes are quoted.
std::string format_command(const std::vector<std::string>& argv);

}  // namespace veeamha::base
