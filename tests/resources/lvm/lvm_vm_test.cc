// SPDX-License-Identifier: GPL-2.0-or-later
// The lvm resource on a real device-mapper: two qemu TCG VMs (nodeA, nodeB) share one raw disk,
// the article's shared LUN. LvmResource runs inside them (veeamha-lvm-tool, this build's code
// with the host's libraries). Checked: exclusive activation on A; monitor through libdevmapper
// (running, a suspended LV, a missing LV); B refused while A owns the VG; stop refused with the
// holders named while the LV is mounted/open; A killed (= fenced) -> B takes the VG over,
// activates, mounts the XFS after log recovery and finds A's synced data; stop leaves no dm
// device and hands the VG back to A.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/process.h"
#include "tests/common/qemu_vm.h"
#include "tests/common/skip.h"
#include "tests/common/stale_runs.h"

using namespace veeamha;
using veeamha::test::QemuVm;
using veeamha::test::VmReply;
using namespace std::chrono_literals;

#ifndef VEEAMHA_LVM_TOOL
#error "VEEAMHA_LVM_TOOL (path of veeamha-lvm-tool) must be defined"
#endif

namespace {

const auto g_t0 = std::chrono::steady_clock::now();

void progress(const std::string& what) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_t0).count();
    std::fprintf(stderr, "[lvm-vm +%6.1fs] %s\n", s, what.c_str());
    std::fflush(stderr);
}

bool have(const char* program) {
    base::ProcessSpec p;
    p.argv = {"sh", "-c", std::string("command -v ") + program};
    p.deadline = base::Clock::now() + 10s;
    return base::run_process(p).success();
}

