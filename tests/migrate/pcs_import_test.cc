// SPDX-License-Identifier: GPL-2.0-or-later
// The migration as an admin runs it: the article's own pcs commands, run by the real `pcs -f`
// (Debian's pcs 0.11) on an empty CIB from `cibadmin --empty`, corosync.conf from `pcs cluster
// setup --corosync_conf`, then the real `veeam-hactl import-pcs`; its output is loaded by the
// configuration loader, compared with what pcs wrote, and accepted by `veeam-hactl check`.
// No cluster runs: pcs -f edits the file alone.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "base/process.h"
#include "config/config.h"
#include "migrate/cib.h"
#include "migrate/pacemaker_values.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

bool have_pcs() { return ::access("/usr/sbin/pcs", X_OK) == 0 && ::access("/usr/sbin/cibadmin", X_OK) == 0; }

base::ProcessResult run(const std::vector<std::string>& argv) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = base::Clock::now() + 60s;
    return base::run_process(spec);
}

// Runs a command that must succeed.
base::ProcessResult must(const std::vector<std::string>& argv) {
    auto r = run(argv);
    INFO(base::format_command(argv) << "\n" << r.describe() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.success());
    return r;
}

using veeamha::test::slurp;

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// An empty CIB file, as `cibadmin --empty` prints it (no cluster needed).
std::string empty_cib(const test::TempDir& dir) {
    const std::string file = dir / "cib.xml";
    write(file, must({"cibadmin", "--empty"}).out);
    return file;
}

// `pcs -f FILE args...`
void pcs(const std::string& file, std::vector<std::string> args) {
    args.insert(args.begin(), {"pcs", "-f", file});
    must(args);
}

// The output with its wrapped comments joined again, so a test can look for a whole sentence.
std::string unwrapped(const std::string& yaml) { return std::regex_replace(yaml, std::regex("\n *#   "), " "); }

config::Config load(const std::string& yaml) {
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_string(yaml, "imported.yaml", options);
    std::string errors;
    for (const auto& e : r.errors) errors += e.to_string() + "\n";
    INFO(yaml << "\n" << errors);
    REQUIRE(r.config);
    return *r.config;
}

// The timeout (or interval) pcs wrote for `op` of resource `id`.
config::Duration op_value(const migrate::Cib& cib, const std::string& id, const std::string& op, bool interval) {
    for (const auto& p : cib.group.members)
        if (p.id == id)
            for (const auto& o : p.ops)
                if (o.name == op) {
                    auto d = migrate::parse_pcmk_duration(interval ? o.interval : o.timeout);
                    REQUIRE(d);
                    return *d;
                }
    FAIL("no op " << op << " for " << id << " in the CIB pcs wrote");
    return {};
}

const std::string kUuid1 = "42356049-6020-2ea0-0bd9-11362ef785e7";
const std::string kUuid2 = "423576b3-f216-b7e7-aba6-9419bcb72a24";

}  // namespace

