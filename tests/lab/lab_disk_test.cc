// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's self-test of its SAN that stops answering (LabOptions::disk_over_fuse): with the
// disk's I/O held, mount(2) of the shared disk really blocks in the kernel and no signal ends
// it; released, it lands; and neither a tear-down nor a crash with I/O held and a mount
// waiting leaves anything behind (FUSE mount, its server, loop device, processes).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/common/skip.h"
#include "tests/lab/holdable_disk.h"
#include "tests/lab/lab.h"
#include "tests/lab/lab_test_util.h"

using namespace veeamha;
using namespace veeamha::lab;
using namespace veeamha::lab::testing;
using namespace std::chrono_literals;

namespace {

LabOptions disk_over_fuse() {
    LabOptions o;
    o.vcenter = false;
    o.disk_over_fuse = true;
    return o;
}

// The state letter of process `pid` (our numbering): 'D' = uninterruptible sleep.
char process_state(pid_t pid) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
}

// A mount(2) of the shared disk on `host`, as a process of ours.
Spawned start_mount(Lab& lab, const std::string& host) {
    return lab.spawn_in(host, {"mount", "-t", "xfs", lab.loop_device(), lab.mountpoint()}, "mount");
}

}  // namespace

TEST_CASE("lab: the disk over FUSE: with its I/O held a mount blocks in the kernel and no signal ends it, "
          "released it lands, and down leaves nothing even while held",
          "[lab]") {
    if (std::string why = HoldableDisk::unavailable(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    std::string id;
    std::vector<std::pair<pid_t, unsigned long long>> processes;
    {
        Lab lab(disk_over_fuse());
        id = lab.run_id();
        REQUIRE(lab.disk_server_pid() > 0);
        processes.emplace_back(lab.disk_server_pid(), process_start_time(lab.disk_server_pid()));
        // Hosts do not keep a copy of the FUSE mount (it would outlive the server's unmount).
        for (const char* h : {kN1, kN2}) {
            auto r = lab.exec_in(h, {"grep", "-c", "fuse.veeam-ha-lab-disk", "/proc/self/mountinfo"});
            CHECK(r.exit_code == 1);  // no such line
        }
        CHECK(slurp("/proc/self/mountinfo").find(lab.disk_fuse_mountpoint() + " ") != std::string::npos);
        // Unheld, the disk is an ordinary XFS disk.
        REQUIRE(lab.disk_io_waiting() == 0);
        auto m = start_mount(lab, kN1);
        REQUIRE(lab.wait_exit(m.pid, base::Clock::now() + 20s) == std::optional<int>(0));
        REQUIRE(lab.disk_mounted_in(kN1));
        REQUIRE(lab.exec_in(kN1, {"umount", lab.mountpoint()}).success());

        lab.hold_disk_io(true);
        m = start_mount(lab, kN1);
        // The mount waits for the superblock read that the "SAN" holds, uninterruptibly.
        REQUIRE(eventually(10s, [&] { return lab.disk_io_waiting() > 0; }));
        REQUIRE(eventually(5s, [&] { return process_state(m.pid) == 'D'; }));
        CHECK(!lab.disk_mounted_in(kN1));
        REQUIRE(lab.signal(m.pid, SIGKILL));
        // Still there after a kill: nothing but the I/O ends it (a bounded look, on purpose).
        CHECK(!lab.wait_exit(m.pid, base::Clock::now() + 500ms));
        CHECK(process_state(m.pid) == 'D');
        lab.hold_disk_io(false);
        auto status = lab.wait_exit(m.pid, base::Clock::now() + 20s);
        REQUIRE(status);
        CHECK(WIFSIGNALED(*status));
        CHECK(lab.disk_io_waiting() == 0);
        lab.exec_in(kN1, {"umount", lab.mountpoint()});  // if the mount landed before the kill took

        // Held again with a mount waiting on n2: a tear-down must release it and leave nothing.
        lab.hold_disk_io(true);
        auto waiting = start_mount(lab, kN2);
        processes.emplace_back(waiting.pid, process_start_time(waiting.pid));
        REQUIRE(eventually(10s, [&] { return lab.disk_io_waiting() > 0; }));
        auto left = lab.down();
        INFO(joined(left));
        CHECK(left.empty());
    }
    auto left = leftovers_after(5s, id, processes);
    INFO(joined(left));
    CHECK(left.empty());
}

TEST_CASE("lab child: crash with the disk's I/O held and a mount waiting", "[.][lab_child]") {
    Lab lab(disk_over_fuse());
    lab.hold_disk_io(true);
    auto m = start_mount(lab, kN1);
    REQUIRE(eventually(10s, [&] { return lab.disk_io_waiting() > 0; }));
    const char* path = std::getenv("VEEAMHA_LAB_CHILD_OUT");
    REQUIRE(path);
    {
        std::ofstream out(path);
        out << lab.run_id() << "\n";
        for (pid_t p : {lab.init_pid(kN1), lab.init_pid(kN2), lab.init_pid(kClient), m.pid, lab.disk_server_pid()})
            out << p << " " << process_start_time(p) << "\n";
    }
    ::kill(::getpid(), SIGKILL);  // no unwinding: the server sees the end of its stdin
}

TEST_CASE("lab: after a crash with the disk's I/O held, the mount is released and the next lab removes the rest",
          "[lab]") {
    if (std::string why = HoldableDisk::unavailable(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    std::string out = "/tmp/veeamha-lab-child-" + std::to_string(::getpid()) + ".txt";
    ::unlink(out.c_str());
    base::ProcessSpec spec;
    spec.argv = {std::filesystem::read_symlink("/proc/self/exe").string(),
                 "lab child: crash with the disk's I/O held and a mount waiting"};
    spec.extra_env = {"VEEAMHA_LAB_CHILD_OUT=" + out};
    spec.deadline = base::Clock::now() + 120s;
    auto r = base::run_process(spec);
    INFO(r.describe() << "\n" << r.err.substr(0, 3000));
    std::istringstream in(slurp(out));
    ::unlink(out.c_str());
    std::string id;
    REQUIRE(std::getline(in, id));
    std::vector<std::pair<pid_t, unsigned long long>> processes;
    pid_t p;
    unsigned long long start;
    while (in >> p >> start) processes.emplace_back(p, start);
    REQUIRE(processes.size() == 5);
    CHECK(r.ended == base::ProcessResult::Ended::Signaled);
    // The server released the held I/O when its stdin ended, so the waiting mount and the
    // hosts could die; the server itself goes on serving the loop device still on its disk.
    auto host_side = std::vector<std::pair<pid_t, unsigned long long>>(processes.begin(), processes.end() - 1);
    CHECK(eventually(10s, [&] {
        for (const auto& [pid, s] : host_side)
            if (process_start_time(pid) == s) return false;
        return true;
    }));
    CHECK(!leftovers(id).empty());
    auto did = Lab::cleanup_stale();  // what the next lab does first
    INFO(joined(did));
    CHECK(!did.empty());
    auto left = leftovers_after(5s, id, processes);  // the server ends once its disk is unmounted
    INFO(joined(left));
    CHECK(left.empty());
}
