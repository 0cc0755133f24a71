// SPDX-License-Identifier: GPL-2.0-or-later
// Real ICMP (root). Answering targets on loopback; the unanswered case runs in a private
// network namespace made for it, so no test traffic leaves the machine.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/runtime/ping.h"

using namespace veeamha;

TEST_CASE("ping: loopback answers") {
    auto r = runtime::ping_any({"127.0.0.1"}, base::Clock::now() + std::chrono::seconds(2));
    CHECK(r.reachable);
    CHECK(r.detail.find("127.0.0.1 answered in") == 0);
}

TEST_CASE("ping: IPv6 loopback answers") {
    auto r = runtime::ping_any({"::1"}, base::Clock::now() + std::chrono::seconds(2));
    CHECK(r.reachable);
}

TEST_CASE("ping: unanswered targets fail at the deadline, naming them") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // An empty network namespace: only a loopback that is down, no routes.
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(3);
        auto t0 = base::Clock::now();
        auto r = runtime::ping_any({"10.200.0.1", "fd00:200::1"}, t0 + std::chrono::milliseconds(300));
        bool in_time = base::Clock::now() - t0 < std::chrono::seconds(2);
        std::string out = (r.reachable ? "reachable " : "unreachable ") + r.detail;
        ssize_t ignored = ::write(fds[1], out.data(), out.size());
        (void)ignored;
        ::_exit(in_time ? 0 : 4);
    }
    ::close(fds[1]);
    char buf[512] = {};
    ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    std::string out(buf, n > 0 ? static_cast<size_t>(n) : 0);
    CHECK(out.find("unreachable no answer from 10.200.0.1, fd00:200::1") == 0);
}
