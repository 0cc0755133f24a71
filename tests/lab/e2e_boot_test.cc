// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, item 6 of the safety issue: after a reboot nothing is adopted. A crashed active
// host boots while its peer runs the group, and its OS mounts the shared XFS before veeam-had
// starts (an fstab line left behind). Its daemon must stop that at once (`found-active-at-boot`,
// an error, alerted) and never run the group, whether it hears its peer when it decides (links
// up) or not (its cables out until after it decided: without a boot id of its own per power-on
// the lab could not tell this reboot from a daemon restart, and the daemon adopted the group).
//
// The test plays the OS: its own mount on n1 while n2 has the disk is a double mount it causes
// on purpose. The watcher must see it, and only between that mount and the daemon's unmount.
#include <catch2/catch.hpp>

#include "tests/lab/e2e_checks.h"
#include "tests/lab/e2e_cluster.h"
#include "tests/lab/e2e_sampler.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

namespace {

enum class Links { Up, CutUntilDecided };

void crashed_active_boots_with_the_disk_mounted(Links links) {
    ClusterOptions o;
    o.record_alerts = true;
    Cluster c(o);
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(30, 10s));

    // Crash of the active; n2 fences it through vCenter and takes over.
    c.lab().kill(kN1);
    REQUIRE(c.wait_running_on(kN2, 20s));
    REQUIRE(c.lab().vm_off(kN1));
    REQUIRE(c.wait_more_acks(30, 10s));
    const pid_t n2_service = c.service_pid(kN2);
    REQUIRE(n2_service > 0);
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    // n1 powers on (through vCenter: a new boot, a new boot id); its daemon does not start yet.
    c.set_start_on_power_on(false);
    c.lab().power_on(kN1);
    REQUIRE(c.lab().powered(kN1));
    if (links == Links::CutUntilDecided) c.lab().isolate(kN1);
    TruthSampler n1_truth(c, kN1);

    // The OS mounts the shared disk at the group's mountpoint (the fstab line), then systemd
    // starts veeam-had.
    const auto os_mount = Clock::now();
    auto m = c.lab().exec_in(kN1, {"mount", "-t", "xfs", c.lab().loop_device(), c.lab().mountpoint()});
    INFO(m.describe() << m.err);
    REQUIRE(m.success());
    REQUIRE(c.lab().disk_mounted_in(kN1));
    c.start_daemon(kN1);
    const auto daemon_start = Clock::now();

    // The world first: within a few seconds of the OS's mount n1 no longer has the disk. With
    // its cables out, they stay out until then: it decides without its peer.
    const bool unmounted = Cluster::eventually(5s, [&] { return !c.lab().disk_mounted_in(kN1); }, 5ms);
    const auto seen_unmounted = Clock::now();
    CHECK(unmounted);
    if (links == Links::CutUntilDecided) c.lab().reconnect(kN1);

    // Back together: n1 passive, n2 still owns and runs the group (never restarted).
    CHECK(c.wait_settled(kN2, 20s));
    CHECK(c.running_on() == kN2);
    CHECK(c.service_pid(kN2) == n2_service);
    StatusView s1 = c.status(kN1);
    INFO(s1.error << s1.raw);
    CHECK(s1.owner == kN2);
    CHECK(s1.local_state == "passive");
    REQUIRE(c.wait_more_acks(30, 10s));

    // At no sample did n1's daemon have the floating IP or the repo service.
    n1_truth.stop();
    const TruthSampler::Seen seen = n1_truth.seen();
    INFO("n1 sampled " << seen.samples << " times: mounted in " << seen.mounted << ", floating IP in "
                       << seen.floating_ip << ", service in " << seen.service);
    // It was looking: from before the OS's mount until the cluster had settled again, never
    // blind for long, and it saw the OS's mount.
    REQUIRE(seen.first_at);
    CHECK(*seen.first_at <= os_mount);
    CHECK(*seen.last_at >= seen_unmounted);
    CHECK(seen.max_gap < 1s);
    CHECK(seen.mounted > 0);
    CHECK(seen.floating_ip == 0);
    CHECK(seen.service == 0);
    CHECK(!c.truth(kN1).anything());

    // The reasons: stopped as the OS's doing, never adopted, nothing started; the alert ran.
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO("n1:\n" << l1 << "\nn2:\n" << l2);
    CHECK(l1.find("found-active-at-boot") != std::string::npos);
    CHECK(l1.find("adopt") == std::string::npos);
    CHECK(l1.find("resource-start") == std::string::npos);
    CHECK(l1.find("takeover") == std::string::npos);
    CHECK(Cluster::eventually(5s, [&] { return c.alerts(kN1).find("found-active-at-boot") != std::string::npos; }));
    // Nobody was fenced for it: n1 stopped what the OS started by itself.
    CHECK(no_fencing(l1 + l2));
    CHECK(c.vcenter_power(kN1) == "on");

    // The records, and the double mount: the test's own, and short.
    CHECK(seen_unmounted - os_mount < 5s);
    check_records_and_mounts_within(c, os_mount, seen_unmounted);
    // Stopped at its first probe: the double mount ended sooner than a daemon that waits to hear
    // its peer (two heartbeat timeouts, 2 s here) could have ended it.
    const auto last = c.watcher().last_overlap_at();
    REQUIRE(last);
    INFO("the double mount ended " << std::chrono::duration_cast<std::chrono::milliseconds>(*last - daemon_start).count()
                                   << " ms after n1's daemon started");
    CHECK(*last - daemon_start < 1s);
}

}  // namespace

TEST_CASE("e2e: a crashed active boots with the disk mounted by the OS while the peer runs the group: stopped at once",
          "[e2e]") {
    crashed_active_boots_with_the_disk_mounted(Links::Up);
}

TEST_CASE("e2e: a crashed active boots with the disk mounted by the OS and its cables out until it decided: "
          "stopped at once, not adopted",
          "[e2e]") {
    crashed_active_boots_with_the_disk_mounted(Links::CutUntilDecided);
}
