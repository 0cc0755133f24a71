// SPDX-License-Identifier: GPL-2.0-or-later
// BindResource against real bind mounts. The group's filesystem is a tmpfs of the test's own
// (a bind mount shows the same whatever the filesystem); everything happens in a private mount
// namespace (unshare), so the mounts are invisible to other tests and vanish with the process.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/bind/bind_resource.h"
#include "storage/filesystem/holders.h"
#include "storage/filesystem/mountinfo.h"
#include "tests/common/holder.h"
#include "tests/common/private_mounts.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/common/stale_runs.h"

using namespace veeamha;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using veeamha::test::Holder;

namespace {

base::OpContext ctx_for(std::chrono::milliseconds budget) {
    base::OpContext ctx;
    ctx.deadline = base::Clock::now() + budget;
    return ctx;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::vector<storage::filesystem::MountEntry> mounts_now() {
    std::string err;
    auto m = storage::filesystem::read_mountinfo(&err);
    REQUIRE(m);
    return *m;
}

const storage::filesystem::MountEntry* top_at(const std::string& path) {
    static std::vector<storage::filesystem::MountEntry> last;
    last = mounts_now();
    return storage::filesystem::top_mount_at(last, path);
}

using veeamha::test::slurp;

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    REQUIRE(out.good());
}

// The group's filesystem (a tmpfs at <dir>/repo) with the state folder on it, and where it is
// bound (<dir>/etc/veeam, not created: start() makes it).
struct Bench {
    std::string dir, repo, source, target;

