// SPDX-License-Identifier: GPL-2.0-or-later
// The peer check's fact gatherers against real files under a temporary root, checked against
// the real tools (ssh-keygen -lf, systemctl --root, dpkg-query --admindir, lvmconfig, xfs_info), and a whole check of
// two such roots with the differences the issue names planted in one of them.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "base/process.h"
#include "daemon/runtime/host_facts.h"
#include "daemon/runtime/peer_compare.h"
#include "daemon/runtime/sync/scan.h"
#include "tests/common/skip.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;
using veeamha::test::TempDir;
namespace fs = std::filesystem;

namespace {

void put(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
}

base::ProcessResult run(std::vector<std::string> argv) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = base::Clock::now() + std::chrono::seconds(30);
    return base::run_process(spec);
}

const char* kStatus =
    "Package: veeamtransport\nStatus: install ok installed\nVersion: 12.1.0.2131\nDescription: x\n continued\n\n"
    "Package: veeam-ignored\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
    "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n"
    "Package: veeamsnap\nStatus: install ok installed\nVersion: 6.0.3.1221\n";

// A host's /etc and /var as the gatherers read them, with `uid` for veeam-usr-1.
void make_host(const std::string& root, int uid, const std::string& key_pub) {
    put(root + "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nveeam-usr-1:x:" + std::to_string(uid) +
            ":990::/home/veeam-usr-1:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n");
    put(root + "/etc/group", "root:x:0:\nveeam:x:990:\nusers:x:100:\n");
    put(root + "/etc/ssh/ssh_host_ed25519_key.pub", key_pub);
    put(root + "/var/lib/dpkg/status", kStatus);
    put(root + "/etc/lvm/lvm.conf", "global {\n  system_id_source = \"uname\"\n}\n");
    put(root + "/etc/systemd/system/veeamtransport.service",
        "[Unit]\nDescription=Veeam transport\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
    put(root + "/etc/systemd/system/veeamtransport.service.d/limits.conf", "[Service]\nLimitNOFILE=65536\n");
    put(root + "/etc/app.conf", "setting=1\n");
    fs::create_directories(root + "/run/systemd/system");  // as on a host that systemd runs
}

std::string keygen(const std::string& dir) {
    auto r = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", dir + "/key"});
    REQUIRE(r.success());
    std::ifstream in(dir + "/key.pub");
    std::string line;
    std::getline(in, line);
    return line + "\n";
}

}  // namespace

TEST_CASE("host facts: ssh host key fingerprints are what ssh-keygen -lf prints") {
    TempDir t{"veeamha-facts"};
    for (const char* type : {"ed25519", "rsa", "ecdsa"}) {
        auto r = run({"ssh-keygen", "-q", "-t", type, "-N", "", "-f", t.path + "/etc/ssh/ssh_host_" + std::string(type) + "_key"});
        if (!r.success()) {  // the directory first
            fs::create_directories(t.path + "/etc/ssh");
            r = run({"ssh-keygen", "-q", "-t", type, "-N", "", "-f", t.path + "/etc/ssh/ssh_host_" + std::string(type) + "_key"});
        }
        REQUIRE(r.success());
    }
    std::string problem;
    auto keys = runtime::ssh_host_keys(t.path, problem);
    CHECK(problem.empty());
    REQUIRE(keys.size() == 3);
    for (const auto& k : keys) {
        INFO(k.type());
        auto r = run({"ssh-keygen", "-lf", t.path + "/etc/ssh/ssh_host_" + k.type() + "_key.pub"});
        REQUIRE(r.success());
        // "256 SHA256:... comment (ED25519)"
        std::string printed = r.out.substr(r.out.find(' ') + 1);
        printed = printed.substr(0, printed.find(' '));
        CHECK(k.fingerprint() == printed);
    }
    CHECK(runtime::ssh_fingerprint("not a key").empty());
    TempDir empty{"veeamha-facts"};
    CHECK(runtime::ssh_host_keys(empty.path, problem).empty());
    CHECK(problem == "no /etc/ssh/ssh_host_*_key.pub");
}

TEST_CASE("host facts: accounts from passwd and group files, veeam* by default or as listed") {
    TempDir t{"veeamha-facts"};
    make_host(t.path, 990, "");
    std::string problem;
    auto u = runtime::users(t.path, std::nullopt, problem);
    REQUIRE(u.size() == 1);
    CHECK(u[0].name() == "veeam-usr-1");
    CHECK(u[0].id() == 990);
    CHECK(u[0].gid() == 990);
    auto listed = runtime::users(t.path, std::vector<std::string>{"alice", "bob"}, problem);
    REQUIRE(listed.size() == 2);
    CHECK((listed[0].name() == "alice" && listed[0].exists() && listed[0].id() == 1000));
    CHECK((listed[1].name() == "bob" && !listed[1].exists()));
    auto g = runtime::groups(t.path, std::nullopt, problem);
    REQUIRE(g.size() == 1);
    CHECK((g[0].name() == "veeam" && g[0].id() == 990));
    CHECK(problem.empty());
    runtime::users(t.path + "/nowhere", std::nullopt, problem);
    CHECK(problem.find("/etc/passwd: No such file or directory") != std::string::npos);
}

