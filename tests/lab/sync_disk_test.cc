// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` on a node whose disk stops answering: the file lives on XFS over a loop device whose
// image the FUSE server of the lab holds (tests/lab/holdfs.cc), so a write, fsync or read there
// waits as on a SAN path that stopped answering. Two SyncServices run on a real event loop with
// the daemon's BlockingRunner (as daemon/runtime/runtime_sync.cc wires them); while the disk
// waits, the loop still runs what is posted to it (the daemon's heartbeats), and once the disk
// answers the file lands. Both sides: the receiver's write, and the holder's read of the file
// it sends.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "base/process.h"
#include "daemon/runtime/blocking_runner.h"
#include "daemon/runtime/sync/service.h"
#include "tests/common/skip.h"
#include "tests/common/temp_dir.h"
#include "tests/lab/holdable_disk.h"
#include "tests/lab/lab_test_util.h"

using namespace veeamha;
using namespace veeamha::runtime::sync;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

base::ProcessResult run(const std::vector<std::string>& argv) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = base::Clock::now() + 60s;
    return base::run_process(spec);
}

// The two services on one event loop (its own thread); messages cross it as the channel would.
struct Loop {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    runtime::BlockingRunner blocking{io, 16};
    std::atomic<bool> refused{false};  // the runner was full (asserted on the test's thread)
    std::unique_ptr<SyncService> holder, peer;
    std::thread thread;

    Loop() : thread([this] { io.run(); }) {}
    ~Loop() {
        blocking.close();
        work.reset();
        io.stop();
        thread.join();
    }

    // Runs `f` on the loop; false if the loop did not get to it within `budget`.
    template <class F>
    bool on_loop(F f, std::chrono::milliseconds budget = 10s) {
        auto done = std::make_shared<std::promise<void>>();
        std::future<void> ran = done->get_future();
        asio::post(io, [f = std::move(f), done]() mutable {
            f();
            done->set_value();
        });
        return ran.wait_for(budget) == std::future_status::ready;
    }

    SyncService::Hooks hooks(bool to_peer) {
        SyncService::Hooks h;
        h.send = [this, to_peer](const wire::Sync& m) {
            asio::post(io, [this, to_peer, bytes = m.SerializeAsString()] {
                wire::Sync in;
                if (!in.ParseFromString(bytes)) return;
                (to_peer ? peer : holder)->on_message(in, to_peer);
            });
            return true;
        };
        h.off_loop = [this](std::function<std::function<void()>()> job) {
            // What the daemon does (its retry when the runner is full is not needed here).
            if (!blocking.run<std::function<void()>>(job, [](std::function<void()> then) { then(); })) refused = true;
        };
        h.report = [](int, const std::string&, const std::string& text) { std::printf("%s\n", text.c_str()); };
        h.reload = [](Reload) {};
        h.watch = [](const std::vector<std::string>&) {};
        h.now_ms = [] { return int64_t(1780000000000); };
        return h;
    }
};

// XFS over a loop device on the FUSE server's image, mounted at `mnt`, its I/O held at will.
// Declared after the event loop: released and unmounted before the loop ends (a loop thread
// stuck in that I/O, as with the bug this tests for, could not be joined before).
struct HeldXfs {
    std::string backing, mnt;
    std::optional<lab::HoldableDisk> disk;
    std::string unusable;  // why it could not be mounted (the test is skipped)

    HeldXfs(const test::TempDir& t, const std::string& options) : backing(t / "backing.img"), mnt(t / "mnt") {
        std::ofstream(backing).close();
        fs::resize_file(backing, 320u << 20);  // XFS's smallest
        auto r = run({"mkfs.xfs", "-q", "-f", "-K", backing});
        REQUIRE(r.success());
        fs::create_directories(mnt);
        fs::create_directories(t / "fuse");
        disk.emplace(backing, t / "fuse", t / "holdfs.log");
        // `mount -o loop` gives the loop device autoclear: it goes with the unmount.
        auto m = run({"mount", "-o", "loop," + options, "-t", "xfs", disk->image(), mnt});
        if (!m.success()) unusable = "cannot mount a loop device here: " + m.describe();
    }
    ~HeldXfs() {
        try {
            disk->hold(false);
        } catch (...) {
        }
        if (!unusable.empty()) return;
        // A job may still close its file on it: a few tries, then lazily.
        for (int i = 0; i < 100 && ::umount2(mnt.c_str(), 0) != 0 && errno == EBUSY; ++i)
            std::this_thread::sleep_for(50ms);
        ::umount2(mnt.c_str(), MNT_DETACH);
    }
};

// The file's state on `s`, read on the loop; nullopt if the loop did not get to it in time.
std::optional<FileState> state_on(Loop& loop, SyncService& s, const std::string& path) {
    // Shared: a loop that gets to it late still writes somewhere alive.
    auto state = std::make_shared<std::optional<FileState>>();
    bool answered = loop.on_loop([&s, path, state] {
        if (auto it = s.files().find(path); it != s.files().end()) *state = it->second.state;
    });
    return answered ? *state : std::nullopt;
}

}  // namespace

