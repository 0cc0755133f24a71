// SPDX-License-Identifier: GPL-2.0-or-later
// HostsCluster::sweep_stale: what a killed run of the hosts tier left is removed by the next
// run, and nothing of a run whose process is alive.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/process.h"
#include "tests/common/children.h"
#include "tests/hosts/hosts_cluster.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using veeamha::test::dead_pid;
using veeamha::test::ended_status;
using veeamha::test::HostsCluster;

namespace {

void ip_netns(const std::string& verb, const std::string& ns) {
    veeamha::base::ProcessSpec p;
    p.argv = {"ip", "netns", verb, ns};
    p.deadline = veeamha::base::Clock::now() + 30s;
    auto r = veeamha::base::run_process(p);
    if (!r.success()) throw std::runtime_error("ip netns " + verb + " " + ns + ": " + r.describe() + "\n" + r.err);
}

// A child that has joined the namespace (it says so through a pipe) and sleeps there, deaf to
// SIGTERM as a hung qemu would be: only SIGKILL ends it.
pid_t sleeper_in(const std::string& ns) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[0]);
        const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0 || ::sigprocmask(SIG_BLOCK, &term, nullptr) != 0) ::_exit(1);
        if (::write(p[1], "x", 1) != 1) ::_exit(1);
        for (;;) ::pause();
    }
    ::close(p[1]);
    char c = 0;
    const bool joined = ::read(p[0], &c, 1) == 1;
    ::close(p[0]);
    REQUIRE(joined);
    return pid;
}

}  // namespace

TEST_CASE("hosts: the next run sweeps away a killed run's namespace, processes and folder, not a live run's") {
    const pid_t dead = dead_pid();
    const std::string stale_ns = HostsCluster::kNetnsPrefix + std::to_string(dead);
    const std::string live_ns = HostsCluster::kNetnsPrefix + std::to_string(::getpid());  // this process: alive
    const std::string stale_dir = HostsCluster::kRunDirPrefix + std::to_string(dead);
    const std::string live_dir = HostsCluster::kRunDirPrefix + std::to_string(::getpid());
    pid_t stale_sleeper = -1, live_sleeper = -1;
    struct Cleanup {
        const std::string &stale_ns, &live_ns, &stale_dir, &live_dir;
        pid_t &stale_sleeper, &live_sleeper;
        ~Cleanup() {
            for (pid_t pid : {stale_sleeper, live_sleeper})
                if (pid > 0) {
                    ::kill(pid, SIGKILL);
                    ::waitpid(pid, nullptr, 0);
                }
            for (const auto& ns : {stale_ns, live_ns})
                if (fs::exists("/run/netns/" + ns)) ip_netns("del", ns);
            std::error_code ec;
            fs::remove_all(stale_dir, ec);
            fs::remove_all(live_dir, ec);
        }
    } cleanup{stale_ns, live_ns, stale_dir, live_dir, stale_sleeper, live_sleeper};

    ip_netns("add", stale_ns);
    ip_netns("add", live_ns);
    stale_sleeper = sleeper_in(stale_ns);
    live_sleeper = sleeper_in(live_ns);
    fs::create_directories(stale_dir + "/share");
    std::ofstream(stale_dir + "/shared.img") << "disk";
    fs::create_directories(live_dir);

    const auto did = HostsCluster::sweep_stale();
    std::string lines;
    for (const auto& l : did) lines += l + "\n";
    INFO(lines);

    // The dead run's: its process killed, its namespace and folder gone.
    const int status = ended_status(stale_sleeper, 10s);
    REQUIRE(status != -1);
    stale_sleeper = -1;
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK_FALSE(fs::exists("/run/netns/" + stale_ns));
    CHECK_FALSE(fs::exists(stale_dir));
    // The live run's: all there.
    CHECK(::waitpid(live_sleeper, nullptr, WNOHANG) == 0);
    CHECK(fs::exists("/run/netns/" + live_ns));
    CHECK(fs::exists(live_dir));
}