TEST_CASE("the article's pcs commands, imported: the same cluster, accepted by veeam-hactl check") {
    if (!have_pcs()) VEEAMHA_SKIP_TEST("pcs and cibadmin are not installed (scripts/install-deps)");
    test::TempDir dir;
    const std::string cib = empty_cib(dir);
    // The article's commands, in its order (its cidr_netmask=”24” has typographic quotes).
    pcs(cib, {"property", "set", "stonith-enabled=false"});
    pcs(cib, {"property", "set", "no-quorum-policy=ignore"});
    pcs(cib, {"stonith", "create", "fence_vbr_vms", "fence_vmware_soap", "ipaddr=vcsa67.vmik.lab", "ssl=1",
              "ssl_insecure=1", "login=admin@vmik.lab", "passwd=my_password", "pcmk_reboot_action=on",
              "pcmk_host_map=vbr-repo-1.vmik.lab:" + kUuid1 + " vbr-repo-2.vmik.lab:" + kUuid2});
    pcs(cib, {"property", "set", "stonith-enabled=true"});
    pcs(cib, {"resource", "create", "vg_vbr", "LVM", "volgrpname=vg_vbr", "exclusive=true", "--group", "vbr"});
    pcs(cib, {"resource", "create", "vg_repo", "LVM", "volgrpname=vg_repo", "exclusive=true", "--group", "vbr"});
    pcs(cib, {"resource", "create", "fs_vbr", "Filesystem", "device=/dev/mapper/vg_vbr-lv_vbr",
              "directory=/opt/veeam/", "fstype=xfs", "--group=vbr"});
    pcs(cib, {"resource", "create", "fs_repo", "Filesystem", "device=/dev/mapper/vg_repo-lv_repo",
              "directory=/veeam/repo/", "fstype=xfs", "--group=vbr"});
    pcs(cib, {"resource", "create", "ip_vbr", "IPaddr2", "ip=192.168.22.208", "cidr_netmask=24", "nic=ens192",
              "--group=vbr"});
    // --force: pcs reads a systemd unit's metadata from a running systemd, and veeamtransport is
    // not installed here.
    pcs(cib, {"resource", "create", "svc_veeamtransport", "systemd:veeamtransport", "--group=vbr", "--force"});
    pcs(cib, {"constraint", "location", "vbr", "prefers", "vbr-repo-1.vmik.lab=100"});
    pcs(cib, {"constraint", "location", "vbr", "prefers", "vbr-repo-2.vmik.lab=100"});
    const std::string corosync = dir / "corosync.conf";
    must({"pcs", "cluster", "setup", "vbr-repo", "vbr-repo-1.vmik.lab", "addr=192.168.22.201", "addr=10.10.10.1",
          "vbr-repo-2.vmik.lab", "addr=192.168.22.202", "addr=10.10.10.2", "--corosync_conf", corosync,
          "--no-cluster-uuid"});

    auto imported = must({VEEAM_HACTL_BIN, "import-pcs", cib, "--corosync", corosync});
    // The password pcs stored in the CIB appears nowhere; the admin is told how to make the file.
    REQUIRE_THAT(slurp(cib), Contains("my_password"));
    CHECK_THAT(imported.out, !Contains("my_password"));
    CHECK_THAT(imported.err, !Contains("my_password"));
    CHECK_THAT(imported.err, Contains("create /etc/veeam-ha/vcenter.pass with the password of admin@vmik.lab on "
                                      "vcsa67.vmik.lab") &&
                                 Contains("mode 0600") && Contains("umask 077 && systemd-ask-password"));

    config::Config c = load(imported.out);
    migrate::Cib written = migrate::read_cib(slurp(cib), "cib.xml");
    CHECK(c.cluster.name == "vbr-repo");
    REQUIRE(c.nodes.size() == 2);
    CHECK(c.nodes[0].name == "vbr-repo-1.vmik.lab");
    CHECK(c.nodes[0].addresses == std::vector<std::string>{"192.168.22.201", "10.10.10.1"});
    CHECK(c.nodes[1].addresses == std::vector<std::string>{"192.168.22.202", "10.10.10.2"});
    CHECK(c.nodes[0].vm_uuid == kUuid1);
    CHECK(c.nodes[1].vm_uuid == kUuid2);
    CHECK(c.nodes[0].priority == c.nodes[1].priority);
    REQUIRE(c.fencing.vsphere);
    CHECK(c.fencing.vsphere->host == "vcsa67.vmik.lab");
    CHECK(c.fencing.vsphere->username == "admin@vmik.lab");
    CHECK(c.fencing.vsphere->password_file == "/etc/veeam-ha/vcenter.pass");
    CHECK(c.fencing.vsphere->insecure);
    CHECK(c.fencing.vsphere->uuid_kind == config::UuidKind::Bios);  // fence_vmware_soap's config.uuid
    CHECK(c.fencing.levels.empty());
    CHECK(c.fencing.action == config::FenceAction::Off);
    CHECK_FALSE(c.policy.failback);  // the article's two equal location constraints

    REQUIRE(c.resources.size() == 6);
    const char* names[] = {"vg_vbr", "vg_repo", "fs_vbr", "fs_repo", "ip_vbr", "svc_veeamtransport"};
    for (size_t i = 0; i < 6; ++i) CHECK(c.resources[i].name == names[i]);
    CHECK(std::get<config::LvmSpec>(c.resources[1].spec).vg == "vg_repo");
    CHECK(std::get<config::LvmSpec>(c.resources[1].spec).mode == config::LvmSpec::Mode::Tag);
    auto& fs = std::get<config::FilesystemSpec>(c.resources[2].spec);
    CHECK(fs.device == "/dev/mapper/vg_vbr-lv_vbr");
    CHECK(fs.mountpoint == "/opt/veeam");
    CHECK(fs.fstype == "xfs");
    auto& ip = std::get<config::IpSpec>(c.resources[4].spec);
    CHECK(ip.address.text() == "192.168.22.208/24");
    CHECK(ip.interface == "ens192");
    CHECK(std::get<config::ServiceSpec>(c.resources[5].spec).unit == "veeamtransport.service");
    // Every timing is the one pcs wrote from the agent's metadata.
    for (size_t i = 0; i < 5; ++i) {
        INFO(names[i]);
        CHECK(c.resources[i].start_timeout == op_value(written, names[i], "start", false));
        CHECK(c.resources[i].stop_timeout == op_value(written, names[i], "stop", false));
        CHECK(c.resources[i].monitor_interval == op_value(written, names[i], "monitor", true));
        CHECK(c.resources[i].monitor_timeout == op_value(written, names[i], "monitor", false));
    }
    CHECK(c.resources[5].monitor_interval == op_value(written, "svc_veeamtransport", "monitor", true));

    // What has no equivalent is said, not dropped.
    CHECK_THAT(unwrapped(imported.out), Contains("no-quorum-policy=ignore: not needed"));
    CHECK_THAT(unwrapped(imported.out), Contains("pcmk_reboot_action=on: Pacemaker then only powered the VM on"));

    const std::string yaml = dir / "veeam-ha.yaml";
    write(yaml, imported.out);
    auto check = run({VEEAM_HACTL_BIN, "check", yaml, "--no-file-checks", "--node", "vbr-repo-1.vmik.lab"});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("Cluster vbr-repo: 2 nodes, 2 links, 6 resources in one group."));

    // Without corosync.conf the addresses are placeholders, and check refuses exactly those.
    auto bare = must({VEEAM_HACTL_BIN, "import-pcs", cib});
    CHECK_THAT(bare.err, Contains("replace the 4 FILL IN value(s)"));
    write(yaml, bare.out);
    auto refused = run({VEEAM_HACTL_BIN, "check", yaml, "--no-file-checks"});
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.err, Contains("4 errors"));
    CHECK_THAT(refused.err, Contains("nodes[1].addresses[1]: expected an IPv4 or IPv6 address, found \"FILL IN: the address on link 1\""));
}

