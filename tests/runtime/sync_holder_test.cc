// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` on the holder: the file being sent is opened, read and closed by jobs off the loop,
// one read job at a time; the loop only sends what a job read. The holder's jobs are held here,
// so each test sees what the loop did before and after a read (tests/runtime/sync_pair.h).
#include <catch2/catch.hpp>

#include <limits.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "daemon/runtime/sync/service.h"
#include "tests/runtime/sync_pair.h"

using namespace veeamha;
using namespace veeamha::runtime::sync;
using namespace veeamha::runtime::sync::testing;

namespace {

// Descriptors of this process open on `path` (the holder's file: who closed it, and when).
int open_on(const std::string& path) {
    int n = 0;
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        if (fs::read_symlink(fd.path(), ec) == path) ++n;
    }
    return n;
}

// The chunks the holder sent, taken off its outbox (each checked against `data` of its path).
std::vector<wire::SyncChunk> take_chunks(Side& holder) {
    std::vector<wire::SyncChunk> out;
    for (auto it = holder.outbox.begin(); it != holder.outbox.end();) {
        wire::Sync m;
        REQUIRE(m.ParseFromString(*it));
        if (!m.has_chunk()) {
            ++it;
            continue;
        }
        out.push_back(m.chunk());
        it = holder.outbox.erase(it);
    }
    return out;
}

// A file of twice the window (and `other`, sent after it, if given) the holder is asked for,
// its jobs held: once made, the first read job has been given to the runner and has not run.
struct HeldRead {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    const std::string data = random_bytes(2 * kWindow * kChunk);
    std::string file;
    std::unique_ptr<Pair> pair;

    explicit HeldRead(const std::string& other = "") {
        fs::create_directories(a / "e");
        fs::create_directories(b / "e");
        pair = std::make_unique<Pair>(std::vector<SyncEntry>{{"/e", a / "e", EntryKind::Path}},
                                      std::vector<SyncEntry>{{"/e", b / "e", EntryKind::Path}});
        file = a / "e/file";
        write(file, data);
        if (!other.empty()) write(a / "e/other", other);
        pair->holder.hold_jobs = true;
        pair->holder.service->changed();
        pair->holder.step();  // the scan: the manifest goes out, the peer asks for the file
        pair->run();
        REQUIRE(pair->holder.held_job);  // the first read
        REQUIRE(pair->chunks == 0);
    }
};

}  // namespace

TEST_CASE("sync: the holder's loop sends only what a read job read, one read job at a time") {
    HeldRead t;
    Pair& p = *t.pair;
    // The loop opened nothing and read nothing: the job does, and its chunks go out only once
    // its result is back on the loop.
    CHECK(open_on(t.file) == 0);
    p.holder.work();
    CHECK(open_on(t.file) == 1);
    CHECK(p.holder.outbox.empty());
    p.holder.deliver();
    std::vector<wire::SyncChunk> sent = take_chunks(p.holder);
    REQUIRE(sent.size() == kWindow);  // the window, then no read until the peer acknowledges
    CHECK_FALSE(p.holder.held_job);
    // The peer's acknowledgements come while the next read is held: one read job, whatever
    // else the loop is asked meanwhile.
    auto forward = [&](const std::vector<wire::SyncChunk>& chunks) {
        for (const auto& c : chunks) {
            wire::Sync m;
            *m.mutable_chunk() = c;
            p.holder.outbox.push_back(m.SerializeAsString());
        }
        p.run();
    };
    forward(sent);
    std::set<uint64_t> offsets;
    for (const auto& c : sent) offsets.insert(c.offset());
    while (p.holder.held_job) {
        p.holder.step();
        std::vector<wire::SyncChunk> more = take_chunks(p.holder);
        for (const auto& c : more) {
            CHECK(offsets.insert(c.offset()).second);  // none twice
            CHECK(c.data() == t.data.substr(c.offset(), c.data().size()));
        }
        forward(more);
    }
    CHECK(offsets.size() == 2 * kWindow);
    CHECK(slurp(t.b / "e/file") == t.data);
    CHECK(p.holder.state(t.file) == FileState::InSync);
    CHECK(open_on(t.file) == 0);  // closed by a job once the transfer was done
}