    Bench() {
        REQUIRE(test::enter_private_mount_namespace());
        for (const auto& line : test::sweep_stale_runs(kDirPrefix)) WARN("stale run: " << line);
        std::string tmpl = std::string(kDirPrefix) + std::to_string(::getpid()) + "-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()));
        dir = tmpl;
        repo = dir + "/repo";
        source = repo + "/.ha/etc-veeam";
        target = dir + "/etc/veeam";
        fs::create_directories(repo);
        REQUIRE(::mount("tmpfs", repo.c_str(), "tmpfs", 0, "size=16m") == 0);
        fs::create_directories(source + "/immureposvc");
        write_text(source + "/immureposvc/timeLog", "the group's clock\n");
    }
    ~Bench() {
        auto mounts = mounts_now();
        for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
            if (it->mount_point.rfind(dir + "/", 0) == 0) ::umount2(it->mount_point.c_str(), MNT_DETACH);
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    static constexpr const char* kDirPrefix = "/var/tmp/veeamha-bindlab-";

    config::BindSpec spec() const {
        config::BindSpec s;
        s.source = source;
        s.target = target;
        return s;
    }
};

bool root() { return ::geteuid() == 0; }

}  // namespace

TEST_CASE("bind: bind, monitor, idempotent start, unbind", "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    storage::bind::BindResource res(b.spec());

    CHECK(res.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);
    CHECK(res.stop(ctx_for(5s)).outcome == base::Outcome::Ok);  // not bound = stopped

    base::OpResult r = res.start(ctx_for(10s));
    INFO(r.reason);
    REQUIRE(r.outcome == base::Outcome::Ok);
    struct stat st {};
    REQUIRE(::stat((b.dir + "/etc").c_str(), &st) == 0);  // the target's parents made 0755
    CHECK((st.st_mode & 07777) == 0755);
    const auto* m = top_at(b.target);
    REQUIRE(m);
    CHECK(m->root == "/.ha/etc-veeam");
    CHECK(m->fstype == "tmpfs");
    const int bound_id = m->mount_id;
    // The group's state shows at the target, and what is written there lands on the filesystem.
    CHECK(slurp(b.target + "/immureposvc/timeLog") == "the group's clock\n");
    write_text(b.target + "/immureposvc/timeLog", "ten minutes later\n");
    CHECK(slurp(b.source + "/immureposvc/timeLog") == "ten minutes later\n");

    base::OpResult mon = res.monitor(ctx_for(5s));
    INFO(mon.reason);
    CHECK(mon.outcome == base::Outcome::Ok);

    base::OpResult again = res.start(ctx_for(5s));
    CHECK(again.outcome == base::Outcome::Ok);
    CHECK(contains(again.reason, "already bound"));
    CHECK(top_at(b.target)->mount_id == bound_id);  // not bound twice

    base::OpResult s = res.stop(ctx_for(10s));
    INFO(s.reason);
    CHECK(s.outcome == base::Outcome::Ok);
    CHECK(top_at(b.target) == nullptr);
    CHECK_FALSE(fs::exists(b.target + "/immureposvc"));
    CHECK(res.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);
    CHECK(res.stop(ctx_for(5s)).outcome == base::Outcome::Ok);
}

TEST_CASE("bind: a non-empty target is refused unless allowed, then hidden while bound", "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    fs::create_directories(b.target + "/immureposvc");
    write_text(b.target + "/immureposvc/timeLog", "this host's stale clock\n");
    write_text(b.target + "/veeam.ini", "x\n");

    storage::bind::BindResource strict(b.spec());
    base::OpResult r = strict.start(ctx_for(10s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "target " + b.target + " is not empty (2 entries: "));
    CHECK(contains(r.reason, "immureposvc"));
    CHECK(contains(r.reason, "veeam.ini"));
    CHECK(contains(r.reason, "allow_nonempty_target: true"));
    CHECK(top_at(b.target) == nullptr);  // nothing was bound
    CHECK(strict.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);

    auto spec = b.spec();
    spec.allow_nonempty_target = true;
    storage::bind::BindResource lenient(spec);
    base::OpResult ok = lenient.start(ctx_for(10s));
    INFO(ok.reason);
    REQUIRE(ok.outcome == base::Outcome::Ok);
    CHECK(contains(ok.reason, "over 2 entries of the target"));
    CHECK(slurp(b.target + "/immureposvc/timeLog") == "the group's clock\n");  // the stale copy hidden
    CHECK_FALSE(fs::exists(b.target + "/veeam.ini"));
    REQUIRE(lenient.stop(ctx_for(10s)).outcome == base::Outcome::Ok);
    CHECK(slurp(b.target + "/immureposvc/timeLog") == "this host's stale clock\n");  // back, untouched
}

TEST_CASE("bind: a missing source is refused and never created, a source through a symlink is refused", "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    auto spec = b.spec();
    spec.source = b.repo + "/.ha/not-there";
    storage::bind::BindResource missing(spec);
    base::OpResult r = missing.start(ctx_for(10s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "source " + spec.source + " does not exist"));
    CHECK_FALSE(fs::exists(spec.source));
    CHECK(top_at(b.target) == nullptr);

    fs::create_symlink(b.source, b.repo + "/link");
    spec.source = b.repo + "/link";
    storage::bind::BindResource linked(spec);
    base::OpResult l = linked.start(ctx_for(10s));
    INFO(l.reason);
    CHECK(l.outcome == base::Outcome::Failed);
    CHECK(contains(l.reason, "is " + b.source + " through a symbolic link"));
}

TEST_CASE("bind: a target with another mount on it is refused at start and left alone at stop", "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    fs::create_directories(b.target);
    REQUIRE(::mount("tmpfs", b.target.c_str(), "tmpfs", 0, "size=1m") == 0);
    storage::bind::BindResource res(b.spec());
    base::OpResult r = res.start(ctx_for(10s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "target " + b.target + " is busy: / of tmpfs (tmpfs,"));
    base::OpResult mon = res.monitor(ctx_for(5s));
    CHECK(mon.outcome == base::Outcome::Failed);
    base::OpResult s = res.stop(ctx_for(5s));
    INFO(s.reason);
    CHECK(s.outcome == base::Outcome::Ok);
    CHECK(contains(s.reason, "left alone"));
    CHECK(top_at(b.target) != nullptr);  // not ours: still mounted
}

TEST_CASE("bind: the monitor sees an unmount, a bind of another folder, and the same folder of another filesystem",
          "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    storage::bind::BindResource res(b.spec());
    REQUIRE(res.start(ctx_for(10s)).outcome == base::Outcome::Ok);
    REQUIRE(res.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);

    // Unmounted behind the daemon's back: nothing of it runs.
    REQUIRE(::umount2(b.target.c_str(), 0) == 0);
    base::OpResult gone = res.monitor(ctx_for(5s));
    INFO(gone.reason);
    CHECK(gone.outcome == base::Outcome::NotRunning);
    CHECK(contains(gone.reason, "nothing is mounted at " + b.target));

    // Another folder of the same filesystem bound there.
    fs::create_directories(b.repo + "/.ha/other");
    REQUIRE(::mount((b.repo + "/.ha/other").c_str(), b.target.c_str(), nullptr, MS_BIND, nullptr) == 0);
    base::OpResult wrong = res.monitor(ctx_for(5s));
    INFO(wrong.reason);
    CHECK(wrong.outcome == base::Outcome::Failed);
    CHECK(contains(wrong.reason, b.target + " shows /.ha/other of tmpfs (tmpfs, "));
    CHECK(contains(wrong.reason, "instead of " + b.source + ", which is /.ha/etc-veeam of tmpfs"));
    REQUIRE(::umount2(b.target.c_str(), 0) == 0);

    // A folder with the same place on another filesystem (a stale copy on this host's disk).
    std::string stale = b.dir + "/stale";
    fs::create_directories(stale);
    REQUIRE(::mount("tmpfs", stale.c_str(), "tmpfs", 0, "size=1m") == 0);
    fs::create_directories(stale + "/.ha/etc-veeam");
    REQUIRE(::mount((stale + "/.ha/etc-veeam").c_str(), b.target.c_str(), nullptr, MS_BIND, nullptr) == 0);
    REQUIRE(top_at(b.target)->root == "/.ha/etc-veeam");
    base::OpResult other_fs = res.monitor(ctx_for(5s));
    INFO(other_fs.reason);
    CHECK(other_fs.outcome == base::Outcome::Failed);
    // ... and the stop leaves it alone (start never binds over a mount: it is not ours).
    CHECK(res.stop(ctx_for(5s)).outcome == base::Outcome::Ok);
    CHECK(top_at(b.target) != nullptr);
    REQUIRE(::umount2(b.target.c_str(), 0) == 0);

    // Bound again and covered by a mount over it: the monitor fails, and the stop will not
    // call that "not bound".
    REQUIRE(res.start(ctx_for(10s)).outcome == base::Outcome::Ok);
    REQUIRE(::mount("tmpfs", b.target.c_str(), "tmpfs", 0, "size=1m") == 0);
    CHECK(res.monitor(ctx_for(5s)).outcome == base::Outcome::Failed);
    base::OpResult covered = res.stop(ctx_for(5s));
    INFO(covered.reason);
    CHECK(covered.outcome == base::Outcome::Failed);
    CHECK(contains(covered.reason, "is bound at " + b.target + " but covered by"));
}

TEST_CASE("bind: a busy target: its holders are stopped and named, users of the filesystem's own mount are not",
          "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    storage::filesystem::FilesystemTuning tuning;
    tuning.term_grace = 500ms;
    storage::bind::BindResource res(b.spec(), tuning);
    REQUIRE(res.start(ctx_for(10s)).outcome == base::Outcome::Ok);
    const std::string log = b.target + "/immureposvc/timeLog";
    Holder cwd("holder-cwd", [&] { (void)!::chdir(b.target.c_str()); });
    Holder file("holder-fd", [&] { (void)!::open(log.c_str(), O_RDONLY); });
    Holder stubborn("holder-noterm", [&] {
        ::signal(SIGTERM, SIG_IGN);
        (void)!::chdir((b.target + "/immureposvc").c_str());
    });
    // The same folder through the filesystem's own mount: not the bind's business.
    Holder bystander("holder-repo", [&] { (void)!::chdir(b.source.c_str()); });

    base::OpResult r = res.stop(ctx_for(10s));
    INFO(r.reason);
    REQUIRE(r.outcome == base::Outcome::Ok);
    CHECK(top_at(b.target) == nullptr);
    for (Holder* h : {&cwd, &file, &stubborn}) {
        INFO(h->name);
        CHECK(contains(r.reason, std::to_string(h->pid) + " " + h->name));
    }
    CHECK(contains(r.reason, "SIGKILL: " + std::to_string(stubborn.pid) + " holder-noterm"));
    CHECK_FALSE(contains(r.reason, "holder-repo"));
    CHECK(cwd.died_of(2s) == SIGTERM);
    CHECK(file.died_of(2s) == SIGTERM);
    CHECK(stubborn.died_of(2s) == SIGKILL);
    CHECK(bystander.died_of(100ms) == 0);  // still alive
    CHECK(res.monitor(ctx_for(5s)).outcome == base::Outcome::NotRunning);
}

// The scan that finds a busy bind's holders knows a mapping by its device first, and a bind
// shares its device with the filesystem's own mount. A process that maps and unmaps files of
// the filesystem there is seen in maps, then its mapping is gone when the scan asks which
// mount it was: that must not make it a holder of the bind (it would be killed).
TEST_CASE("bind: a process mapping and unmapping the filesystem's files through its own mount is never a holder",
          "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    storage::bind::BindResource res(b.spec());
    REQUIRE(res.start(ctx_for(10s)).outcome == base::Outcome::Ok);
    const auto* bound = top_at(b.target);
    REQUIRE(bound);
    const int bound_id = bound->mount_id;
    const dev_t bound_dev = bound->dev();
    const std::string log = "/immureposvc/timeLog";
    int fd = -1;
    Holder churn(
        "holder-churn", [&] { fd = ::open((b.source + log).c_str(), O_RDONLY); },
        [&] {
            void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) {
                (void)*static_cast<volatile const char*>(p);
                ::munmap(p, 4096);
            }
        });
    // One that does map through the bind: the scan still finds it every time.
    Holder mapped("holder-mmap", [&] {
        int f = ::open((b.target + log).c_str(), O_RDONLY);
        (void)!::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, f, 0);
        ::close(f);
    });
    int scans = 0, churn_taken = 0, mapped_found = 0;
    for (; scans < 300; ++scans) {
        for (const auto& h : storage::filesystem::find_holders(bound_id, bound_dev, base::Clock::now() + 10s)) {
            if (h.pid == churn.pid) ++churn_taken;
            if (h.pid == mapped.pid && h.how == "mmap") ++mapped_found;
        }
    }
    INFO(scans << " scans");
    CHECK(churn_taken == 0);
    CHECK(mapped_found == scans);
    CHECK(churn.died_of(0ms) == 0);
}

TEST_CASE("bind: busy with no process to stop (a mount below the target): the stop fails and says why", "[lab]") {
    if (!root()) VEEAMHA_SKIP_TEST("bind mounts need root");
    Bench b;
    storage::bind::BindResource res(b.spec());
    REQUIRE(res.start(ctx_for(10s)).outcome == base::Outcome::Ok);
    const std::string below = b.target + "/immureposvc";
    REQUIRE(::mount("tmpfs", below.c_str(), "tmpfs", 0, "size=1m") == 0);
    base::OpResult r = res.stop(ctx_for(5s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, b.target + " is still busy; other filesystems are mounted below it: " + below));
    CHECK(res.monitor(ctx_for(5s)).outcome == base::Outcome::Ok);  // never detached lazily: still there
}
