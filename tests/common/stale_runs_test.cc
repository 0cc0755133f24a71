// SPDX-License-Identifier: GPL-2.0-or-later
// sweep_stale_runs: what a killed run of a fixture left (its folder, a process that names it, a
// loop device backed by a file in it) is removed by the next run; nothing of a live run, also
// when the dead run's PID is the start of the live one's.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/process.h"
#include "tests/common/children.h"
#include "tests/common/stale_runs.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace veeamha::test;

namespace {

constexpr const char* kPrefix = "/var/tmp/veeamha-sweeptest-";

std::string run(std::vector<std::string> argv) {
    veeamha::base::ProcessSpec p;
    p.argv = std::move(argv);
    p.deadline = veeamha::base::Clock::now() + 30s;
    auto r = veeamha::base::run_process(p);
    INFO(veeamha::base::format_command(p.argv) << ": " << r.describe() << "\n" << r.err);
    REQUIRE(r.success());
    return r.out.substr(0, r.out.find('\n'));
}

// `sleep` with `name` as its argv[0], so its command line names it; SIGTERM blocked (a hung
// qemu): only SIGKILL ends it. Returns once the exec happened (the close-on-exec pipe's end).
pid_t sleeper_named(const std::string& name) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        ::sigprocmask(SIG_BLOCK, &term, nullptr);
        ::execl("/bin/sleep", name.c_str(), "100000", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(p[1]);
    char c = 0;
    const bool exec_done = ::read(p[0], &c, 1) == 0;
    ::close(p[0]);
    REQUIRE(exec_done);
    return pid;
}

std::string backing_of(const std::string& loop) {
    std::ifstream in("/sys/block/" + fs::path(loop).filename().string() + "/loop/backing_file");
    std::string b;
    std::getline(in, b);
    return b;
}

}  // namespace

TEST_CASE("stale runs: a run's PID is read from its names, and only from its prefix's") {
    CHECK(run_owner("veeamha-x-123", "veeamha-x-") == 123);
    CHECK(run_owner("veeamha-x-123-0-1.img", "veeamha-x-") == 123);
    CHECK(run_owner("veeamha-x-123-Ab12", "veeamha-x-") == 123);
    CHECK(run_owner("veeamha-x-12a", "veeamha-x-") == 0);
    CHECK(run_owner("veeamha-x-", "veeamha-x-") == 0);
    CHECK(run_owner("veeamha-x--1", "veeamha-x-") == 0);
    CHECK(run_owner("veeamha-y-123", "veeamha-x-") == 0);
    CHECK(run_owner("veeamha-x-1234567890", "veeamha-x-") == 0);  // not a PID
    CHECK(run_owner("4711", "") == 4711);                          // /proc's names
    CHECK(pid_gone(dead_pid()));
    CHECK_FALSE(pid_gone(::getpid()));
    CHECK_FALSE(pid_gone(1));  // exists (and we could not even be allowed to signal it)
}

TEST_CASE("stale runs: the next run removes a killed run's folder, processes and loop devices, not a live run's") {
    if (::geteuid() != 0) FAIL("needs root (loop devices)");
    // The dead run: a PID that no process has, whose digits start this process's (its folder's
    // name is then the start of the live run's: the sweep must tell them apart).
    const std::string me = std::to_string(::getpid());
    pid_t dead = 0;
    for (size_t n = me.size() - 1; n > 0 && dead == 0; --n)
        if (pid_gone(std::stoi(me.substr(0, n)))) dead = std::stoi(me.substr(0, n));
    REQUIRE(dead > 0);
    const std::string stale = kPrefix + std::to_string(dead);
    const std::string live = kPrefix + me;
    // Another live run beside it.
    const std::string other = kPrefix + std::to_string(::getppid());
    std::vector<pid_t> children;
    std::vector<std::string> loops;
    struct Cleanup {
        std::vector<pid_t>& children;
        std::vector<std::string>& loops;
        std::vector<std::string> dirs;
        ~Cleanup() {
            for (pid_t pid : children)
                if (pid > 0) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                }
            for (const auto& l : loops) {
                veeamha::base::ProcessSpec p;
                p.argv = {"losetup", "-d", l};
                p.deadline = veeamha::base::Clock::now() + 10s;
                veeamha::base::run_process(p);
            }
            std::error_code ec;
            for (const auto& d : dirs) fs::remove_all(d, ec);
        }
    } cleanup{children, loops, {stale, live, other}};

    for (const auto& dir : {stale, live, other}) {
        fs::create_directories(dir);
        REQUIRE(::truncate((dir + "/disk.img").c_str(), 0) != 0);  // not there yet
        run({"truncate", "-s", "8M", dir + "/disk.img"});
        loops.push_back(run({"losetup", "--find", "--show", dir + "/disk.img"}));
        children.push_back(sleeper_named(dir + "/disk.img"));
    }

    const auto did = sweep_stale_runs(kPrefix);
    std::string lines;
    for (const auto& l : did) lines += l + "\n";
    INFO(lines);

    // The dead run's: its process killed (SIGTERM was not enough), its loop device detached, its
    // folder gone.
    const int status = ended_status(children[0], 15s);
    REQUIRE(status != -1);
    children[0] = -1;
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(backing_of(loops[0]).find(stale + "/") == std::string::npos);
    CHECK_FALSE(fs::exists(stale));
    // The live runs': all there.
    for (size_t i : {1, 2}) {
        const std::string dir = i == 1 ? live : other;
        INFO(dir);
        CHECK(::waitpid(children[i], nullptr, WNOHANG) == 0);
        CHECK(backing_of(loops[i]) == dir + "/disk.img");
        CHECK(fs::exists(dir + "/disk.img"));
    }
}
