// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-had.service's hardening lets the daemon do its work for the whole host. The unit's
// "---- Hardening ----" block, read from systemd/veeam-had.service as shipped, is put into
// units of a real systemd (a systemd-nspawn container with all capabilities and a loop device
// holding XFS) whose commands do what the daemon does:
//   - mount the filesystem, and the mount is seen outside the unit (the host's mount namespace);
//   - add an address over netlink;
//   - find and kill the processes of another user that hold the filesystem (/proc of other
//     users' processes, signals), then unmount it.
// And the block is in force: a setuid bit is refused in the same unit (RestrictSUIDSGID=).
// The nspawn end-to-end test (nspawn_e2e_test.cc) covers D-Bus to systemd, gratuitous ARP and
// fence agents with the whole unit; LVM needs device-mapper, which this machine's kernel may not
// have (the VM tier runs real LVM, without the unit).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/process.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/resources/service/nspawn_container.h"

using namespace veeamha;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

base::ProcessResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = base::Clock::now() + timeout;
    return base::run_process(spec);
}

using veeamha::test::slurp;

// The lines of the unit from "# ---- Hardening ----" up to "[Install]".
std::string hardening_block(const std::string& unit) {
    size_t from = unit.find("# ---- Hardening ----");
    size_t to = unit.find("[Install]");
    REQUIRE(from != std::string::npos);
    REQUIRE(to != std::string::npos);
    REQUIRE(from < to);
    std::string block = unit.substr(from, to - from);
    REQUIRE(block.find("CapabilityBoundingSet=") != std::string::npos);
    return block;
}

// An XFS image on a loop device, for the test's lifetime.
struct LoopXfs {
    std::string dir, device;
    LoopXfs() {
        char tmpl[] = "/tmp/vhhard-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        std::string image = dir + "/xfs.img";
        REQUIRE(run({"truncate", "-s", "300M", image}).success());
        base::ProcessResult mkfs = run({"mkfs.xfs", "-q", image});
        INFO("mkfs.xfs: " << mkfs.describe());
        REQUIRE(mkfs.success());
        base::ProcessResult loop = run({"losetup", "--find", "--show", image});
        INFO("losetup: " << loop.describe());
        REQUIRE(loop.success());
        device = loop.out.substr(0, loop.out.find('\n'));
    }
    ~LoopXfs() {
        if (!device.empty()) run({"losetup", "-d", device});
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

}  // namespace

TEST_CASE("the unit's hardening lets it mount for the host, add addresses, kill holders and unmount") {
    if (auto why = test::NspawnContainer::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    for (const char* tool : {"/sbin/losetup", "/sbin/mkfs.xfs"})
        if (::access(tool, X_OK) != 0) VEEAMHA_SKIP_TEST(std::string(tool) + " is not installed");
    const std::string block = hardening_block(slurp(VEEAMHA_UNIT_FILE));
    LoopXfs disk;

    test::NspawnOptions o;
    o.name_prefix = "vhhard";
    o.stop_with_parent = true;
    o.extra_args = {"--capability=all", "--bind=" + disk.device};
    test::NspawnContainer c(o);
    auto exec = [&](const std::vector<std::string>& argv) {
        std::vector<std::string> full = {"nsenter", "-t", std::to_string(c.leader()), "-a"};
        full.insert(full.end(), argv.begin(), argv.end());
        return run(full);
    };
    // Runs a oneshot unit with the hardening block; returns systemctl's result.
    auto run_hardened = [&](const std::string& name, const std::vector<std::string>& commands) {
        std::string text = "[Service]\nType=oneshot\n";
        for (const auto& cmd : commands) text += "ExecStart=" + cmd + "\n";
        text += block;
        c.install_unit(name, text);
        base::ProcessResult r = exec({"systemctl", "start", name});
        if (!r.success()) {
            base::ProcessResult log = exec({"journalctl", "--no-pager", "-o", "cat", "-u", name});
            r.err += "\njournal of " + name + ":\n" + log.out;
        }
        return r;
    };

    REQUIRE(exec({"mkdir", "-p", "/mnt/vhtest"}).success());
    base::ProcessResult up = run_hardened("vhtest-up.service", {
        "/bin/mount -t xfs " + disk.device + " /mnt/vhtest",
        "/sbin/ip address add 10.99.0.1/32 dev lo",
    });
    INFO("vhtest-up.service: " << up.describe() << "\n" << up.err);
    REQUIRE(up.success());
    // Outside the unit: the mount and the address are the host's.
    base::ProcessResult mounted = exec({"findmnt", "-n", "-r", "-o", "FSTYPE,SOURCE", "/mnt/vhtest"});
    CHECK(mounted.out == "xfs " + disk.device + "\n");
    base::ProcessResult addr = exec({"ip", "-o", "address", "show", "dev", "lo"});
    CHECK(addr.out.find("10.99.0.1/32") != std::string::npos);

    // A process of another user holds the filesystem (its working directory).
    c.install_unit("vhtest-holder.service",
                   "[Service]\nUser=nobody\nWorkingDirectory=/mnt/vhtest\nExecStart=/bin/sleep infinity\n");
    REQUIRE(exec({"systemctl", "start", "vhtest-holder.service"}).success());
    REQUIRE(exec({"systemctl", "is-active", "vhtest-holder.service"}).out == "active\n");
    base::ProcessResult busy = run_hardened("vhtest-busy.service", {"/bin/umount /mnt/vhtest"});
    CHECK_FALSE(busy.success());  // the holder keeps it busy: the kill below is needed

    base::ProcessResult down = run_hardened("vhtest-down.service", {
        "/bin/fuser --kill --mount /mnt/vhtest",
        "/bin/sh -c 'while fuser --mount /mnt/vhtest; do sleep 0.1; done'",
        "/bin/umount /mnt/vhtest",
    });
    INFO("vhtest-down.service: " << down.describe() << "\n" << down.err);
    CHECK(down.success());
    CHECK(exec({"findmnt", "/mnt/vhtest"}).exit_code == 1);
    CHECK(exec({"systemctl", "is-active", "vhtest-holder.service"}).out != "active\n");

    // The block is in force: no setuid files from such a unit.
    REQUIRE(exec({"touch", "/run/vhtest-suid"}).success());
    base::ProcessResult suid = run_hardened("vhtest-suid.service", {"/bin/chmod u+s /run/vhtest-suid"});
    CHECK_FALSE(suid.success());
    struct stat st {};
    REQUIRE(::stat(c.host_path("/run/vhtest-suid").c_str(), &st) == 0);
    CHECK((st.st_mode & S_ISUID) == 0);
    if (exec({"findmnt", "/mnt/vhtest"}).success()) exec({"umount", "-l", "/mnt/vhtest"});
}
