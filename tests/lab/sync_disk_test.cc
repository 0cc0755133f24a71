// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` on a receiver whose disk stops answering: the peer's copy lives on XFS over a loop
// device whose image the FUSE server of the lab holds (tests/lab/holdfs.cc), so the receiver's
// fsync waits as on a SAN path that stopped answering. Two SyncServices run on a real event
// loop with the daemon's BlockingRunner (as daemon/runtime/runtime_sync.cc wires them); while
// the write waits, the loop still runs what is posted to it (the daemon's heartbeats), and once
// the disk answers the file lands.
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

}  // namespace

TEST_CASE("sync: a receiver whose disk stops answering holds the sync, never the event loop", "[lab][sync]") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root (FUSE, a loop device, mount)");
    if (std::string why = lab::HoldableDisk::unavailable(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    test::TempDir t{"veeamha-sync-disk"};
    const std::string backing = t / "backing.img", mnt = t / "mnt", src = t / "holder/e";
    {
        std::ofstream(backing).close();
        fs::resize_file(backing, 320u << 20);  // XFS's smallest
        auto r = run({"mkfs.xfs", "-q", "-f", "-K", backing});
        REQUIRE(r.success());
    }
    fs::create_directories(mnt);
    fs::create_directories(t / "fuse");
    fs::create_directories(src);
    std::string data(1u << 20, '\0');
    std::mt19937_64 rng(11);
    for (auto& c : data) c = static_cast<char>(rng());
    std::ofstream(src + "/file", std::ios::binary) << data;

    lab::HoldableDisk disk(backing, t / "fuse", t / "holdfs.log");
    std::optional<Loop> loop;  // after the disk: released and unmounted before the loop ends
    // `mount -o loop` gives the loop device autoclear: it goes with the unmount.
    auto m = run({"mount", "-o", "loop", "-t", "xfs", disk.image(), mnt});
    if (!m.success()) VEEAMHA_SKIP_TEST("cannot mount a loop device here: " << m.describe());
    struct Unmount {
        lab::HoldableDisk& disk;
        std::string mnt;
        ~Unmount() {
            try {
                disk.hold(false);
            } catch (...) {
            }
            // A job may still close its file on it: a few tries, then lazily.
            for (int i = 0; i < 100 && ::umount2(mnt.c_str(), 0) != 0 && errno == EBUSY; ++i)
                std::this_thread::sleep_for(50ms);
            ::umount2(mnt.c_str(), MNT_DETACH);
        }
    } unmount{disk, mnt};
    fs::create_directories(mnt + "/e");
    ::sync();

    loop.emplace();
    disk.hold(true);
    REQUIRE(loop->on_loop([&] {
        loop->holder = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", src, EntryKind::Path}}, Limits{},
                                                     loop->hooks(true));
        loop->peer = std::make_unique<SyncService>(std::vector<SyncEntry>{{"/e", mnt + "/e", EntryKind::Path}},
                                                   Limits{}, loop->hooks(false));
        loop->holder->set_role(true, true);
        loop->peer->set_role(false, true);
    }));
    auto state_on = [&](SyncService& s, const std::string& path) {
        std::optional<FileState> state;
        bool answered = loop->on_loop([&] {
            if (auto it = s.files().find(path); it != s.files().end()) state = it->second.state;
        });
        return answered ? state : std::nullopt;
    };
    // The peer asked for the file and its write waits in the FUSE server (a rename comes only
    // after the fsync, so it cannot be in place)...
    REQUIRE(lab::testing::eventually(20s, [&] {
        return state_on(*loop->peer, mnt + "/e/file") == FileState::Pending && disk.waiting() > 0;
    }));
    // ...and meanwhile the loop runs what is posted to it (a bounded wait each: a loop stuck in
    // the write would not get to it before the disk answers).
    for (int i = 0; i < 10; ++i) CHECK(state_on(*loop->peer, mnt + "/e/file") == FileState::Pending);
    CHECK(disk.waiting() > 0);

    disk.hold(false);
    REQUIRE(lab::testing::eventually(20s, [&] { return state_on(*loop->holder, src + "/file") == FileState::InSync; }));
    CHECK(state_on(*loop->peer, mnt + "/e/file") == FileState::InSync);
    const bool arrived_whole = lab::testing::slurp(mnt + "/e/file") == data;  // 1 MiB: not printed
    CHECK(arrived_whole);
    CHECK_FALSE(loop->refused);
    loop.reset();
}
