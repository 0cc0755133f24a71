// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's self-test, part 2: the double-mount watcher, and the repo service (server, the
// exec-resource script, the writer and the verifier), including a hand-made move of the
// service between the hosts while the writer writes.
#include <catch2/catch.hpp>

#include "tests/lab/lab.h"
#include "tests/lab/lab_test_util.h"
#include "tests/lab/mount_watch.h"
#include "tests/lab/writer.h"

using namespace veeamha;
using namespace veeamha::lab;
using namespace veeamha::lab::testing;
using namespace std::chrono_literals;

namespace {

LabOptions disk_only() {
    LabOptions o;
    o.vcenter = false;
    return o;
}

void run_ok(Lab& lab, const std::string& host, const std::vector<std::string>& argv) {
    auto r = lab.exec_in(host, argv, 20s);
    INFO(host << ": " << base::format_command(argv) << ": " << r.describe() << "\n" << r.out << r.err);
    REQUIRE(r.success());
}

int service(Lab& lab, const std::string& host, const std::string& verb) {
    auto r = lab.exec_in(host, {lab.repo_service(), verb, lab.floating_ip(), lab.mountpoint()}, 20s);
    UNSCOPED_INFO(host << " repo-service " << verb << ": " << r.describe() << "\n" << r.err);
    return r.ended == base::ProcessResult::Ended::Exited ? r.exit_code : -1;
}

}  // namespace

TEST_CASE("lab: the double-mount watcher", "[lab]") {
    Lab lab(disk_only());
    const std::string dev = lab.loop_device();
    const std::string mp = lab.mountpoint();

    SECTION("one host at a time: no double mount, and the watcher saw each mount") {
        DoubleMountWatcher watcher(lab, lab.disk_dev());
        run_ok(lab, kN1, {"mount", dev, mp});
        REQUIRE(eventually(5s, [&] { return watcher.mounted_samples(0) >= 20; }));
        run_ok(lab, kN1, {"umount", mp});
        run_ok(lab, kN2, {"mount", dev, mp});
        REQUIRE(eventually(5s, [&] { return watcher.mounted_samples(1) >= 20; }));
        // A crash (or a vCenter power-off) takes the host's mount table with it.
        lab.kill(kN2);
        CHECK(DoubleMountWatcher::mount_line(lab.init_pid(kN2), lab.disk_dev()).empty());
        run_ok(lab, kN1, {"mount", dev, mp});
        REQUIRE(eventually(5s, [&] { return watcher.mounted_samples(0) >= 40; }));
        watcher.stop();
        INFO(watcher.report());
        CHECK(watcher.overlap_count() == 0);
        CHECK(watcher.samples() > 50);
    }
    SECTION("both hosts mount it: detected") {
        DoubleMountWatcher watcher(lab, lab.disk_dev());
        run_ok(lab, kN1, {"mount", dev, mp});
        run_ok(lab, kN2, {"mount", dev, mp});  // one superblock: the kernel allows it
        REQUIRE(eventually(5s, [&] { return watcher.overlap_count() >= 3; }));
        watcher.stop();
        INFO(watcher.report());
        auto o = watcher.overlaps();
        REQUIRE(!o.empty());
        CHECK(o.front().n1.find(mp) != std::string::npos);
        CHECK(o.front().n2.find(mp) != std::string::npos);
    }
    // Mounts in the hosts never show in the machine's own mount table.
    CHECK(slurp("/proc/self/mountinfo").find(mp) == std::string::npos);
}

