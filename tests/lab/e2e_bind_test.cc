// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, issue 14 part 2: state that travels with the group. A folder on the shared
// disk (the hardened repository's /etc/veeam with its clock-tamper timeLog) is bound onto a host
// path by a `bind` resource: what the active host writes there is what the next active host
// reads after a crash failover, a daemon restart adopts the bind as it is, and a host that gave
// the group up has nothing bound any more.
#include <catch2/catch.hpp>
#include <fstream>

#include "storage/filesystem/mountinfo.h"
#include "tests/lab/e2e_checks.h"
#include "tests/lab/e2e_cluster.h"

using namespace veeamha;
using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

namespace {

constexpr const char* kStateFolder = "/.ha/etc-veeam";  // on the shared disk

// The mount ID of the disk's state folder at `target` in the host's own mount table (the
// topmost mount there), or -1 if the host does not show it there.
int bound_mount_id(Cluster& c, const std::string& host, const std::string& target) {
    pid_t init = c.lab().init_pid(host);
    if (init <= 0) return -1;
    std::string error;
    auto mounts = storage::filesystem::read_mountinfo(&error, "/proc/" + std::to_string(init) + "/mountinfo");
    if (!mounts) return -1;
    const auto* top = storage::filesystem::top_mount_at(*mounts, target);
    return top && top->dev() == c.lab().disk_dev() && top->root == kStateFolder ? top->mount_id : -1;
}

bool bound_in(Cluster& c, const std::string& host, const std::string& target) {
    return bound_mount_id(c, host, target) >= 0;
}

void run_in(Cluster& c, const std::string& host, const std::string& script) {
    auto r = c.lab().exec_in(host, {"sh", "-c", script}, std::chrono::seconds(20));
    INFO(host << ": " << script << ": " << r.describe() << "\n" << r.out << r.err);
    REQUIRE(r.success());
}

}  // namespace

TEST_CASE("e2e: a bind resource carries the state folder: written on n1, read on n2 after a crash, "
          "unbound on the host that hands the group over",
          "[e2e]") {
    ClusterOptions o;
    o.start_daemons = false;
    Cluster c(o);
    Lab& lab = c.lab();
    const std::string mp = lab.mountpoint(), source = mp + kStateFolder;
    const std::string target = lab.run_dir() + "/etc-veeam", clock = target + "/immureposvc/timeLog";

    // What the operator does once: the state folder on the repository filesystem.
    run_in(c, kN1, "mount -t xfs " + lab.loop_device() + " " + mp + " && mkdir -p " + source +
                       "/immureposvc && echo 'clock at setup' > " + source + "/immureposvc/timeLog; rc=$?; umount " +
                       mp + "; exit $rc");
    // The group: the lab's (fs_repo, ip_repo, svc_repo) and the bind, listed last so that it is
    // the first to stop.
    {
        std::ofstream out(c.config_path(), std::ios::trunc);
        out << lab.config_yaml() << "  - name: etc_veeam\n"
            << "    bind: {source: " << source << ", target: " << target << "}\n"
            << "    monitor_interval: 1s\n";
        REQUIRE(out.good());
    }
    c.start_daemon(kN1);
    c.start_daemon(kN2);
    REQUIRE(c.wait_running_on(kN1, 30s));
    c.start_writer();
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(Cluster::eventually(10s, [&] { return c.status(kN1).resources["etc_veeam"] == "started"; }));
    CHECK(bound_in(c, kN1, target));
    CHECK_FALSE(bound_in(c, kN2, target));
    CHECK(lab.read_file_in(kN1, clock) == std::string("clock at setup\n"));
    CHECK_FALSE(lab.read_file_in(kN2, clock));  // n2's own (empty) folder

    // A daemon restart adopts the bind as it is (its monitor is the probe): not bound again.
    const int mount_id = bound_mount_id(c, kN1, target);
    const size_t adopt_mark = c.log_mark(kN1);
    c.kill9_daemon(kN1, true);
    REQUIRE(c.wait_log(kN1, "adopt: adopting the group already running here", 10s, adopt_mark));
    REQUIRE(c.wait_settled(kN1, 10s));
    CHECK(c.log_since(kN1, adopt_mark).find("resource-start") == std::string::npos);
    CHECK(bound_mount_id(c, kN1, target) == mount_id);

    // The repository service writes its clock on n1; n1 crashes.
    run_in(c, kN1, "echo 'clock written on n1' > " + clock);
    REQUIRE(c.wait_more_acks(30, 10s));
    lab.kill(kN1);
    REQUIRE(c.wait_running_on(kN2, 20s));
    REQUIRE(Cluster::eventually(10s, [&] { return bound_in(c, kN2, target); }));
    CHECK(lab.read_file_in(kN2, clock) == std::string("clock written on n1\n"));

    // n1 boots (its daemon starts, passive); a clean switchover to it and back.
    lab.power_on(kN1);
    REQUIRE(c.wait_settled(kN2, 20s));
    CHECK_FALSE(bound_in(c, kN1, target));
    run_in(c, kN2, "echo 'clock written on n2' > " + clock);
    auto to_n1 = c.hactl(kN2, {"move"});
    INFO(to_n1.describe() << to_n1.out << to_n1.err);
    REQUIRE(to_n1.success());
    REQUIRE(c.wait_running_on(kN1, 30s));
    REQUIRE(Cluster::eventually(10s, [&] { return bound_in(c, kN1, target); }));
    CHECK_FALSE(bound_in(c, kN2, target));
    CHECK(lab.read_file_in(kN1, clock) == std::string("clock written on n2\n"));

    REQUIRE(c.wait_settled(kN1, 15s));
    const size_t mark1 = c.log_mark(kN1);
    auto to_n2 = c.hactl(kN1, {"move"});
    INFO(to_n2.describe() << to_n2.out << to_n2.err);
    REQUIRE(to_n2.success());
    REQUIRE(c.wait_running_on(kN2, 30s));
    REQUIRE(Cluster::eventually(10s, [&] { return bound_in(c, kN2, target); }));
    CHECK_FALSE(bound_in(c, kN1, target));  // the host that handed the group over
    CHECK_FALSE(lab.read_file_in(kN1, clock));
    std::string l1 = c.log_since(kN1, mark1);
    INFO(l1);
    CHECK(in_order(l1, {"resource-stopped: etc_veeam stopped", "resource-stopped: fs_repo stopped"}));
    CHECK(l1.find("unclean") == std::string::npos);
    CHECK(lab.read_file_in(kN2, clock) == std::string("clock written on n2\n"));

    REQUIRE(c.wait_more_acks(30, 10s));
    check_records_and_mounts(c);
}
