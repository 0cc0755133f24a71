// SPDX-License-Identifier: GPL-2.0-or-later
// Children for the tests of the stale-run sweeps: a PID that no process has, and how a child
// ended, waited for as an event.
#pragma once

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

namespace veeamha::test {

// A PID no process has now: a child that exited and was reaped.
inline pid_t dead_pid() {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return pid;
}

// The child's wait status once it has ended, or -1 if it still runs after `timeout`.
inline int ended_status(pid_t pid, std::chrono::milliseconds timeout) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    REQUIRE(fd >= 0);
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    ::close(fd);
    int status = 0;
    if (ready != 1 || ::waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

}  // namespace veeamha::test