TEST_CASE("host facts: veeam packages as dpkg-query lists them, installed ones only") {
    TempDir t{"veeamha-facts"};
    make_host(t.path, 990, "");
    std::vector<wire::PackageFact> p;
    std::string problem;
    REQUIRE(runtime::veeam_packages(t.path + "/var/lib/dpkg", p, problem));
    CHECK(problem.empty());
    REQUIRE(p.size() == 2);
    CHECK((p[0].name() == "veeamsnap" && p[0].version() == "6.0.3.1221"));
    CHECK((p[1].name() == "veeamtransport" && p[1].version() == "12.1.0.2131"));
    p.clear();
    CHECK(runtime::veeam_packages(t.path + "/nowhere", p, problem));  // an empty database
    CHECK(p.empty());
    CHECK(problem.empty());
}

TEST_CASE("host facts: lvmconfig reads system_id_source, with its default") {
    TempDir t{"veeamha-facts"};
    make_host(t.path, 990, "");
    std::string problem;
    CHECK(runtime::lvm_system_id_source(t.path, std::chrono::seconds(10), problem) == std::optional<std::string>("uname"));
    put(t.path + "/etc/lvm/lvm.conf", "global {\n}\n");
    CHECK(runtime::lvm_system_id_source(t.path, std::chrono::seconds(10), problem) == std::optional<std::string>("none"));
    CHECK(problem.empty());
    fs::remove(t.path + "/etc/lvm/lvm.conf");
    CHECK_FALSE(runtime::lvm_system_id_source(t.path, std::chrono::seconds(10), problem));
    CHECK(problem == "no /etc/lvm/lvm.conf");
}

TEST_CASE("host facts: a unit's files and its state at boot, through systemctl --root") {
    TempDir t{"veeamha-facts"};
    make_host(t.path, 990, "");
    auto u = runtime::unit_fact(t.path, "veeamtransport.service", std::chrono::seconds(10));
    INFO(u.error());
    CHECK(u.error().empty());
    CHECK(u.exists());
    CHECK(u.files() == "/etc/systemd/system/veeamtransport.service "
                       "/etc/systemd/system/veeamtransport.service.d/limits.conf");
    CHECK(u.enabled() == "disabled");
    const std::string before = u.sha256();
    put(t.path + "/etc/systemd/system/veeamtransport.service.d/limits.conf", "[Service]\nLimitNOFILE=1024\n");
    CHECK(runtime::unit_fact(t.path, "veeamtransport.service", std::chrono::seconds(10)).sha256() != before);
    REQUIRE(run({"systemctl", "--root=" + t.path, "enable", "veeamtransport.service"}).success());
    CHECK(runtime::unit_fact(t.path, "veeamtransport.service", std::chrono::seconds(10)).enabled() == "enabled");
    auto missing = runtime::unit_fact(t.path, "nothing.service", std::chrono::seconds(10));
    CHECK_FALSE(missing.exists());
    CHECK(runtime::systemd_runs(t.path));
    fs::remove(t.path + "/run/systemd/system");
    CHECK_FALSE(runtime::systemd_runs(t.path));
}

TEST_CASE("host facts: file hashes, missing files, and the kernel's clock state") {
    TempDir t{"veeamha-facts"};
    make_host(t.path, 990, "");
    auto h = runtime::file_hashes(t.path, {"/etc/app.conf", "/etc/none.conf"});
    REQUIRE(h.size() == 2);
    CHECK(h[0].sha256().size() == 32);
    CHECK(h[0].error().empty());
    CHECK(h[1].error() == "missing");

    // A folder counts as its files, as the sync reads it: a link and a file over the limit are
    // named with the reason, the sync's temp files are not there.
    put(t.path + "/etc/certs/a.pem", "A");
    put(t.path + "/etc/certs/sub/b.pem", "B");
    put(t.path + "/etc/certs/big.bin", std::string(2048, 'x'));
    put(t.path + "/etc/certs/.veeam-ha-sync.a.pem.123", "half");
    fs::create_directories(t.path + "/etc/certs/empty");
    fs::create_symlink("/etc/passwd", t.path + "/etc/certs/link");
    runtime::sync::Limits limits;
    limits.max_file_size = 1024;
    std::map<std::string, std::pair<std::string, std::string>> facts;  // path -> sha256, error
    for (const auto& f : runtime::file_hashes(t.path, {"/etc/certs", "/etc/none"}, limits))
        facts[f.path()] = {f.sha256(), f.error()};
    CHECK(facts.size() == 5);
    CHECK(facts["/etc/certs/a.pem"] == std::make_pair(runtime::sync::sha256("A"), std::string()));
    CHECK(facts["/etc/certs/sub/b.pem"] == std::make_pair(runtime::sync::sha256("B"), std::string()));
    CHECK_THAT(facts["/etc/certs/big.bin"].second, Catch::Contains("larger than sync.max_file_size"));
    CHECK_THAT(facts["/etc/certs/link"].second, Catch::Contains("symbolic link"));
    CHECK(facts["/etc/none"].second == "missing");
    limits.max_files = 3;
    h = runtime::file_hashes(t.path, {"/etc/certs"}, limits);
    REQUIRE(h.size() == 1);
    CHECK_THAT(h[0].error(), Catch::Contains("more than sync.max_files"));
    std::string problem;
    CHECK(runtime::time_synchronised(problem).has_value());
}

