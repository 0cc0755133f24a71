// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, `sync:` (issue 14): the SSH host keys and a folder kept identical by two real
// daemons in the lab. Each host has a private /etc/ssh and /srv/veeam-ha-sync (LabOptions::
// private_ssh) and runs a real sshd on its own port 22. Different host keys at start converge to
// the holder's; a key changed on the active reaches the passive with owner and mode kept (the
// latency of each change is measured and printed); the passive's sshd is reloaded and serves the
// new keys; a 5 MiB file is synced and a file over sync.max_file_size is refused once with a
// clear status; after a crash failover ssh-keyscan of the floating IP shows the same keys.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "base/process.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/lab/e2e_cluster.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;
namespace fs = std::filesystem;
namespace pt = boost::property_tree;

namespace {

const char* kSshReload = "/run/veeam-ha/sshd.pid";

using veeamha::test::slurp;

void run(const std::vector<std::string>& argv) {
    veeamha::base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = veeamha::base::Clock::now() + 30s;
    auto r = veeamha::base::run_process(spec);
    if (!r.success()) throw std::runtime_error(veeamha::base::format_command(argv) + ": " + r.describe());
}

// A fresh key pair of `type` at `path` (+ .pub), written aside and renamed into place as an
// admin's tool would.
void new_key(const std::string& path, const std::string& type) {
    const std::string aside = fs::path(path).parent_path().string() + "/new-" + fs::path(path).filename().string();
    fs::remove(aside);
    fs::remove(aside + ".pub");
    run({"ssh-keygen", "-q", "-t", type, "-N", "", "-C", "lab", "-f", aside});
    fs::rename(aside + ".pub", path + ".pub");
    fs::rename(aside, path);
}

// The host keys a host's /etc/ssh holds: name -> content, owner, group and mode.
std::map<std::string, std::string> host_keys(const std::string& ssh_dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(ssh_dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("ssh_host_", 0) != 0) continue;
        struct stat st{};
        if (::lstat(e.path().c_str(), &st) != 0) continue;
        out[name] = slurp(e.path().string()) + "|" + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + ":" +
                    std::to_string(st.st_mode & 07777);
    }
    return out;
}

// The keys sshd at `address` presents (ssh-keyscan from the client), sorted, without comments.
std::set<std::string> keyscan(Cluster& c, const std::string& address) {
    auto r = c.lab().exec_in(kClient, {"ssh-keyscan", "-T", "3", "-t", "ed25519,ecdsa", address}, 15s);
    std::set<std::string> keys;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') keys.insert(line.substr(line.find(' ') + 1));
    return keys;
}

void start_sshd(Cluster& c, const std::string& host) {
    const std::string config = "Port 22\nListenAddress 0.0.0.0\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
                               "HostKey /etc/ssh/ssh_host_ecdsa_key\nPidFile /run/veeam-ha/sshd.pid\n"
                               "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n";
    std::ofstream(c.lab().host_ssh(host) + "/sshd_config") << config;
    c.lab().spawn_in(host, {"/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"}, "sshd");
}

struct SyncRow {
    std::string state, error;
};