TEST_CASE("sync: a receiver whose disk stops answering holds the sync, never the event loop", "[lab][sync]") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root (FUSE, a loop device, mount)");
    if (std::string why = lab::HoldableDisk::unavailable(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    test::TempDir t{"veeamha-sync-disk"};
    const std::string src = t / "holder/e";
    fs::create_directories(src);
    std::string data(1u << 20, '\0');
    std::mt19937_64 rng(11);
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(src + "/file", std::ios::binary) << data;

    std::optional<Loop> loop;
    HeldXfs xfs(t, "defaults");
    if (!xfs.unusable.empty()) VEEAMHA_SKIP_TEST(xfs.unusable);
    const std::string& mnt = xfs.mnt;
    lab::HoldableDisk& disk = *xfs.disk;
    fs::create_directories(mnt + "/e");
    ::sync();

    loop.emplace();
    disk.hold(true);
    // The strings by value: a loop that gets to this after on_loop gave up must not read a
    // local that the failed REQUIRE has destroyed.
    REQUIRE(loop->on_loop([&loop, src, mnt = mnt] {
        loop->holder = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", src, EntryKind::Path}}, Limits{},
                                                     loop->hooks(true));
        loop->peer = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", mnt + "/e", EntryKind::Path}},
                                                   Limits{}, loop->hooks(false));
        loop->holder->set_role(true, true);
        loop->peer->set_role(false, true);
    }));
    // The peer asked for the file and its write waits in the FUSE server (a rename comes only
    // after the fsync, so it cannot be in place)...
    REQUIRE(lab::testing::eventually(20s, [&] {
        return state_on(*loop, *loop->peer, mnt + "/e/file") == FileState::Pending && disk.waiting() > 0;
    }));
    // ...and meanwhile the loop runs what is posted to it (a bounded wait each: a loop stuck in
    // the write would not get to it before the disk answers).
    for (int i = 0; i < 10; ++i) CHECK(state_on(*loop, *loop->peer, mnt + "/e/file") == FileState::Pending);
    CHECK(disk.waiting() > 0);

    disk.hold(false);
    REQUIRE(lab::testing::eventually(20s, [&] { return state_on(*loop, *loop->holder, src + "/file") == FileState::InSync; }));
    CHECK(state_on(*loop, *loop->peer, mnt + "/e/file") == FileState::InSync);
    const bool arrived_whole = lab::testing::slurp(mnt + "/e/file") == data;  // 1 MiB: not printed
    CHECK(arrived_whole);
    CHECK_FALSE(loop->refused);
    loop.reset();
}

TEST_CASE("sync: a holder whose disk stops answering holds the sync, never the event loop", "[lab][sync]") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root (FUSE, a loop device, mount)");
    if (std::string why = lab::HoldableDisk::unavailable(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    test::TempDir t{"veeamha-sync-disk"};
    const std::string dst = t / "peer/e";
    fs::create_directories(dst);
    std::optional<Loop> loop;
    // noatime: reading the file dirties nothing that a log flush would have to write.
    HeldXfs xfs(t, "noatime");
    if (!xfs.unusable.empty()) VEEAMHA_SKIP_TEST(xfs.unusable);
    lab::HoldableDisk& disk = *xfs.disk;
    const std::string src = xfs.mnt + "/e", file = src + "/file";
    fs::create_directories(src);
    std::string data(1u << 20, '\0');
    std::mt19937_64 rng(12);
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(file, std::ios::binary) << data;
    ::sync();

    // Not connected yet: the holder's first scan reads the file (its digest is cached by inode,
    // size and times, so the next scans read nothing of it) and sends nothing.
    loop.emplace();
    REQUIRE(loop->on_loop([&loop, src, dst] {  // by value: see the test above
        loop->holder = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", src, EntryKind::Path}}, Limits{},
                                                     loop->hooks(true));
        loop->peer = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", dst, EntryKind::Path}}, Limits{},
                                                   loop->hooks(false));
        loop->holder->set_role(true, false);
        loop->peer->set_role(false, true);
    }));
    REQUIRE(lab::testing::eventually(20s, [&] { return state_on(*loop, *loop->holder, file) == FileState::Pending; }));
    // Its bytes out of the page cache: the read for sending must come from the disk.
    {
        int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        CHECK(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
        ::close(fd);
    }
    disk.hold(true);
    REQUIRE(loop->on_loop([&loop] { loop->holder->set_role(true, true); }));
    // The peer asked for the file and the holder's read waits in the FUSE server...
    REQUIRE(lab::testing::eventually(20s, [&] {
        return state_on(*loop, *loop->peer, dst + "/file") == FileState::Pending && disk.waiting() > 0;
    }));
    // ...and meanwhile the loop runs what is posted to it (a loop stuck in the read would not
    // get to it before the disk answers), and nothing arrived: what waits is that read.
    for (int i = 0; i < 10; ++i) CHECK(state_on(*loop, *loop->peer, dst + "/file") == FileState::Pending);
    CHECK(disk.waiting() > 0);
    CHECK_FALSE(fs::exists(dst + "/file"));

    disk.hold(false);
    REQUIRE(lab::testing::eventually(20s, [&] { return state_on(*loop, *loop->holder, file) == FileState::InSync; }));
    CHECK(state_on(*loop, *loop->peer, dst + "/file") == FileState::InSync);
    const bool arrived_whole = lab::testing::slurp(dst + "/file") == data;  // 1 MiB: not printed
    CHECK(arrived_whole);
    CHECK_FALSE(loop->refused);
    loop.reset();
}