// A per-run folder under /var/tmp, removed with everything in it. A killed earlier run's folder
// and the qemus that still use it are removed first.
struct RunDir {
    static constexpr const char* kPrefix = "/var/tmp/veeamha-lvmvm-";
    std::string path = kPrefix + std::to_string(::getpid());
    RunDir() {
        for (const auto& line : test::sweep_stale_runs(kPrefix)) progress("stale run: " + line);
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~RunDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

VmReply expect(QemuVm& vm, const std::string& command, int rc) {
    progress(vm.name() + "$ " + command);
    VmReply r = vm.run(command);
    // The resource's verdict, for the progress log.
    if (size_t at = r.output.find("RESULT "); at != std::string::npos)
        progress("  -> " + r.output.substr(at, r.output.find('\n', at) - at));
    INFO(vm.name() << "$ " << command << "\n" << r.output);
    REQUIRE(r.exit_code == rc);
    return r;
}

std::string tool(const std::string& args) { return "veeamha-lvm-tool " + args; }

}  // namespace

TEST_CASE("two VMs sharing a disk: exclusive activation, refusal, fenced takeover, XFS recovery") {
    for (const char* p : {"qemu-system-x86_64", "apt-get", "dpkg-deb", "depmod", "busybox"}) {
        if (!have(p)) VEEAMHA_SKIP_TEST(p << " is not installed (scripts/install-deps)");
    }
    RunDir run;
    progress("building the VM fixture (kernel + initramfs, cached in " VEEAMHA_TEST_CACHE ")");
    base::ProcessSpec build;
    build.argv = {VEEAMHA_SOURCE_DIR "/tests/resources/lvm/vm/build-vm-fixture.sh", VEEAMHA_TEST_CACHE,
                  run.path, VEEAMHA_LVM_TOOL};
    build.deadline = base::Clock::now() + 15min;
    base::ProcessResult built = base::run_process(build);
    INFO(built.err);
    REQUIRE(built.success());
    std::string kernel, initrd;
    for (size_t pos = 0; pos < built.out.size();) {
        size_t eol = built.out.find('\n', pos);
        std::string line = built.out.substr(pos, eol - pos);
        pos = eol == std::string::npos ? built.out.size() : eol + 1;
        if (line.rfind("KERNEL=", 0) == 0) kernel = line.substr(7);
        if (line.rfind("INITRD=", 0) == 0) initrd = line.substr(7);
    }
    REQUIRE(!kernel.empty());
    REQUIRE(!initrd.empty());

    const std::string disk = run.path + "/shared.img";
    {
        FILE* f = std::fopen(disk.c_str(), "w");
        REQUIRE(f);
        std::fclose(f);
        REQUIRE(::truncate(disk.c_str(), 600LL << 20) == 0);
    }

    progress("booting nodeA and nodeB (TCG)");
    auto spec = [&](const char* name) {
        QemuVm::Spec s;
        s.name = name;
        s.kernel = kernel;
        s.initrd = initrd;
        s.disk = disk;
        s.run_dir = run.path;
        return s;
    };
    auto a = std::make_unique<QemuVm>(spec("nodeA"));
    QemuVm b(spec("nodeB"));
    a->wait_ready(240s);
    b.wait_ready(240s);
    progress("both VMs up");

    // ---- nodeA creates the VG (system ID nodeA) with two LVs and an XFS, all inactive ----
    expect(*a, "pvcreate -q -y /dev/vda && vgcreate -q vgha /dev/vda && "
               "lvcreate -q -y -L 400M -n lvdata vgha && lvcreate -q -y -L 16M -n lvsmall vgha && "
               "mkfs.xfs -q /dev/vgha/lvdata && vgchange -an vgha", 0);
    auto sysid = expect(*a, "vgs --noheadings -o vg_systemid vgha", 0);
    CHECK_THAT(sysid.output, Catch::Contains("nodeA"));

    // ---- nodeA: exclusive activation through LvmResource ----
    auto m0 = expect(*a, tool("monitor vgha nodeA nodeB"), 7);
    CHECK_THAT(m0.output, Catch::Contains("not running"));
    auto started = expect(*a, tool("start vgha nodeA nodeB"), 0);
    CHECK_THAT(started.output, Catch::Contains("owned by this node") && Catch::Contains("2 LV(s) active"));
    auto dm = expect(*a, "dmsetup ls", 0);
    CHECK_THAT(dm.output, Catch::Contains("vgha-lvdata") && Catch::Contains("vgha-lvsmall"));
    auto running = expect(*a, tool("monitor vgha nodeA nodeB"), 0);
    CHECK_THAT(running.output, Catch::Contains("2 LV(s) active"));

    // Monitor sees a suspended LV and a missing one through libdevmapper.
    expect(*a, "dmsetup suspend vgha-lvsmall", 0);
    auto suspended = expect(*a, tool("monitor vgha nodeA nodeB"), 1);
    CHECK_THAT(suspended.output, Catch::Contains("LV lvsmall is suspended"));
    expect(*a, "dmsetup resume vgha-lvsmall && dmsetup remove vgha-lvsmall", 0);
    auto missing = expect(*a, tool("monitor vgha nodeA nodeB"), 1);
    CHECK_THAT(missing.output, Catch::Contains("LV lvsmall has no device-mapper device"));
    expect(*a, tool("start vgha nodeA nodeB"), 0);  // start again repairs it
    expect(*a, tool("monitor vgha nodeA nodeB"), 0);

    // Data on the XFS: one file synced, then more writes left in memory when A "crashes".
    expect(*a, "mkdir -p /mnt/data && mount -t xfs /dev/vgha/lvdata /mnt/data && "
               "echo synced-by-nodeA > /mnt/data/synced && sync && "
               "echo never-synced > /mnt/data/unsynced", 0);

    // ---- nodeB: sees the VG only as foreign and is refused ----
    auto foreign = expect(b, "vgs --foreign --noheadings -o vg_name,vg_systemid", 0);
    CHECK_THAT(foreign.output, Catch::Contains("vgha") && Catch::Contains("nodeA"));
    auto b_idle = expect(b, tool("monitor vgha nodeB nodeA"), 7);
    CHECK_THAT(b_idle.output, Catch::Contains("not running"));
    auto refused = expect(b, tool("start vgha nodeB nodeA"), 1);
    CHECK_THAT(refused.output, Catch::Contains("owned by the peer nodeA") &&
                                   Catch::Contains("neither released it nor been fenced"));
    auto b_dm = expect(b, "dmsetup ls", 0);
    CHECK_THAT(b_dm.output, !Catch::Contains("vgha"));

    // ---- nodeA: a stop while the LVs are in use fails and names the holders ----
    expect(*a, "sleep 600 < /dev/vgha/lvsmall > /dev/null 2>&1 &", 0);
    auto busy = expect(*a, tool("stop vgha nodeA nodeB"), 1);
    CHECK_THAT(busy.output, Catch::Contains("still has active LVs") && Catch::Contains("mounted at /mnt/data") &&
                                Catch::Contains("(sleep)"));
    expect(*a, tool("monitor vgha nodeA nodeB"), 0);

    // ---- nodeA dies (the fence powered it off) ----
    progress("killing nodeA (fenced: powered off)");
    a->power_off_hard();
    a.reset();

    // ---- nodeB takes over: only because the peer is fenced ----
    auto taken = expect(b, tool("start vgha nodeB nodeA --peer-gone"), 0);
    CHECK_THAT(taken.output, Catch::Contains("taken over from nodeA") && Catch::Contains("2 LV(s) active"));
    auto owner = expect(b, "vgs --noheadings -o vg_systemid vgha", 0);
    CHECK_THAT(owner.output, Catch::Contains("nodeB"));
    expect(b, tool("monitor vgha nodeB nodeA"), 0);

    // XFS was never unmounted: mounting replays its log.
    expect(b, "mkdir -p /mnt/data && mount -t xfs /dev/vgha/lvdata /mnt/data", 0);
    auto recovery = expect(b, "dmesg | grep -i 'xfs.*recovery'", 0);
    CHECK_THAT(recovery.output, Catch::Contains("Starting recovery"));
    auto data = expect(b, "cat /mnt/data/synced", 0);
    CHECK_THAT(data.output, Catch::Contains("synced-by-nodeA"));

    // ---- nodeB stops cleanly and hands the VG back to nodeA ----
    expect(b, "umount /mnt/data", 0);
    auto stopped = expect(b, tool("stop vgha nodeB nodeA --hand-over-to nodeA"), 0);
    CHECK_THAT(stopped.output, Catch::Contains("deactivated") && Catch::Contains("handed over to nodeA"));
    auto none = expect(b, "dmsetup ls", 0);
    CHECK_THAT(none.output, !Catch::Contains("vgha"));
    expect(b, tool("monitor vgha nodeB nodeA"), 7);
    auto handed = expect(b, "vgs --foreign --noheadings -o vg_systemid vgha", 0);
    CHECK_THAT(handed.output, Catch::Contains("nodeA"));
    progress("done");
}