// `status --json` sync rows of a host: path -> state and error.
std::map<std::string, SyncRow> sync_rows(Cluster& c, const std::string& host) {
    std::map<std::string, SyncRow> out;
    StatusView s = c.status(host);
    if (!s.ok) return out;
    pt::ptree t;
    std::istringstream in(s.raw);
    pt::read_json(in, t);
    if (auto rows = t.get_child_optional("sync"))
        for (const auto& [_, row] : *rows)
            out[row.get<std::string>("path")] = {row.get<std::string>("state"), row.get<std::string>("error", "")};
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace

TEST_CASE("e2e: sync: host keys converge, changes reach the passive within a second, failover keeps the keys",
          "[e2e][sync]") {
    if (!fs::exists("/usr/sbin/sshd")) VEEAMHA_SKIP_TEST("no /usr/sbin/sshd (scripts/install-deps installs openssh-server)");
    ClusterOptions o;
    o.lab.private_ssh = true;
    o.start_daemons = false;
    o.extra_yaml = std::string("sync:\n  paths: [") + Lab::kSyncedFolder + "]\n  ssh_host_keys: true\n"
                   "  ssh_reload: [/sbin/start-stop-daemon, --stop, --signal, HUP, --quiet, --oknodo, --pidfile, " +
                   kSshReload + "]\n  max_file_size: 8MiB\n";
    Cluster c(o);
    const std::string ssh1 = c.lab().host_ssh(kN1), ssh2 = c.lab().host_ssh(kN2);
    const std::string dir1 = c.lab().host_synced(kN1), dir2 = c.lab().host_synced(kN2);
    for (const auto& dir : {ssh1, ssh2}) {  // each host its own keys, as two installs have
        new_key(dir + "/ssh_host_ed25519_key", "ed25519");
        new_key(dir + "/ssh_host_ecdsa_key", "ecdsa");
    }
    std::ofstream(dir1 + "/VeeamNetConfig") << "holder's\n";
    std::ofstream(dir2 + "/only-on-n2") << "removed by the sync\n";
    REQUIRE(host_keys(ssh1) != host_keys(ssh2));
    start_sshd(c, kN1);
    start_sshd(c, kN2);
    REQUIRE(Cluster::eventually(10s, [&] { return !keyscan(c, c.lab().address(kN2, kLan)).empty(); }));
    const std::set<std::string> n2_own_keys = keyscan(c, c.lab().address(kN2, kLan));

    // Cold start: once n1 holds the group (its peer granted it, so the peer is there), the keys
    // and the folder follow within a second.
    const auto started = Clock::now();
    c.start_daemon(kN1);
    c.start_daemon(kN2);
    auto converged = [&] {
        return host_keys(ssh2) == host_keys(ssh1) && slurp(dir2 + "/VeeamNetConfig") == "holder's\n" &&
               !fs::exists(dir2 + "/only-on-n2");
    };
    std::optional<Clock::time_point> converged_at;
    REQUIRE(Cluster::eventually(30s, [&] {
        if (!converged_at && converged()) converged_at = Clock::now();
        return c.status(kN1).local_state == "active";
    }, 5ms));
    const auto held = Clock::now();
    REQUIRE(Cluster::eventually(5s, converged, 5ms));
    if (!converged_at) converged_at = Clock::now();
    const double after_hold_ms = std::max(0.0, std::chrono::duration<double, std::milli>(*converged_at - held).count());
    std::printf("sync: keys and folder converged %.0f ms after both daemons started, %.0f ms after n1 was seen "
                "active (status polled)\n", std::chrono::duration<double, std::milli>(*converged_at - started).count(),
                after_hold_ms);
    CHECK(after_hold_ms < 1000);
    REQUIRE(c.wait_running_on(kN1, 30s));

    // The passive's sshd was reloaded: it serves the holder's keys now.
    const std::set<std::string> n1_keys = keyscan(c, c.lab().address(kN1, kLan));
    REQUIRE(!n1_keys.empty());
    CHECK(n1_keys != n2_own_keys);
    CHECK(Cluster::eventually(5s, [&] { return keyscan(c, c.lab().address(kN2, kLan)) == n1_keys; }, 100ms));

    // A key changed on the active: on the passive within a second, owner, group and mode kept.
    std::vector<double> latencies;
    for (int i = 0; i < 10; ++i) {
        new_key(ssh1 + "/ssh_host_ed25519_key", "ed25519");
        const std::string key = ssh1 + "/ssh_host_ed25519_key";
        REQUIRE(::chown(key.c_str(), 0, 100 + i) == 0);
        REQUIRE(::chmod(key.c_str(), i % 2 ? 0640 : 0600) == 0);
        const auto changed = Clock::now();
        REQUIRE(Cluster::eventually(5s, [&] { return host_keys(ssh2) == host_keys(ssh1); }, 2ms));
        latencies.push_back(ms_since(changed));
    }
    struct stat st{};
    REQUIRE(::stat((ssh2 + "/ssh_host_ed25519_key").c_str(), &st) == 0);
    CHECK(st.st_gid == 109);
    CHECK((st.st_mode & 07777) == 0640);
    const double worst = *std::max_element(latencies.begin(), latencies.end());
    std::printf("sync: change on the active to the passive: median %.1f ms, max %.1f ms (%zu changes)\n",
                median(latencies), worst, latencies.size());
    CHECK(worst < 1000);

    // A 5 MiB file arrives whole; one over sync.max_file_size (8 MiB) is refused, once, clearly.
    std::string big(5u << 20, '\0');
    std::mt19937_64 rng(7);
    for (auto& ch : big) ch = static_cast<char>(rng());
    std::ofstream(dir1 + "/big.bin", std::ios::binary) << big;
    const auto big_at = Clock::now();
    REQUIRE(Cluster::eventually(20s, [&] { return slurp(dir2 + "/big.bin") == big; }, 20ms));
    std::printf("sync: a 5 MiB file reached the passive in %.0f ms\n", ms_since(big_at));
    const std::string huge_path = std::string(Lab::kSyncedFolder) + "/huge.bin";
    {
        const std::string aside = c.lab().run_dir() + "/huge.bin";  // made aside: arrives whole
        std::ofstream(aside).close();
        fs::resize_file(aside, 9u << 20);
        fs::rename(aside, dir1 + "/huge.bin");
    }
    REQUIRE(Cluster::eventually(5s, [&] { return sync_rows(c, kN1)[huge_path].state == "refused"; }));
    CHECK_THAT(sync_rows(c, kN1)[huge_path].error, Catch::Contains("larger than sync.max_file_size"));
    CHECK(Cluster::eventually(5s, [&] { return sync_rows(c, kN2)[huge_path].state == "refused"; }));  // its compare
    CHECK(sync_rows(c, kN1)[std::string(Lab::kSyncedFolder) + "/big.bin"].state == "in-sync");
    CHECK(!fs::exists(dir2 + "/huge.bin"));
    // Other changes, and the full compare every 10 s, do not try it again.
    std::ofstream(dir1 + "/another") << "x";
    REQUIRE(Cluster::eventually(5s, [&] { return fs::exists(dir2 + "/another"); }));
    REQUIRE(c.wait_log(kN1, "sync: sent /srv/veeam-ha-sync/another", 5s));
    CHECK(Cluster::count(c.log(kN1), "huge.bin is not synced") == 1);
    CHECK(Cluster::count(c.log(kN1), "sent /srv/veeam-ha-sync/huge.bin") == 0);

    // Crash failover: the floating IP presents the same host keys from n2.
    const std::set<std::string> before = keyscan(c, c.lab().floating_ip());
    REQUIRE(!before.empty());
    c.lab().kill(kN1);
    REQUIRE(c.wait_running_on(kN2, 30s));
    CHECK(keyscan(c, c.lab().floating_ip()) == before);
}