TEST_CASE("pcs variants: LVM-activate, deep checks, IPMI levels, a ping clone, a preferred node, an unknown agent") {
    if (!have_pcs()) VEEAMHA_SKIP_TEST("pcs and cibadmin are not installed (scripts/install-deps)");
    test::TempDir dir;
    const std::string cib = empty_cib(dir);
    pcs(cib, {"resource", "create", "vg_data", "ocf:heartbeat:LVM-activate", "vgname=vg_data",
              "vg_access_mode=system_id", "--group", "repo"});
    pcs(cib, {"resource", "create", "fs_data", "Filesystem", "device=/dev/vg_data/lv_data", "directory=/srv/data",
              "fstype=xfs", "options=noatime", "op", "monitor", "interval=30s", "timeout=60s", "OCF_CHECK_LEVEL=20",
              "--group", "repo"});
    pcs(cib, {"resource", "create", "ip_data", "IPaddr2", "ip=10.20.0.100", "cidr_netmask=255.255.255.0",
              "nic=eth1", "iflabel=data", "arp_count=3", "--group", "repo"});
    pcs(cib, {"resource", "create", "web", "ocf:heartbeat:apache", "configfile=/etc/apache2/apache2.conf",
              "--group", "repo"});
    pcs(cib, {"resource", "create", "app", "systemd:app", "op", "start", "timeout=5min", "--group", "repo", "--force"});
    pcs(cib, {"resource", "create", "ping", "ocf:pacemaker:ping", "host_list=10.20.0.254", "clone"});
    pcs(cib, {"stonith", "create", "fence_a", "fence_ipmilan", "ip=10.30.0.1", "username=admin", "password=ipmiPW",
              "lanplus=1", "pcmk_host_list=node-a"});
    pcs(cib, {"stonith", "create", "fence_b", "fence_ipmilan", "ip=10.30.0.2", "username=admin", "password=ipmiPW",
              "lanplus=1", "pcmk_host_list=node-b"});
    pcs(cib, {"resource", "meta", "repo", "migration-threshold=2", "failure-timeout=1h"});
    pcs(cib, {"constraint", "location", "repo", "prefers", "node-a=200"});
    const std::string corosync = dir / "corosync.conf";
    must({"pcs", "cluster", "setup", "metal", "node-a", "addr=10.20.0.1", "addr=10.40.0.1", "node-b",
          "addr=10.20.0.2", "addr=10.40.0.2", "--corosync_conf", corosync, "--no-cluster-uuid"});

    auto imported = must({VEEAM_HACTL_BIN, "import-pcs", cib, "--corosync", corosync});
    CHECK_THAT(imported.out + imported.err, !Contains("ipmiPW"));
    CHECK_THAT(imported.err, Contains("/etc/veeam-ha/fence_a.pass") && Contains("/etc/veeam-ha/fence_b.pass"));
    CHECK_THAT(imported.out, Contains("# Not migrated: primitive 'web' (ocf:heartbeat:apache)"));
    config::Config c = load(imported.out);

    CHECK(c.cluster.name == "metal");
    CHECK_FALSE(c.fencing.vsphere);
    REQUIRE(c.fencing.levels.size() == 2);
    CHECK(c.fencing.levels[0].agent == "fence_ipmilan");
    CHECK(c.fencing.levels[0].nodes == std::vector<std::string>{"node-a"});
    CHECK(c.fencing.levels[1].nodes == std::vector<std::string>{"node-b"});
    using Args = std::vector<std::pair<std::string, std::string>>;
    CHECK(c.fencing.levels[0].args == Args{{"ip", "10.30.0.1"}, {"lanplus", "1"}, {"username", "admin"},
                                           {"password_file", "/etc/veeam-ha/fence_a.pass"}, {"plug", "node-a"}});
    CHECK(c.policy.ping_targets == std::vector<std::string>{"10.20.0.254"});
    CHECK(c.policy.migration_threshold == 2);
    CHECK(c.policy.failure_timeout == 1h);
    CHECK(c.policy.failback);  // 200 against no stickiness: Pacemaker moved the group back
    CHECK(c.nodes[0].priority == 200);
    CHECK(c.nodes[1].priority == 100);

    REQUIRE(c.resources.size() == 4);  // web is left out
    CHECK(std::get<config::LvmSpec>(c.resources[0].spec).mode == config::LvmSpec::Mode::SystemId);
    auto& fs = std::get<config::FilesystemSpec>(c.resources[1].spec);
    CHECK(fs.deep_check);  // OCF_CHECK_LEVEL=20
    CHECK(fs.options == "noatime");
    CHECK(c.resources[1].monitor_interval == 30s);
    CHECK(c.resources[1].monitor_timeout == 60s);
    auto& ip = std::get<config::IpSpec>(c.resources[2].spec);
    CHECK(ip.address.text() == "10.20.0.100/24");
    CHECK(ip.label == "eth1:data");
    CHECK(ip.garp_count == 3);
    CHECK(c.resources[3].name == "app");
    CHECK(c.resources[3].start_timeout == 5min);

    const std::string yaml = dir / "veeam-ha.yaml";
    write(yaml, imported.out);
    auto check = run({VEEAM_HACTL_BIN, "check", yaml, "--no-file-checks", "--node", "node-a"});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
}

TEST_CASE("import-pcs on the command line: bad input exits 1 with the reason, bad usage 64") {
    test::TempDir dir;
    const std::string not_xml = dir / "status.txt";
    write(not_xml, "Cluster name: vbr-repo\nStack: corosync\n");
    auto r = run({VEEAM_HACTL_BIN, "import-pcs", not_xml});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Contains(not_xml + ":1: not XML:"));

    auto missing = run({VEEAM_HACTL_BIN, "import-pcs", dir / "nope.xml"});
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, Contains("nope.xml: cannot read it"));

    CHECK(run({VEEAM_HACTL_BIN, "import-pcs"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "import-pcs", "a.xml", "b.xml"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "import-pcs", "a.xml", "--corosync"}).exit_code == 64);
}