TEST_CASE("host facts: XFS reflink and crc read with XFS_IOC_FSGEOMETRY, as xfs_info says") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root to mount an XFS image");
    TempDir t{"veeamha-xfs"};
    for (const char* reflink : {"1", "0"}) {
        INFO("reflink=" << reflink);
        const std::string img = t.path + "/fs" + reflink + ".img", mp = "/mnt" + std::string(reflink);
        std::ofstream(img).close();
        fs::resize_file(img, 300u << 20);
        REQUIRE(run({"mkfs.xfs", "-q", "-m", std::string("crc=1,reflink=") + reflink, img}).success());
        fs::create_directories(t.path + mp);
        auto m = run({"mount", "-o", "loop", img, t.path + mp});
        if (!m.success()) VEEAMHA_SKIP_TEST("cannot mount a loop device here: " << m.describe());
        auto x = runtime::xfs_fact(t.path, mp);
        auto info = run({"xfs_info", t.path + mp});
        ::umount2((t.path + mp).c_str(), MNT_DETACH);
        INFO(x.error());
        CHECK(x.mounted());
        CHECK(x.crc());
        CHECK(x.reflink() == (reflink[0] == '1'));
        CHECK(info.out.find(std::string("reflink=") + reflink) != std::string::npos);
        CHECK_FALSE(runtime::xfs_fact(t.path, mp).mounted());  // the bare directory
    }
}

TEST_CASE("host facts: two hosts with planted differences, compared") {
    TempDir a{"veeamha-facts"}, b{"veeamha-facts"}, keys{"veeamha-facts"};
    const std::string key = keygen(keys.path);
    make_host(a.path, 990, key);
    make_host(b.path, 990, key);
    runtime::FactsSpec spec;
    spec.node = "n1";
    spec.holding = true;
    spec.config_digest = 7;
    spec.config_lines = {"policy.failback=false"};
    spec.config_path = "/etc/veeam-ha.yaml";
    spec.sync_paths = {"/etc/app.conf"};
    spec.units = {"veeamtransport.service"};
    spec.root = a.path;
    spec.dpkg_admindir = a.path + "/var/lib/dpkg";
    const wire::HostFacts n1 = runtime::gather_host_facts(spec);
    spec.root = b.path;
    spec.dpkg_admindir = b.path + "/var/lib/dpkg";
    spec.node = "n2";
    spec.holding = false;
    auto items = runtime::compare_hosts(n1, runtime::gather_host_facts(spec), 0.0);
    // Both "hosts" share this machine's kernel clock: synchronised or not on both alike.
    std::string problem;
    const bool synced = runtime::time_synchronised(problem).value_or(false);
    for (const auto& i : items) {
        INFO(runtime::format_item(i));
        CHECK(i.state() == (i.item() == "time-sync" && !synced ? "different" : "ok"));
    }

    // Another host key, UID, the unit enabled at boot, another package version, a config field.
    TempDir other_key{"veeamha-facts"};
    make_host(b.path, 991, keygen(other_key.path));
    REQUIRE(run({"systemctl", "--root=" + b.path, "enable", "veeamtransport.service"}).success());
    std::string status = kStatus;
    status.replace(status.find("12.1.0.2131"), 11, "12.0.0.1420");
    put(b.path + "/var/lib/dpkg/status", status);
    spec.config_digest = 8;
    spec.config_lines = {"policy.failback=true"};
    std::map<std::string, std::string> fixes;
    for (const auto& i : runtime::compare_hosts(n1, runtime::gather_host_facts(spec), 0.0))
        if (i.state() == "different" && i.item() != "time-sync") fixes[i.item()] = i.fix();
    CHECK(fixes.size() == 5);
    CHECK(fixes["ssh-host-key ed25519"] ==
          "scp -p /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub n2:/etc/ssh/ on n1, then "
          "systemctl reload ssh on n2");
    CHECK(fixes["user veeam-usr-1"] == "usermod -u 990 veeam-usr-1 on n2");
    CHECK(fixes["unit veeamtransport.service at boot"] == "systemctl disable veeamtransport.service on n2");
    CHECK(fixes["package veeamtransport"] == "apt-get install veeamtransport=12.1.0.2131 on n2");
    CHECK(fixes["config"] == "scp -p /etc/veeam-ha.yaml n2:/etc/veeam-ha.yaml on n1, then systemctl reload veeam-had on n2");
}
