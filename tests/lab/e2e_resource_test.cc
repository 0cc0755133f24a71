// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, part 3 (issue 7): resources fail. The repo service killed on the active node
// (restarted in place, then handed over at policy.migration_threshold), and a process holding
// a file open on the shared disk during a planned move (killed, the move completes).
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "tests/lab/e2e_checks.h"
#include "tests/lab/e2e_cluster.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

TEST_CASE("e2e: the service dies on the active: restarted in place and handed over at migration_threshold",
          "[e2e]") {
    ClusterOptions o;
    o.lab.monitor_interval = "1s";  // the lowest allowed; the lab's config has migration_threshold 3
    Cluster c(o);
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    auto kill_service = [&](pid_t pid) {
        auto r = c.lab().exec_in(kN1, {"kill", "-KILL", std::to_string(pid)});
        INFO(r.describe() << r.err);
        REQUIRE(r.success());
    };
    for (int failure = 1; failure <= 2; ++failure) {
        const pid_t before = c.service_pid(kN1);
        REQUIRE(before > 0);
        kill_service(before);
        REQUIRE(c.wait_log(kN1, "fail count " + std::to_string(failure) + "/3; restarting it here", 10s, mark1));
        // Restarted in place: a new server process on n1, the group still there.
        REQUIRE(Cluster::eventually(10s, [&] {
            pid_t now = c.service_pid(kN1);
            return now > 0 && now != before && c.running_on() == kN1;
        }));
        StatusView s = c.status(kN1);
        CHECK(s.fail_counts["svc_repo"] == static_cast<uint64_t>(failure));
        // Restarted fine, and still says why it failed, when, and how often (until cleanup).
        auto text = c.hactl(kN1, {"status"});
        INFO(text.out);
        CHECK(text.out.find("svc_repo (exec): started here, fail count " + std::to_string(failure) +
                            "\n      last error (") != std::string::npos);
        CHECK(text.out.find("Failed actions (until `veeam-hactl cleanup`):\n  svc_repo monitor on n1: ") !=
              std::string::npos);
        if (failure == 2) CHECK(text.out.find(" (2 times): ") != std::string::npos);
        REQUIRE(c.wait_more_acks(20, 10s));
    }
    kill_service(c.service_pid(kN1));
    REQUIRE(c.wait_log(kN1, "fail count 3/3; giving up on this node, handing over to n2", 10s, mark1));
    REQUIRE(c.wait_running_on(kN2, 20s));
    REQUIRE(c.wait_settled(kN2, 10s));
    StatusView s1 = c.status(kN1);
    CHECK(s1.fail_counts["svc_repo"] == 3);
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(in_order(l1, {"release: group stopped and released: too many failures here"}));
    CHECK(l2.find("takeover: taking over the group") != std::string::npos);
    CHECK(no_fencing(l1 + l2));
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");
    REQUIRE(c.wait_more_acks(50, 10s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: busy unmount during a move: the holder is killed and the move completes", "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const std::string held = c.lab().mountpoint() + "/held-open.txt";
    // A process on n1 with a file on the shared disk open (a backup job, a shell in the folder).
    auto holder = c.lab().spawn_in(kN1, {"sh", "-c", "exec 3>>'" + held + "'; echo held >&3; exec sleep 600"},
                                   "holder");
    REQUIRE(Cluster::eventually(5s, [&] { return c.lab().read_file_in(kN1, held) == std::string("held\n"); }));
    REQUIRE(c.lab().running(holder.pid));
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    auto r = c.hactl(kN1, {"move"});
    INFO(r.describe() << r.out << r.err);
    REQUIRE(r.success());
    REQUIRE(c.wait_running_on(kN2, 30s));
    auto status = c.lab().wait_exit(holder.pid, veeamha::base::Clock::now() + 10s);
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    REQUIRE(c.wait_settled(kN2, 10s));
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(in_order(l1, {"is busy, stopping the processes that hold it", "resource-stopped: fs_repo stopped",
                        "release: group stopped and released: admin move to n2"}));
    CHECK(l1.find("unclean") == std::string::npos);
    CHECK(no_fencing(l1 + l2));
    CHECK(c.lab().read_file_in(kN2, held) == std::string("held\n"));  // its data is there, on n2
    REQUIRE(c.wait_more_acks(50, 10s));
    check_records_and_mounts(c);
}