TEST_CASE("lab: repo service with writer and verifier across a move between hosts", "[lab]") {
    Lab lab(disk_only());
    const std::string dev = lab.loop_device();
    const std::string mp = lab.mountpoint();
    const std::string cidr = lab.floating_cidr();

    // What the daemon's resources would do on n1: mount, floating IP, service.
    CHECK(service(lab, kN1, "monitor") == 7);
    CHECK(service(lab, kN1, "start") != 0);  // not mounted yet: refuses to serve the bare folder
    run_ok(lab, kN1, {"mount", dev, mp});
    run_ok(lab, kN1, {"ip", "address", "add", cidr, "dev", "eth0"});
    CHECK(!lab.service_answers(300ms));
    REQUIRE(service(lab, kN1, "start") == 0);
    CHECK(service(lab, kN1, "monitor") == 0);
    CHECK(service(lab, kN1, "start") == 0);  // idempotent
    CHECK(lab.service_answers());
    CHECK(lab.hosts_with_floating_ip() == std::vector<std::string>{kN1});
    CHECK(lab.disk_mounted_in(kN1));
    CHECK(!lab.disk_mounted_in(kN2));

    DoubleMountWatcher watcher(lab, lab.disk_dev());
    WriterOptions wo;
    wo.netns = lab.netns(kClient);
    wo.address = lab.floating_ip();
    wo.pause = 0ms;
    RepoWriter writer(wo);
    REQUIRE(writer.wait_acked(200, base::Clock::now() + 20s));

    // Running but not answering: monitor says 1 (the server is stopped, not gone).
    auto pid = lab.read_file_in(kN1, "/run/veeam-ha/repo-server.pid");
    REQUIRE(pid);
    std::string host_pid = pid->substr(0, pid->find('\n'));
    run_ok(lab, kN1, {"kill", "-STOP", host_pid});
    CHECK(service(lab, kN1, "monitor") == 1);
    run_ok(lab, kN1, {"kill", "-CONT", host_pid});
    CHECK(service(lab, kN1, "monitor") == 0);

    // The move by hand, in the daemon's order: stop the service, drop the IP, unmount on n1;
    // mount, add the IP (with gratuitous ARP), start on n2. The writer reconnects by itself.
    uint64_t before = writer.stats().acked;
    REQUIRE(service(lab, kN1, "stop") == 0);
    CHECK(service(lab, kN1, "monitor") == 7);
    CHECK(service(lab, kN1, "stop") == 0);  // stopping what is stopped succeeds
    run_ok(lab, kN1, {"ip", "address", "del", cidr, "dev", "eth0"});
    run_ok(lab, kN1, {"umount", mp});
    run_ok(lab, kN2, {"mount", dev, mp});
    run_ok(lab, kN2, {"ip", "address", "add", cidr, "dev", "eth0"});
    // Gratuitous ARP, as the ip resource sends: else the client keeps n1's MAC for 20-40 s.
    // (arping exits 1 when nobody answers, which nobody does to an unsolicited ARP.)
    // Debian's arping (Habets) needs -S: else the sender address is eth0's own.
    auto garp = lab.exec_in(
        kN2, {"arping", "-q", "-U", "-S", lab.floating_ip(), "-c", "1", "-i", "eth0", lab.floating_ip()}, 10s);
    INFO(garp.describe() << garp.err);
    REQUIRE(garp.ended == base::ProcessResult::Ended::Exited);
    REQUIRE(garp.err.empty());
    REQUIRE(service(lab, kN2, "start") == 0);
    REQUIRE(writer.wait_acked(before + 200, base::Clock::now() + 20s));
    writer.stop();
    CHECK(lab.hosts_with_floating_ip() == std::vector<std::string>{kN2});
    CHECK(lab.disk_mounted_in(kN2));
    CHECK(!lab.disk_mounted_in(kN1));
    CHECK(lab.service_answers());
    watcher.stop();
    INFO(watcher.report());
    CHECK(watcher.overlap_count() == 0);
    CHECK(watcher.mounted_samples(0) > 0);
    CHECK(watcher.mounted_samples(1) > 0);

    auto acked = writer.acked();
    auto stats = writer.stats();
    INFO("writer: " << stats.acked << " acked, " << stats.failures << " failures, " << stats.connects
                    << " connects, last error: " << stats.last_error);
    CHECK(stats.connects >= 2);  // it had to reconnect after the move

    // Read back through the service (now on n2) and straight from n2's mount of the disk.
    std::string error;
    auto through = fetch_through_service(lab.netns(kClient), lab.floating_ip(), lab.repo_port(), "records.log", &error);
    INFO(error);
    REQUIRE(through);
    auto v = verify_records(*through, acked);
    INFO(v.summary());
    CHECK(v.ok());
    CHECK(v.intact == acked.size());
    auto direct = lab.read_file_in(kN2, mp + "/records.log");
    REQUIRE(direct);
    CHECK(*direct == *through);

    // The verifier can fail: a damaged byte in an acknowledged record, a lost tail.
    std::string damaged = *through;
    damaged[acked[acked.size() / 2].offset + 30] ^= 0x01;
    auto bad = verify_records(damaged, acked);
    CHECK(!bad.ok());
    CHECK(bad.missing == 1);
    auto lost = verify_records(through->substr(0, acked.back().offset), acked);
    CHECK(lost.missing == 1);
    CHECK(!lost.ok());
    REQUIRE(service(lab, kN2, "stop") == 0);
}

TEST_CASE("lab: record format and verifier edge cases", "[lab]") {
    // No lab needed: the record format, duplicates and torn (unacknowledged) writes.
    std::string file;
    std::vector<Ack> acked;
    for (uint64_t seq = 1; seq <= 5; ++seq) {
        acked.push_back({seq, file.size(), {}});
        file += make_record(seq);
    }
    file += make_record(5);                       // a retried write whose first ack was lost
    file += make_record(6).substr(0, 20);         // torn in the middle...
    acked.push_back({7, file.size(), {}});
    file += make_record(7);                       // ...and the next write after a failover
    auto v = verify_records(file, acked);
    INFO(v.summary());
    CHECK(v.ok());
    CHECK(v.intact == 6);
    CHECK(v.duplicates == 1);
    CHECK(v.torn == 1);
    CHECK(v.records_in_file == 7);
    CHECK(make_record(3) == make_record(3));
    CHECK(make_record(3) != make_record(4));
}
