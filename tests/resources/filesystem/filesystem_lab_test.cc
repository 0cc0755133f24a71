// SPDX-License-Identifier: GPL-2.0-or-later
// FilesystemResource against a real XFS on a real loop device. Each test runs in a private
// mount namespace (unshare), so its mounts are invisible to other engineers' tests and vanish
// with the process; the loop device is detached and the image removed by the fixture.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "base/process.h"
#include "storage/filesystem/filesystem_resource.h"
#include "storage/filesystem/mountinfo.h"
#include "tests/common/holder.h"
#include "tests/common/private_mounts.h"
#include "tests/common/stale_runs.h"

using namespace veeamha;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string run_ok(std::vector<std::string> argv) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = base::Clock::now() + 30s;
    base::ProcessResult r = base::run_process(spec);
    INFO(base::format_command(spec.argv) << ": " << r.describe() << "\n" << r.err);
    REQUIRE(r.success());
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

base::OpContext ctx_for(std::chrono::milliseconds budget) {
    base::OpContext ctx;
    ctx.deadline = base::Clock::now() + budget;
    return ctx;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// A 320 MiB sparse image with XFS on a loop device of its own, in a per-run temp folder.
struct LoopXfs {
    std::string dir, image, device, mnt;

    LoopXfs() {
        REQUIRE(::geteuid() == 0);
        if (!test::enter_private_mount_namespace()) WARN("no private mount namespace; using unique temp mountpoints");
        // A killed earlier run's loop device and folder (its mounts were in its private mount
        // namespace and died with it).
        for (const auto& line : test::sweep_stale_runs(kDirPrefix)) WARN("stale run: " << line);
        std::string tmpl = std::string(kDirPrefix) + std::to_string(::getpid()) + "-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()));
        dir = tmpl;
        try {  // no destructor runs for a constructor that throws (a failed REQUIRE does)
            image = dir + "/disk.img";
            mnt = dir + "/mnt/repo";  // parents created by start()
            run_ok({"truncate", "-s", "320M", image});
            device = run_ok({"losetup", "--find", "--show", image});
            REQUIRE(device.rfind("/dev/loop", 0) == 0);
            run_ok({"mkfs.xfs", "-q", "-f", device});
        } catch (...) {
            cleanup();
            throw;
        }
    }

    ~LoopXfs() { cleanup(); }

    void cleanup() {
        // Thaw (a frozen fs cannot be unmounted), unmount everything under our folder (deepest
        // first), detach our loop device only, remove the folder.
        base::ProcessSpec thaw;
        thaw.argv = {"fsfreeze", "-u", mnt};
        thaw.deadline = base::Clock::now() + 5s;
        base::run_process(thaw);
        std::string err;
        if (auto mounts = storage::filesystem::read_mountinfo(&err)) {
            for (auto it = mounts->rbegin(); it != mounts->rend(); ++it) {
                if (it->mount_point.rfind(dir + "/", 0) == 0) ::umount2(it->mount_point.c_str(), MNT_DETACH);
            }
        }
        base::ProcessSpec detach;
        detach.argv = {"losetup", "-d", device};
        detach.deadline = base::Clock::now() + 10s;
        if (!device.empty()) base::run_process(detach);
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    static constexpr const char* kDirPrefix = "/var/tmp/veeamha-fslab-";

    config::FilesystemSpec spec() const {
        config::FilesystemSpec s;
        s.device = device;
        s.mountpoint = mnt;
        s.fstype = "xfs";
        return s;
    }
};

using veeamha::test::Holder;

const storage::filesystem::MountEntry* find_mount(const std::vector<storage::filesystem::MountEntry>& mounts, const std::string& mp) {
    return storage::filesystem::top_mount_at(mounts, mp);
}

std::vector<storage::filesystem::MountEntry> mounts_now() {
    std::string err;
    auto m = storage::filesystem::read_mountinfo(&err);
    REQUIRE(m);
    return *m;
}

}  // namespace

TEST_CASE("xfs: mount, monitor, idempotent start, unmount", "[lab]") {
    LoopXfs disk;
    auto spec = disk.spec();
    spec.options = "noatime,nodev,logbufs=8";
    spec.deep_check = true;
    storage::filesystem::FilesystemResource fsr(spec);

    CHECK(fsr.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);
    CHECK(fsr.stop(ctx_for(5s)).outcome == base::Outcome::Ok);  // not mounted = stopped

    base::OpResult r = fsr.start(ctx_for(20s));
    INFO(r.reason);
    REQUIRE(r.outcome == base::Outcome::Ok);
    struct stat st {};
    REQUIRE(::stat((disk.dir + "/mnt").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    auto mounts = mounts_now();
    const auto* m = find_mount(mounts, disk.mnt);
    REQUIRE(m);
    CHECK(m->fstype == "xfs");
    CHECK(storage::filesystem::has_option(m->mount_options, "noatime"));
    CHECK(storage::filesystem::has_option(m->mount_options, "nodev"));
    CHECK(storage::filesystem::has_option(m->super_options, "logbufs=8"));

    base::OpResult mon = fsr.monitor(ctx_for(5s));
    INFO(mon.reason);
    CHECK(mon.outcome == base::Outcome::Ok);
    CHECK_FALSE(fs::exists(disk.mnt + "/.veeam-ha-probe"));  // the probe cleans up after itself

    base::OpResult again = fsr.start(ctx_for(5s));
    CHECK(again.outcome == base::Outcome::Ok);
    CHECK(contains(again.reason, "already mounted"));

    base::OpResult s = fsr.stop(ctx_for(20s));
    INFO(s.reason);
    CHECK(s.outcome == base::Outcome::Ok);
    CHECK(find_mount(mounts_now(), disk.mnt) == nullptr);
    CHECK(fsr.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);
    CHECK(fsr.stop(ctx_for(5s)).outcome == base::Outcome::Ok);
}

TEST_CASE("xfs: a device given through a symlink is the same device", "[lab]") {
    LoopXfs disk;
    std::string link = disk.dir + "/vg-lv";
    REQUIRE(::symlink(disk.device.c_str(), link.c_str()) == 0);
    auto spec = disk.spec();
    spec.device = link;
    storage::filesystem::FilesystemResource via_link(spec);
    REQUIRE(via_link.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    // The kernel records the path we passed; the direct name of the device still matches.
    storage::filesystem::FilesystemResource direct(disk.spec());
    CHECK(direct.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);
    CHECK(contains(direct.start(ctx_for(5s)).reason, "already mounted"));
    CHECK(direct.stop(ctx_for(20s)).outcome == base::Outcome::Ok);
}

TEST_CASE("xfs: busy unmount stops the holders and names them", "[lab]") {
    LoopXfs disk;
    storage::filesystem::FilesystemTuning tuning;
    tuning.term_grace = 500ms;
    storage::filesystem::FilesystemResource fsr(disk.spec(), tuning);
    REQUIRE(fsr.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    std::string mp = disk.mnt;
    {
        int fd = ::open((mp + "/data").c_str(), O_CREAT | O_WRONLY, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, 4096) == 0);
        ::close(fd);
    }
    Holder cwd("holder-cwd", [&] { (void)!::chdir(mp.c_str()); });
    Holder file("holder-fd", [&] { (void)!::open((mp + "/data").c_str(), O_RDONLY); });
    Holder mapped("holder-mmap", [&] {
        int fd = ::open((mp + "/data").c_str(), O_RDONLY);
        (void)!::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);  // only the mapping holds it now
    });
    Holder stubborn("holder-noterm", [&] {
        ::signal(SIGTERM, SIG_IGN);
        (void)!::chdir(mp.c_str());
    });

    base::OpResult r = fsr.stop(ctx_for(20s));
    INFO(r.reason);
    REQUIRE(r.outcome == base::Outcome::Ok);
    CHECK(find_mount(mounts_now(), mp) == nullptr);
    for (Holder* h : {&cwd, &file, &mapped, &stubborn}) {
        INFO(h->name);
        CHECK(contains(r.reason, std::to_string(h->pid) + " " + h->name));
    }
    CHECK(contains(r.reason, "(cwd)"));
    CHECK(contains(r.reason, "(fd "));
    CHECK(contains(r.reason, "(mmap)"));
    CHECK(contains(r.reason, "SIGKILL: " + std::to_string(stubborn.pid) + " holder-noterm"));
    CHECK(cwd.died_of(2s) == SIGTERM);
    CHECK(file.died_of(2s) == SIGTERM);
    CHECK(mapped.died_of(2s) == SIGTERM);
    CHECK(stubborn.died_of(2s) == SIGKILL);
}

TEST_CASE("xfs: a holder the resource cannot stop makes the stop fail, or lazily detach", "[lab]") {
    LoopXfs disk;
    // Our own process holds the mount (we never signal ourselves): nothing can free it.
    storage::filesystem::FilesystemTuning tuning;
    tuning.term_grace = 100ms;
    tuning.unmount_attempts = 2;
    storage::filesystem::FilesystemResource fsr(disk.spec(), tuning);
    REQUIRE(fsr.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    int fd = ::open(disk.mnt.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    base::OpResult r = fsr.stop(ctx_for(3s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "still busy"));
    CHECK(find_mount(mounts_now(), disk.mnt) != nullptr);

    // Lazily detached, but the holder keeps the filesystem (and the device) alive: not stopped.
    auto lazy_spec = disk.spec();
    lazy_spec.on_busy = config::FilesystemSpec::OnBusy::KillThenLazy;
    storage::filesystem::FilesystemResource lazy(lazy_spec, tuning);
    base::OpResult l = lazy.stop(ctx_for(3s));
    INFO(l.reason);
    CHECK(l.outcome == base::Outcome::TimedOut);
    CHECK(contains(l.reason, "still in use at the deadline"));
    CHECK(find_mount(mounts_now(), disk.mnt) == nullptr);
    ::close(fd);
}

TEST_CASE("xfs: lazy detach succeeds once the last holder lets go within the deadline", "[lab]") {
    LoopXfs disk;
    storage::filesystem::FilesystemTuning tuning;
    tuning.term_grace = 100ms;
    tuning.unmount_attempts = 2;
    auto spec = disk.spec();
    spec.on_busy = config::FilesystemSpec::OnBusy::KillThenLazy;
    storage::filesystem::FilesystemResource fsr(spec, tuning);
    REQUIRE(fsr.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    int fd = ::open(disk.mnt.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    // Our own descriptor (never signalled) lets go once the stop has detached the mount.
    std::thread release([&] {
        while (find_mount(mounts_now(), disk.mnt) != nullptr) std::this_thread::sleep_for(10ms);
        ::close(fd);
    });
    base::OpResult r = fsr.stop(ctx_for(10s));
    release.join();
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Ok);
    CHECK(contains(r.reason, "was then released"));
}

TEST_CASE("xfs: stop never says 'not mounted' while the filesystem is mounted", "[lab]") {
    LoopXfs disk;
    // Mounted, then covered by another mount on the same directory: stop must fail, not pass.
    {
        storage::filesystem::FilesystemResource fsr(disk.spec());
        REQUIRE(fsr.start(ctx_for(20s)).outcome == base::Outcome::Ok);
        REQUIRE(::mount("tmpfs", disk.mnt.c_str(), "tmpfs", 0, "size=1m") == 0);
        base::OpResult r = fsr.stop(ctx_for(5s));
        INFO(r.reason);
        CHECK(r.outcome == base::Outcome::Failed);
        CHECK(contains(r.reason, "covered by tmpfs"));
        REQUIRE(::umount2(disk.mnt.c_str(), 0) == 0);
        CHECK(fsr.stop(ctx_for(20s)).outcome == base::Outcome::Ok);
    }
    // Mounted through a link that is gone by the time of the stop: still unmounted.
    std::string link = disk.dir + "/vg-lv";
    REQUIRE(::symlink(disk.device.c_str(), link.c_str()) == 0);
    auto spec = disk.spec();
    spec.device = link;
    storage::filesystem::FilesystemResource via_link(spec);
    REQUIRE(via_link.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    REQUIRE(::unlink(link.c_str()) == 0);
    base::OpResult r = via_link.stop(ctx_for(20s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Ok);
    CHECK(contains(r.reason, "unmounted"));
    CHECK(find_mount(mounts_now(), disk.mnt) == nullptr);
}

TEST_CASE("xfs: a mountpoint with another filesystem on it is refused", "[lab]") {
    LoopXfs disk;
    fs::create_directories(disk.mnt);
    REQUIRE(::mount("tmpfs", disk.mnt.c_str(), "tmpfs", 0, "size=1m") == 0);
    storage::filesystem::FilesystemResource fsr(disk.spec());
    base::OpResult r = fsr.start(ctx_for(10s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "is busy"));
    CHECK(contains(r.reason, "tmpfs"));
    auto mounts = mounts_now();
    CHECK(find_mount(mounts, disk.mnt)->fstype == "tmpfs");
    base::OpResult mon = fsr.monitor(ctx_for(5s));
    CHECK(mon.outcome == base::Outcome::Failed);
    // stop leaves a mount that is not ours alone
    CHECK(fsr.stop(ctx_for(5s)).outcome == base::Outcome::Ok);
    CHECK(find_mount(mounts_now(), disk.mnt)->fstype == "tmpfs");
}

TEST_CASE("xfs: a device already mounted elsewhere is refused", "[lab]") {
    LoopXfs disk;
    std::string other = disk.dir + "/elsewhere";
    fs::create_directories(other);
    REQUIRE(::mount(disk.device.c_str(), other.c_str(), "xfs", 0, nullptr) == 0);
    storage::filesystem::FilesystemResource fsr(disk.spec());
    base::OpResult r = fsr.start(ctx_for(10s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "already mounted at " + other));
    CHECK(find_mount(mounts_now(), disk.mnt) == nullptr);
    CHECK(fsr.monitor(ctx_for(5s)).outcome == base::Outcome::Failed);
    // A stop must not report "stopped" while the device is still mounted on this node.
    base::OpResult s = fsr.stop(ctx_for(5s));
    CHECK(s.outcome == base::Outcome::Failed);
    CHECK(contains(s.reason, other));
}

TEST_CASE("xfs: read-only remount and a shut-down filesystem fail the monitor", "[lab]") {
    LoopXfs disk;
    auto spec = disk.spec();
    spec.deep_check = true;
    storage::filesystem::FilesystemResource deep(spec);
    storage::filesystem::FilesystemResource shallow(disk.spec());
    REQUIRE(deep.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    REQUIRE(deep.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);

    REQUIRE(::mount(nullptr, disk.mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
    base::OpResult ro = deep.monitor(ctx_for(5s));
    INFO(ro.reason);
    CHECK(ro.outcome == base::Outcome::Failed);
    CHECK(contains(ro.reason, "read-only"));
    CHECK(contains(deep.start(ctx_for(5s)).reason, "read-only"));

    REQUIRE(::mount(nullptr, disk.mnt.c_str(), nullptr, MS_REMOUNT, nullptr) == 0);
    REQUIRE(deep.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);
    // An XFS shutdown (what XFS does on metadata I/O errors) leaves mountinfo saying "rw": only
    // the write probe sees it.
    run_ok({"xfs_io", "-x", "-c", "shutdown", disk.mnt});
    CHECK(shallow.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);
    base::OpResult dead = deep.monitor(ctx_for(5s));
    INFO(dead.reason);
    CHECK(dead.outcome == base::Outcome::Failed);
    CHECK(contains(dead.reason, "probe"));
    CHECK(contains(dead.reason, "error"));
    CHECK(deep.stop(ctx_for(20s)).outcome == base::Outcome::Ok);
}

TEST_CASE("xfs: a deep probe on a frozen (hung) filesystem times out at the deadline", "[lab]") {
    LoopXfs disk;
    auto spec = disk.spec();
    spec.deep_check = true;
    storage::filesystem::FilesystemResource fsr(spec);
    REQUIRE(fsr.start(ctx_for(20s)).outcome == base::Outcome::Ok);
    run_ok({"fsfreeze", "-f", disk.mnt});

    auto t0 = base::Clock::now();
    base::OpResult r = fsr.monitor(ctx_for(300ms));
    auto took = base::Clock::now() - t0;
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::TimedOut);
    CHECK(took < 2s);  // the caller got control back near the 300 ms deadline
    // The blocked probe thread is still there: no second one is piled on.
    base::OpResult again = fsr.monitor(ctx_for(300ms));
    CHECK(again.outcome == base::Outcome::TimedOut);
    CHECK(contains(again.reason, "still blocked"));

    run_ok({"fsfreeze", "-u", disk.mnt});
    // Once thawed, the abandoned probe finishes and the monitor is healthy again.
    base::OpResult after;
    for (auto until = base::Clock::now() + 10s; base::Clock::now() < until;) {
        after = fsr.monitor(ctx_for(2s));
        if (after.outcome == base::Outcome::Ok) break;
        std::this_thread::sleep_for(20ms);
    }
    INFO(after.reason);
    CHECK(after.outcome == base::Outcome::Ok);
    CHECK(fsr.stop(ctx_for(20s)).outcome == base::Outcome::Ok);
}

TEST_CASE("xfs: bad options and missing devices fail start with a clear reason", "[lab]") {
    LoopXfs disk;
    auto spec = disk.spec();
    spec.options = "noatime,bind";
    CHECK(contains(storage::filesystem::FilesystemResource(spec).start(ctx_for(5s)).reason, "'bind'"));
    spec.options = "nosuchxfsoption=1";
    base::OpResult bad = storage::filesystem::FilesystemResource(spec).start(ctx_for(10s));
    CHECK(bad.outcome == base::Outcome::Failed);
    CHECK(contains(bad.reason, "nosuchxfsoption"));
    spec = disk.spec();
    spec.device = disk.dir + "/no-such-device";
    base::OpResult missing = storage::filesystem::FilesystemResource(spec).start(ctx_for(5s));
    CHECK(missing.outcome == base::Outcome::Failed);
    CHECK(contains(missing.reason, "No such file"));
    spec = disk.spec();
    spec.mountpoint = "relative/path";
    CHECK(contains(storage::filesystem::FilesystemResource(spec).start(ctx_for(5s)).reason, "absolute"));
}
