// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, issue 14 part 3 ("the two hosts are one"): `veeam-hactl check --peer` between two
// real daemons. Each lab host has its own /etc/ssh, /etc/passwd, /etc/group and dpkg database
// (lab.h host_identity); alike, nothing differs; with another host key, UID, package version
// and a config field on n2, each is one line with its fix, from either node, and also in
// status --json, /status, /metrics and the log (peer-drift). The hosts share the machine's
// kernel clock and have no systemd of their own (units: "unknown (no systemd)"; the unit
// enabled at boot is tested against real `systemctl --root` in tests/runtime).
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <sstream>

#include "base/process.h"
#include "tests/common/read_file.h"
#include "tests/lab/e2e_checks.h"
#include "tests/lab/e2e_cluster.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;
namespace base = veeamha::base;

namespace {

// "ITEM: STATE..." lines -> item -> the rest after "ITEM: ".
std::map<std::string, std::string> lines_of(const std::string& out) {
    std::map<std::string, std::string> m;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        // Items may contain ": " only in their detail; the item is up to the first ": ".
        auto at = line.find(": ");
        if (at != std::string::npos) m[line.substr(0, at)] = line.substr(at + 2);
    }
    return m;
}

using veeamha::test::slurp;

// In place: the host's bind mount holds the file's inode.
void rewrite(const std::string& path, const std::string& from, const std::string& to) {
    std::string text = slurp(path);
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(path, std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("e2e: check --peer: alike hosts, then a planted host key, UID, package version and config field",
          "[e2e]") {
    ClusterOptions o;
    o.writer = false;
    Cluster c(o);
    REQUIRE(c.wait_settled(kN1, 20s));
    const bool systemd = ::access("/run/systemd/system", F_OK) == 0;
    const std::string mp = c.lab().mountpoint();

    auto run_check = [&](const std::string& host) {
        base::ProcessResult r = c.hactl(host, {"check", "--peer"}, 60s);
        INFO(host << " check --peer: " << r.describe() << "\n" << r.out << r.err);
        REQUIRE(r.ended == base::ProcessResult::Ended::Exited);
        return r;
    };

    // Alike: every item ok, except what both hosts share and cannot be alike by (the kernel clock
    // when the machine is not synchronised; units without systemd).
    base::ProcessResult alike = run_check(kN1);
    auto l = lines_of(alike.out);
    INFO(alike.out);
    CHECK(l["version"].rfind("ok (veeam-had ", 0) == 0);
    CHECK(l["config"].rfind("ok (the same", 0) == 0);
    CHECK(l["ssh-host-key ed25519"].rfind("ok (SHA256:", 0) == 0);
    CHECK(l["user veeam-usr-1"] == "ok (uid 990 gid 990)");
    CHECK(l["group veeam"] == "ok (gid 990)");
    CHECK(l["package veeamtransport"] == std::string("ok (") + Lab::kVeeamTransportVersion + ")");
    CHECK(l["lvm system_id_source"].rfind("ok (", 0) == 0);
    CHECK(l["clock-offset"].rfind("ok (n2 is ", 0) == 0);
    CHECK(l["xfs " + mp] == "ok (reflink=1 crc=1 (mounted on n1))");
    if (!systemd) CHECK(l["unit"] == "unknown (no systemd)");
    const bool synced = l["time-sync"].rfind("ok", 0) == 0;
    if (!synced) CHECK(l["time-sync"].rfind("different: not synchronised on n1, not synchronised on n2", 0) == 0);
    int different = 0;
    for (const auto& [item, rest] : l) different += rest.rfind("different", 0) == 0;
    CHECK(different == (synced ? 0 : 1));
    CHECK(alike.exit_code == (synced ? 0 : 1));

    // Planted on n2: another host key, another UID, another package version, a config field
    // (the shared file changed and only n2 reloaded it).
    const std::string id2 = c.lab().host_identity(kN2);
    {
        const std::string key = slurp(c.lab().host_identity(kN1) + "/ssh/ssh_host_ed25519_key.pub");
        base::ProcessSpec spec;
        spec.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", id2 + "/other"};
        spec.deadline = base::Clock::now() + 30s;
        REQUIRE(base::run_process(spec).success());
        std::ofstream(id2 + "/ssh/ssh_host_ed25519_key.pub", std::ios::trunc) << slurp(id2 + "/other.pub");
        CHECK(slurp(id2 + "/ssh/ssh_host_ed25519_key.pub") != key);
    }
    rewrite(id2 + "/passwd", "veeam-usr-1:x:990:", "veeam-usr-1:x:991:");
    rewrite(id2 + "/dpkg-status", std::string("Version: ") + Lab::kVeeamTransportVersion, "Version: 12.0.0.1420");
    const size_t mark = c.log_mark(kN2), mark_n1 = c.log_mark(kN1);
    rewrite(c.config_path(), "  failure_timeout: 10m\n", "  failure_timeout: 11m\n");
    REQUIRE(::kill(c.daemon_pid(kN2), SIGHUP) == 0);
    REQUIRE(c.wait_log(kN2, "configuration reloaded", 20s, mark));
    // The digest in n2's heartbeats covers every setting and was recomputed by the reload.
    CHECK(c.wait_log(kN1, "config-mismatch: n2 runs with a different cluster configuration", 10s, mark_n1));

    const size_t mark1 = c.log_mark(kN1);
    // From either node the fixes copy from n1, which runs the group (what Veeam's server sees).
    for (const std::string host : {kN1, kN2}) {
        INFO("on " << host);
        base::ProcessResult r = run_check(host);
        auto d = lines_of(r.out);
        INFO(r.out);
        CHECK(r.exit_code == 1);
        CHECK(d["ssh-host-key ed25519"].find("; fix: scp -p /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub "
                                             "n2:/etc/ssh/ on n1, then systemctl reload ssh on n2") != std::string::npos);
        CHECK(d["user veeam-usr-1"] ==
              "different: uid 990 gid 990 on n1, uid 991 gid 990 on n2; fix: usermod -u 990 veeam-usr-1 on n2");
        CHECK(d["package veeamtransport"] == std::string("different: ") + Lab::kVeeamTransportVersion +
                                                 " on n1, 12.0.0.1420 on n2; fix: apt-get install veeamtransport=" +
                                                 Lab::kVeeamTransportVersion + " on n2");
        CHECK(d["config"] == "different: policy.failure_timeout: 600000ms on n1, 660000ms on n2; fix: scp -p " +
                                 c.config_path() + " n2:" + c.config_path() +
                                 " on n1, then systemctl reload veeam-had on n2");
        int n = 0;
        for (const auto& [item, rest] : d) n += rest.rfind("different", 0) == 0;
        CHECK(n == (synced ? 4 : 5));
    }
    // The daemon said so: a warning with the alert event, the metric, the status.
    CHECK(c.wait_log(kN1, "peer-drift: n1 and n2 differ: ", 5s, mark1));
    auto metrics = c.http_get(kN1, "/metrics");
    REQUIRE(metrics);
    CHECK(metrics->find("veeamha_peer_drift{cluster=") != std::string::npos);
    CHECK(metrics->find("item=\"user\"} 1\n") != std::string::npos);
    CHECK(metrics->find("item=\"version\"} 0\n") != std::string::npos);
    auto status = c.http_get(kN1, "/status");
    REQUIRE(status);
    CHECK(status->find("\"peer_check\"") != std::string::npos);
    CHECK(status->find("usermod -u 990 veeam-usr-1 on n2") != std::string::npos);
    CHECK(c.hactl(kN1, {"status", "--json"}).out.find("usermod -u 990 veeam-usr-1 on n2") != std::string::npos);
    // Never a failover: the group stays where it was.
    CHECK(c.running_on() == kN1);
    CHECK(no_fencing(c.log(kN1)));
    CHECK(no_fencing(c.log(kN2)));

    // n1 reloads the shared file too. n2's own last comparison was made before that (1 s after
    // its reload): it compares again when n1's digest changes, not at its next round in 5 min.
    auto config_drift = [&](const char* host) {
        auto m = c.http_get(host, "/metrics");
        return m && m->find("item=\"config\"} 1\n") != std::string::npos;
    };
    REQUIRE(config_drift(kN2));
    const size_t mark_reload = c.log_mark(kN1);
    REQUIRE(::kill(c.daemon_pid(kN1), SIGHUP) == 0);
    REQUIRE(c.wait_log(kN1, "configuration reloaded", 20s, mark_reload));
    CHECK(Cluster::eventually(10s, [&] { return !config_drift(kN2) && !config_drift(kN1); }, 100ms));

    // The peer gone: exit 3, and it says why.
    REQUIRE(c.stop_daemon(kN2));
    base::ProcessResult gone = run_check(kN1);
    CHECK(gone.exit_code == 3);
    CHECK(gone.out == "peer n2: n2 is not reachable over the peer channel\n");
}
