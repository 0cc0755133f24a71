// SPDX-License-Identifier: GPL-2.0-or-later
// The physical-host run on its own (docs/hosts.md): the least of the hosts tier's setup that
// brings the cluster up as hosts_test.cc does (the .deb installed with apt, the configuration
// from the installed example with vSphere fencing against the simulator, the key, LVM system
// IDs, cold start), then the phase of bmc_phase.h with its broken-BMC step: an unconfirmed fence
// first (no takeover), then the takeover through the repaired BMC, the power-on and the rejoin.
// The main scenario runs the same phase without the broken-BMC step.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "base/process.h"
#include "tests/common/skip.h"
#include "tests/fencing/vcsim_fixture.h"
#include "tests/hosts/bmc.h"
#include "tests/hosts/bmc_phase.h"
#include "tests/hosts/hosts_cluster.h"
#include "tests/hosts/hosts_steps.h"
#include "tests/hosts/watch_log.h"
#include "tests/lab/host_proc.h"

using namespace veeamha;
using namespace veeamha::test;
using namespace veeamha::test::hosts;  // the steps
using namespace std::chrono_literals;

#ifndef VEEAMHA_DEB_DIR
#error "VEEAMHA_DEB_DIR (where package-build leaves the .deb) must be defined"
#endif

namespace {

// The main scenario's units (hosts_test.cc): the stand-in for veeamtransport.service (the lab's
// repo server on the floating IP, storing on /veeam/repo) and the double-activation watcher.
const char* const kTransportUnit =
    "[Unit]\\nDescription=stand-in for the Veeam transport (veeam-had test)\\n"
    "[Service]\\nExecStart=/usr/local/sbin/veeam-ha-lab-repo-server --listen 192.168.22.208 --root /veeam/repo "
    "--require-mount\\n[Install]\\nWantedBy=multi-user.target\\n";
const char* const kWatchUnit =
    "[Unit]\\nDescription=double-activation watcher (veeam-had test)\\nDefaultDependencies=no\\n"
    "[Service]\\nExecStart=/usr/local/sbin/veeamha-hosts-watch /dev/ttyS2 vg_vbr vg_repo /opt/veeam /veeam/repo\\n"
    "[Install]\\nWantedBy=sysinit.target\\n";

}  // namespace

