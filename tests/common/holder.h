// SPDX-License-Identifier: GPL-2.0-or-later
// A child process that holds a mount some way (its working directory, an open file, a
// mapping), named so that a report of the holders can be checked; killed and reaped when the
// test ends. For the busy-unmount tests of the filesystem and bind resources.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace veeamha::test {

struct Holder {
    pid_t pid = -1;
    std::string name;

    // `hold` runs in the child (named `comm`), which then waits to be killed; with `then`, it
    // runs that over and over instead of waiting.
    Holder(const std::string& comm, std::function<void()> hold, std::function<void()> then = {}) : name(comm) {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::signal(SIGTERM, SIG_DFL);  // not Catch2's fatal-signal handler, inherited by fork
            ::prctl(PR_SET_NAME, comm.c_str());
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            hold();
            char c = 1;
            (void)!::write(ready[1], &c, 1);
            for (;;) then ? then() : (void)::pause();
        }
        ::close(ready[1]);
        char c = 0;
        REQUIRE(::read(ready[0], &c, 1) == 1);
        ::close(ready[0]);
    }
    ~Holder() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;

    // The signal the child died of (reaps it), or 0 if it is still alive.
    int died_of(std::chrono::milliseconds wait) {
        auto until = std::chrono::steady_clock::now() + wait;
        for (;;) {
            int status = 0;
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                pid = -1;
                return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
            }
            if (std::chrono::steady_clock::now() >= until) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
};

}  // namespace veeamha::test