TEST_CASE("sync: a transfer that ends while its read job runs: nothing of it sent, its file closed by a job") {
    HeldRead t;
    Pair& p = *t.pair;
    p.holder.work();  // the file is open, the chunks read
    REQUIRE(open_on(t.file) == 1);

    SECTION("the channel goes down") { p.holder.service->set_role(true, false); }
    SECTION("this node stops running the group") { p.holder.service->set_role(false, true); }
    SECTION("the peer gives the file up") {
        wire::Sync m;
        m.mutable_ack()->set_entry("/e");
        m.mutable_ack()->set_path("file");
        m.mutable_ack()->set_done(true);
        m.mutable_ack()->set_error("no space left on device");
        p.holder.service->on_message(m, false);
        CHECK(p.holder.state(t.file) == FileState::Failed);
    }
    // Not closed on the loop (the job may still use it; a close could wait for the disk too).
    CHECK(open_on(t.file) == 1);
    p.holder.deliver();
    CHECK(take_chunks(p.holder).empty());
    while (p.holder.held_job) p.holder.step();  // behind it: the close, a scan
    CHECK(take_chunks(p.holder).empty());
    CHECK(open_on(t.file) == 0);
}

TEST_CASE("sync: a read job's result for a transfer ended meanwhile is not sent for the next one") {
    const std::string other = "the other file\n";
    HeldRead t(other);
    Pair& p = *t.pair;
    // The channel drops and comes back while the read of `file` is held, and the peer's answer
    // to the manifest from before asks for `other` only: `other` is the transfer in front when
    // the read of `file` comes back.
    p.holder.service->set_role(true, false);
    p.holder.service->set_role(true, true);
    wire::Sync request;
    request.mutable_request()->set_entry("/e");
    request.mutable_request()->add_paths("other");
    p.holder.service->on_message(request, false);
    while (p.holder.held_job) p.holder.step();  // the read of `file`, its close, a scan, the read of `other`
    std::vector<wire::SyncChunk> sent = take_chunks(p.holder);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].item().path() == "other");
    CHECK(sent[0].data() == other);
    CHECK(open_on(t.file) == 0);
}

TEST_CASE("sync: a file that changes size while it is read is not sent, its new copy is") {
    HeldRead t;
    Pair& p = *t.pair;
    const std::string longer = t.data + "and more";
    write(t.file, longer);  // in place: the open file grows
    while (p.holder.held_job) {
        p.holder.step();  // the read sees it, then the change's scan
        CHECK(take_chunks(p.holder).empty());
    }
    // The new manifest went out; the peer asks for the new copy, which arrives whole.
    p.holder.hold_jobs = false;
    p.run();
    CHECK(slurp(t.b / "e/file") == longer);
    CHECK(p.holder.state(t.file) == FileState::InSync);
    CHECK_FALSE(p.holder.reported("sync-failed", t.file));
    CHECK(open_on(t.file) == 0);
}

TEST_CASE("sync: a congested channel fails the file being read, and the next compare sends it") {
    HeldRead t;
    Pair& p = *t.pair;
    p.holder.congested = true;
    p.holder.step();
    CHECK(p.holder.state(t.file) == FileState::Failed);
    CHECK_THAT(p.holder.error(t.file), Catch::Contains("congested"));
    while (p.holder.held_job) p.holder.step();  // the close: no read after a failed send
    CHECK(open_on(t.file) == 0);
    p.holder.congested = false;
    p.holder.hold_jobs = false;
    p.peer_changed();
    CHECK(slurp(t.b / "e/file") == t.data);
    CHECK(p.holder.state(t.file) == FileState::InSync);
}