TEST_CASE("physical hosts: fenced through their BMCs with fence_ipmilan, an unconfirmed fence stops the takeover") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root (network namespace, tap devices, debootstrap)");
    for (const char* p : {"qemu-system-x86_64", "qemu-img", "debootstrap", "sfdisk", "dpkg-deb", "mkfs.ext4", "go"}) {
        if (!have(p)) VEEAMHA_SKIP_TEST(p << " is not installed (scripts/install-deps)");
    }
    if (auto why = Bmcs::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    std::string deb;
    for (const auto& e : std::filesystem::directory_iterator(VEEAMHA_DEB_DIR))
        if (e.path().extension() == ".deb") deb = e.path();
    if (deb.empty()) FAIL("no .deb in " VEEAMHA_DEB_DIR " (the package-build test makes it)");

    // The image cache as the vCenter simulator's fixture finds it (the environment first).
    const char* cache_env = std::getenv("VEEAMHA_TEST_CACHE");
    const std::string cache = cache_env && *cache_env ? cache_env : VEEAMHA_TEST_CACHE;
    progress("boot image (debootstrap once, cached in " + cache + "/hosts)");
    base::ProcessSpec build;
    build.argv = {VEEAMHA_SOURCE_DIR "/tests/hosts/image/build-image.sh", cache};
    for (const auto& d : deb_depends(deb)) build.argv.push_back(d);
    build.deadline = base::Clock::now() + 25min;
    base::ProcessResult built = base::run_process(build);
    INFO(built.err);
    REQUIRE(built.success());
    std::map<std::string, std::string> paths;
    std::stringstream lines(built.out);
    for (std::string line; std::getline(lines, line);)
        if (auto eq = line.find('='); eq != std::string::npos) paths[line.substr(0, eq)] = line.substr(eq + 1);

    HostsCluster c("/var/tmp/veeamha-hosts-" + std::to_string(::getpid()), paths["IMAGE"], paths["KERNEL"],
                   paths["INITRD"]);
    HostVm& a = c.host(0);
    HostVm& b = c.host(1);
    const std::string deb_name = std::filesystem::path(deb).filename();
    std::filesystem::copy_file(deb, c.share_dir() + "/" + deb_name);
    std::filesystem::copy_file(VEEAMHA_REPO_SERVER, c.share_dir() + "/veeam-ha-lab-repo-server");
    std::filesystem::copy_file(VEEAMHA_HOSTS_WATCH, c.share_dir() + "/veeamha-hosts-watch");
    WatchLog watch({{a.name, c.watch_socket(a)}, {b.name, c.watch_socket(b)}});

    // vCenter, as the main scenario has it (its power-off kills the VM's qemu): the configuration
    // the phase starts from and goes back to.
    const std::string hooks = c.run_dir() + "/hooks";
    std::filesystem::create_directories(hooks);
    std::ofstream(hooks + "/power-off") << "#!/bin/sh\nf='" << c.run_dir()
                                        << "'/\"$1\".pid\n[ -f \"$f\" ] && kill -9 \"$(cat \"$f\")\"\nrm -f \"$f\"\nexit 0\n";
    std::filesystem::permissions(hooks + "/power-off", std::filesystem::perms(0755));
    VcsimOptions vo;
    vo.listen = std::string(HostsCluster::kGateway) + ":443";
    vo.alt_names = std::string("IP:") + HostsCluster::kGateway;
    vo.on_power_off = hooks + "/power-off";
    vo.work_parent = c.run_dir();
    auto vcsim = lab::in_netns(c.netns(), [&] { return std::make_unique<Vcsim>(vo); });

    progress("booting both hosts");
    c.power_on(a);
    c.power_on(b);
    c.wait_booted(a, 300s);
    c.wait_booted(b, 300s);
    expect_both(c, [](HostVm& h) {
        return std::string("install -m 755 /host/veeamha-hosts-watch /usr/local/sbin/ && printf '") + kWatchUnit +
               "' > /etc/systemd/system/veeamha-hosts-watch.service && systemctl enable --now veeamha-hosts-watch && " +
               network_files(h) + " && " +
               poll_command(std::string("ping -c1 -W1 ") + HostsCluster::kGateway + " > /dev/null", 30);
    });
    expect(c, a,
           "pvcreate -q -y /dev/vdb1 /dev/vdb2 && vgcreate -q vg_vbr /dev/vdb1 && vgcreate -q vg_repo /dev/vdb2 && "
           "lvcreate -q -y -l 100%FREE -n lv_vbr vg_vbr && lvcreate -q -y -l 100%FREE -n lv_repo vg_repo && "
           "mkfs.xfs -q -m reflink=1,crc=1 /dev/vg_vbr/lv_vbr && mkfs.xfs -q -m reflink=1,crc=1 /dev/vg_repo/lv_repo && "
           "mkdir -p /opt/veeam /veeam/repo && vgchange -an vg_vbr vg_repo");
    expect(c, b, "mkdir -p /opt/veeam /veeam/repo && pvscan --cache && vgs vg_vbr vg_repo");
    expect_both(c, [&](HostVm&) {
        return "cd /root && cp /host/" + deb_name + " . && apt install -y -q ./" + deb_name +
               " && install -m 755 /host/veeam-ha-lab-repo-server /usr/local/sbin/ && printf '" +
               std::string(kTransportUnit) +
               "' > /etc/systemd/system/veeamtransport.service && systemctl daemon-reload && "
               "systemctl disable --now veeamtransport.service";
    }, 0, 600s);

    // The configuration as the main scenario makes it from the installed example.
    std::string config = c.run(a, "cat /etc/veeam-ha.yaml.example").output;
    edit(config, "host: vcsa67.vmik.lab", std::string("host: ") + HostsCluster::kGateway);
    edit(config, "username: admin@vmik.lab", std::string("username: ") + kUser);
    edit(config, "    ca_file: /etc/veeam-ha/vcenter-ca.pem ", "    # ca_file: /etc/veeam-ha/vcenter-ca.pem ");
    edit(config, "# thumbprint: \"SHA256:AB:CD:...\"", "thumbprint: \"" + vcsim->certificate().thumbprint + "\"");
    edit(config, "interface: ens192", "interface: eth0");
    edit(config, "  timeout: 1s ", "  timeout: 5s ");
    const std::string password = slurp(vcsim->password_file());
    for (HostVm* h : {&a, &b}) {
        put_file(c, *h, "/etc/veeam-ha.yaml", config, "644");
        expect(c, *h, "install -d -m 700 /etc/veeam-ha");
        put_file(c, *h, "/etc/veeam-ha/vcenter.pass", password, "600");
    }
    expect(c, a, "veeam-hactl keygen");
    std::string key = c.run(a, "base64 -w0 /etc/veeam-ha/authkey").output;
    key.erase(key.find_last_not_of("\n") + 1);
    REQUIRE(key.size() == 44);
    put_file(c, b, "/etc/veeam-ha/authkey", unbase64(key), "600");
    expect_both(c, [](HostVm&) {
        return std::string("sed -i 's/^\\(\\s*\\)# system_id_source = \"none\"/\\1system_id_source = \"uname\"/' "
                           "/etc/lvm/lvm.conf && veeam-hactl check --quiet");
    });
    expect(c, a, "for vg in vg_vbr vg_repo; do vgchange --systemid $(uname -n) $vg || exit 1; done");
    progress("cold start");
    expect_both(c, [&](HostVm&) {
        return "systemctl enable --now veeam-had && " +
               poll_command("veeam-hactl status --check | grep -q 'OK - group running on " + a.name + "'", 180);
    });

    PhysicalHostOptions options;
    options.unconfirmed_first = true;
    physical_host_phase(c, options);
    CHECK(vcsim->counts().of("PowerOffVM_Task") == 0);  // vSphere had no part in it

    WatchLog::Verdict verdict = watch.check();
    progress("watcher: " + verdict.summary());
    INFO(verdict.summary());
    CHECK(verdict.problems.empty());
    CHECK(verdict.activations >= 3);  // the LVs made on a, the cold start on a, the takeover on b
    progress("done");
}
