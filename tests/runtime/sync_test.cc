// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` against real files (the fixture: tests/runtime/sync_pair.h); the holder's reads off
// the loop are in sync_holder_test.cc.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "daemon/runtime/sync/service.h"
#include "net/frame.h"
#include "tests/common/skip.h"
#include "tests/runtime/sync_pair.h"

using namespace veeamha;
using namespace veeamha::runtime::sync;
using veeamha::test::TempDir;
namespace fs = std::filesystem;

using namespace veeamha::runtime::sync::testing;

TEST_CASE("sync: a folder's tree arrives with owner, group and mode, each file replaced atomically") {
    if (!root()) VEEAMHA_SKIP_TEST("needs root to give files another owner");
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    const std::string src = a / "certs", dst = b / "certs";
    fs::create_directories(src + "/sub");
    ::chmod((src + "/sub").c_str(), 0750);
    REQUIRE(::chown((src + "/sub").c_str(), 1234, 5678) == 0);
    write(src + "/server.pem", "CERT\n", 0640);
    REQUIRE(::chown((src + "/server.pem").c_str(), 1234, 5678) == 0);
    write(src + "/sub/key.pem", "KEY\n", 0600);
    REQUIRE(::chown((src + "/sub/key.pem").c_str(), 4321, 8765) == 0);
    // The peer has an older server.pem, open by a reader that must keep seeing the old bytes.
    fs::create_directories(dst);
    write(dst + "/server.pem", "OLD CERT\n", 0644);
    const ino_t old_inode = stat_of(dst + "/server.pem").st_ino;
    int reader = ::open((dst + "/server.pem").c_str(), O_RDONLY);
    REQUIRE(reader >= 0);

    Pair p({{"/opt/veeam/transport/certs", src, EntryKind::Path}}, {{"/opt/veeam/transport/certs", dst, EntryKind::Path}});

    CHECK(slurp(dst + "/server.pem") == "CERT\n");
    CHECK(slurp(dst + "/sub/key.pem") == "KEY\n");
    struct stat f = stat_of(dst + "/server.pem"), k = stat_of(dst + "/sub/key.pem"), d = stat_of(dst + "/sub");
    CHECK((f.st_mode & 07777) == 0640);
    CHECK(f.st_uid == 1234);
    CHECK(f.st_gid == 5678);
    CHECK((k.st_mode & 07777) == 0600);
    CHECK(k.st_uid == 4321);
    CHECK(k.st_gid == 8765);
    CHECK((d.st_mode & 07777) == 0750);
    CHECK(d.st_uid == 1234);
    // Replaced by a rename, not written in place: the reader still has the old file whole.
    CHECK(f.st_ino != old_inode);
    char buf[32] = {};
    CHECK(::pread(reader, buf, sizeof buf, 0) == 9);
    CHECK(std::string(buf) == "OLD CERT\n");
    ::close(reader);
    CHECK(tree(dst) == std::vector<std::string>{"server.pem", "sub", "sub/key.pem"});  // no temp file left
    // Both sides say so.
    CHECK(p.holder.state(src + "/server.pem") == FileState::InSync);
    CHECK(p.holder.state(src + "/sub/key.pem") == FileState::InSync);
    CHECK(p.peer.state(dst + "/sub/key.pem") == FileState::InSync);

    // Only the mode changes on the holder: fixed in place on the peer, no transfer.
    ::chmod((src + "/server.pem").c_str(), 0600);
    const size_t chunks = p.chunks;
    p.holder_changed();
    CHECK((stat_of(dst + "/server.pem").st_mode & 07777) == 0600);
    CHECK(p.chunks == chunks);
}

TEST_CASE("sync: a 5 MiB file travels in chunks well under a channel frame and is checked before the rename") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    const std::string big = random_bytes(5u << 20);
    fs::create_directories(a / "repo");
    write(a / "repo/big.bin", big);
    Pair p({{"/etc/big", a / "repo", EntryKind::Path}}, {{"/etc/big", b / "repo", EntryKind::Path}});
    CHECK(slurp(b / "repo/big.bin") == big);
    CHECK(p.chunks == 20);
    CHECK(p.largest_frame < net::kMaxChannelFrame / 2);
    CHECK(p.holder.state(a / "repo/big.bin") == FileState::InSync);
}

TEST_CASE("sync: a damaged chunk is caught by the sha256, nothing is replaced, and it is reported") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    const std::string data = random_bytes(1u << 20);
    fs::create_directories(a / "e");
    fs::create_directories(b / "e");
    write(a / "e/file", data);
    write(b / "e/file", "the peer's old copy");
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}}, {}, {});
    // That first round went through; now the holder changes the file and a chunk is damaged.
    std::string changed = data;
    changed[7] ^= 1;
    write(a / "e/file", changed);
    p.on_the_way = [](bool to_peer, wire::Sync& m) {
        if (to_peer && m.has_chunk() && m.chunk().offset() == 2 * kChunk) (*m.mutable_chunk()->mutable_data())[100] ^= 0x40;
        return true;
    };
    p.holder_changed();
    CHECK(slurp(b / "e/file") == data);  // the previous copy stays
    CHECK(tree(b / "e") == std::vector<std::string>{"file"});
    CHECK(p.peer.state(b / "e/file") == FileState::Failed);
    CHECK_THAT(p.peer.error(b / "e/file"), Catch::Contains("sha256"));
    CHECK(p.holder.state(a / "e/file") == FileState::Failed);
    CHECK_THAT(p.holder.error(a / "e/file"), Catch::Contains("sha256"));
    CHECK(p.holder.reported("sync-failed", a / "e/file"));
    // The next compare asks again, and an undamaged transfer lands.
    p.on_the_way = nullptr;
    p.peer_changed();
    CHECK(slurp(b / "e/file") == changed);
    CHECK(p.holder.state(a / "e/file") == FileState::InSync);
}

TEST_CASE("sync: what the holder removed goes on the peer too, inside the entry only") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    for (const auto& root : {a.path, b.path}) {
        fs::create_directories(root + "/e/old/deeper");
        write(root + "/e/keep", "k");
        write(root + "/e/gone", "g");
        write(root + "/e/old/deeper/x", "x");
        write(root + "/beside", "not synced");
    }
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}});
    fs::remove(a / "e/gone");
    fs::remove_all(a / "e/old");
    fs::remove(a / "beside");
    p.holder_changed();
    CHECK(tree(b / "e") == std::vector<std::string>{"keep"});
    CHECK(slurp(b / "beside") == "not synced");
    CHECK(p.peer.reported("", "removed " + b / "e/gone"));
    CHECK(p.peer.service->files().count(b / "e/gone") == 0);
}

TEST_CASE("sync: limits refuse with a clear status, once, and leave the peer's copy alone") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    fs::create_directories(a / "e");
    fs::create_directories(b / "e");
    write(a / "e/small", "s");
    write(a / "e/large", random_bytes(5u << 20));
    write(b / "e/large", "the peer's own");
    Limits limits;
    limits.max_file_size = 1u << 20;
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}}, limits, limits);
    CHECK(slurp(b / "e/small") == "s");
    CHECK(slurp(b / "e/large") == "the peer's own");
    CHECK(p.holder.state(a / "e/large") == FileState::Refused);
    CHECK_THAT(p.holder.error(a / "e/large"), Catch::Contains("larger than sync.max_file_size"));
    CHECK(p.peer.state(b / "e/large") == FileState::Refused);
    CHECK_THAT(p.peer.error(b / "e/large"), Catch::Contains("on the holder: larger than"));
    CHECK(p.chunks == 1);  // small only
    // Never retried: more compares send nothing more and report nothing new.
    const size_t reports = p.holder.reports.size();
    p.holder_changed();
    p.peer_changed();
    CHECK(p.chunks == 1);
    CHECK(p.holder.reports.size() == reports);

    SECTION("too many files: the whole entry is refused and nothing on the peer is removed") {
        limits.max_files = 2;
        write(b / "e/peer-only", "p");
        Pair q({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}}, limits, limits);
        CHECK(q.holder.state("/e") == FileState::Refused);
        CHECK_THAT(q.holder.error("/e"), Catch::Contains("more than sync.max_files (2)"));
        CHECK(q.peer.state("/e") == FileState::Refused);
        CHECK(slurp(b / "e/peer-only") == "p");
    }
    SECTION("the peer's own smaller limit: refused there, said on both") {
        Limits tight;
        tight.max_file_size = 1024;
        write(a / "e/medium", random_bytes(4096));
        Pair q({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}}, limits, tight);
        CHECK(q.peer.state(b / "e/medium") == FileState::Failed);
        CHECK_THAT(q.holder.error(a / "e/medium"), Catch::Contains("larger than this node's sync.max_file_size"));
        CHECK(!fs::exists(b / "e/medium"));
    }
}

TEST_CASE("sync: only the holder pushes, and the passive's change is overwritten and reported") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    fs::create_directories(a / "e");
    fs::create_directories(b / "e");
    write(a / "e/conf", "holder's");
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}});
    REQUIRE(slurp(b / "e/conf") == "holder's");
    // A change on the holder only outdates the passive's copy: nothing to report.
    write(a / "e/conf", "holder's");
    ::chmod((a / "e/conf").c_str(), 0600);
    p.holder_changed();
    write(a / "e/conf", "holder's v2");
    p.holder_changed();
    REQUIRE(slurp(b / "e/conf") == "holder's v2");
    CHECK_FALSE(p.peer.reported("sync-overwritten", ""));
    write(a / "e/conf", "holder's");
    p.holder_changed();

    // An admin edits the passive's copy: it is put back and said.
    write(b / "e/conf", "edited on the passive");
    p.peer_changed();
    CHECK(slurp(b / "e/conf") == "holder's");
    CHECK(p.peer.reported("sync-overwritten", b / "e/conf"));
    CHECK(slurp(a / "e/conf") == "holder's");

    // The passive never sends a manifest of its own, and one from a non-holder is refused.
    write(b / "e/conf", "again");
    p.peer.service->changed();
    for (const auto& bytes : p.peer.outbox) {
        wire::Sync m;
        REQUIRE(m.ParseFromString(bytes));
        CHECK_FALSE(m.has_manifest());
        CHECK_FALSE(m.has_chunk());
    }
    p.peer.outbox.clear();
    wire::Sync forged;
    forged.mutable_manifest()->set_entry("/e");
    p.holder.service->on_message(forged, false);
    CHECK(p.holder.reported("", "ignored /e from the peer, which does not run the group"));
}

TEST_CASE("sync: a manifest the peer ignored (it did not know the holder yet) is sent again at the next compare") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    fs::create_directories(a / "e");
    fs::create_directories(b / "e");
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}});
    p.peer_knows_holder = false;
    write(a / "e/conf", "new");
    p.holder_changed();
    REQUIRE(!fs::exists(b / "e/conf"));
    CHECK(p.peer.reported("", "ignored /e from the peer, which does not run the group"));
    p.peer_knows_holder = true;
    p.holder_changed();  // the full compare: nothing changed, but the manifest was not answered
    CHECK(slurp(b / "e/conf") == "new");
    CHECK(p.holder.state(a / "e/conf") == FileState::InSync);
}

TEST_CASE("sync: a node takes only paths of its own entries and follows no link out of them") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"}, outside{"veeamha-sync-outside"};
    fs::create_directories(a / "e/sub");
    write(a / "e/sub/file", "data");
    fs::create_symlink("/etc/passwd", a / "e/link");
    fs::create_directories(b / "e");
    fs::create_directory_symlink(outside.path, b / "e/sub");  // the peer's "sub" leads outside
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}});
    CHECK(tree(outside.path).empty());
    CHECK(fs::is_directory(fs::symlink_status(b / "e/sub")));  // the link was replaced by a folder
    CHECK(slurp(b / "e/sub/file") == "data");
    CHECK(p.holder.state(a / "e/link") == FileState::Refused);
    CHECK_THAT(p.holder.error(a / "e/link"), Catch::Contains("symbolic link"));
    CHECK(!fs::exists(fs::symlink_status(b / "e/link")));

    // Paths the peer's configuration does not list, or that climb out of an entry.
    wire::Sync m;
    m.mutable_manifest()->set_entry("/not-configured");
    p.peer.service->on_message(m, true);
    CHECK(p.peer.reported("", "does not list"));
    m.mutable_manifest()->set_entry("/e");
    m.mutable_manifest()->add_items()->set_path("../escape");
    p.peer.service->on_message(m, true);
    CHECK(p.peer.reported("", "names ../escape, which is not part of it"));
    // A chunk nobody asked for is refused.
    wire::Sync c;
    c.mutable_chunk()->set_entry("/e");
    c.mutable_chunk()->mutable_item()->set_path("unasked");
    c.mutable_chunk()->mutable_item()->set_size(1);
    c.mutable_chunk()->set_data("x");
    p.peer.service->on_message(c, true);
    CHECK(!fs::exists(b / "e/unasked"));
}

TEST_CASE("sync: the SSH host keys: only ssh_host_* files, and sshd is reloaded after a change") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    for (const auto& root : {a.path, b.path}) fs::create_directories(root + "/ssh");
    write(a / "ssh/ssh_host_ed25519_key", "PRIVATE A", 0600);
    write(a / "ssh/ssh_host_ed25519_key.pub", "PUBLIC A", 0644);
    write(a / "ssh/sshd_config", "holder's config");
    write(b / "ssh/ssh_host_ed25519_key", "PRIVATE B", 0600);
    write(b / "ssh/ssh_host_rsa_key", "RSA B only here", 0600);
    write(b / "ssh/sshd_config", "peer's config");
    Pair p({{kSshHostKeys, a / "ssh", EntryKind::SshHostKeys}}, {{kSshHostKeys, b / "ssh", EntryKind::SshHostKeys}});
    CHECK(slurp(b / "ssh/ssh_host_ed25519_key") == "PRIVATE A");
    CHECK(slurp(b / "ssh/ssh_host_ed25519_key.pub") == "PUBLIC A");
    CHECK((stat_of(b / "ssh/ssh_host_ed25519_key").st_mode & 07777) == 0600);
    CHECK(!fs::exists(b / "ssh/ssh_host_rsa_key"));
    CHECK(slurp(b / "ssh/sshd_config") == "peer's config");
    CHECK(!p.peer.reloads.empty());
    CHECK(p.peer.reloads.back() == Reload::Sshd);
    CHECK(p.holder.reloads.empty());
}

TEST_CASE("sync: which paths an entry accepts, and which changes need systemd told") {
    SyncEntry path{"/etc/x", "/etc/x", EntryKind::Path};
    CHECK(path.accepts(""));
    CHECK(path.accepts("a/b.conf"));
    CHECK_FALSE(path.accepts("../y"));
    CHECK_FALSE(path.accepts("a/../../y"));
    CHECK_FALSE(path.accepts("/etc/x/a"));
    CHECK_FALSE(path.accepts("a//b"));
    CHECK_FALSE(path.accepts("a/.veeam-ha-sync.b.123"));
    SyncEntry keys{kSshHostKeys, "/etc/ssh", EntryKind::SshHostKeys};
    CHECK(keys.accepts("ssh_host_rsa_key"));
    CHECK_FALSE(keys.accepts(""));
    CHECK_FALSE(keys.accepts("sshd_config"));
    CHECK_FALSE(keys.accepts("ssh_host_"));
    CHECK_FALSE(keys.accepts("x/ssh_host_rsa_key"));
    CHECK(is_unit_file("/etc/systemd/system/veeamtransport.service"));
    CHECK(is_unit_file("/usr/lib/systemd/system/a.service"));
    CHECK(is_unit_file("/lib/systemd/system/a.service.d/override.conf"));
    CHECK_FALSE(is_unit_file("/etc/systemd/system"));
    CHECK_FALSE(is_unit_file("/etc/systemd/network/a.network"));
}

TEST_CASE("sync: a receiver takes chunks only in order and up to the announced size") {
    TempDir b{"veeamha-sync-b"};
    fs::create_directories(b / "e");
    SyncEntry e{"/e", b / "e", EntryKind::Path};
    wire::SyncItem item;
    item.set_path("f");
    item.set_size(4);
    item.set_mode(0640);
    item.set_uid(::geteuid());
    item.set_gid(::getegid());
    item.set_sha256(sha256("abcd"));
    Receiver r;
    REQUIRE(r.begin(e, item).empty());
    CHECK_THAT(r.append(2, "cd"), Catch::Contains("expected 0"));
    CHECK(r.append(0, "ab").empty());
    CHECK_THAT(r.append(2, "cde"), Catch::Contains("more data than its size"));
    CHECK(r.append(2, "cd").empty());
    REQUIRE(r.finish().empty());
    CHECK(slurp(b / "e/f") == "abcd");
    CHECK((stat_of(b / "e/f").st_mode & 07777) == 0640);
    CHECK(tree(b / "e") == std::vector<std::string>{"f"});
}

namespace {

// A file of the holder's whole window (kWindow chunks) on its way to a peer that has an older
// copy, the peer's jobs held: once made, the window has arrived at the peer.
struct HeldTransfer {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    const std::string data = random_bytes(kWindow * kChunk);
    std::unique_ptr<Pair> pair;

    HeldTransfer() {
        fs::create_directories(a / "e");
        fs::create_directories(b / "e");
        pair = std::make_unique<Pair>(std::vector<SyncEntry>{{"/e", a / "e", EntryKind::Path}},
                                      std::vector<SyncEntry>{{"/e", b / "e", EntryKind::Path}});
        write(b / "e/file", "the peer's old copy");
        write(a / "e/file", data);
        pair->peer.hold_jobs = true;
        pair->holder_changed();
        pair->peer.step();  // the compare: the file is asked for
        pair->run();
    }
};

}  // namespace

TEST_CASE("sync: the peer's loop only queues chunks, and jobs write them in order and rename after the last") {
    HeldTransfer t;
    Pair& p = *t.pair;
    const TempDir &a = t.a, &b = t.b;
    const std::string& data = t.data;
    // The window arrived; the loop wrote nothing and acknowledged nothing: one job has the first
    // chunk, the others wait for it.
    CHECK(p.chunks == kWindow);
    CHECK(p.holder.outbox.empty());
    CHECK(p.peer.outbox.empty());
    CHECK(tree(b / "e") == std::vector<std::string>{"file"});
    REQUIRE(p.peer.held_job);
    p.peer.step();
    // Written and acknowledged; the rest in one job, and nothing renamed yet.
    REQUIRE(p.peer.acks().size() == 1);
    CHECK(p.peer.acks()[0].received() == kChunk);
    CHECK_FALSE(p.peer.acks()[0].done());
    CHECK(tree(b / "e").size() == 2);  // the temp file
    CHECK(slurp(b / "e/file") == "the peer's old copy");
    REQUIRE(p.peer.held_job);
    p.peer.step();
    CHECK(slurp(b / "e/file") == data);
    CHECK(tree(b / "e") == std::vector<std::string>{"file"});
    CHECK(p.peer.state(b / "e/file") == FileState::InSync);
    p.settle();
    CHECK(p.holder.state(a / "e/file") == FileState::InSync);
}

TEST_CASE("sync: a file given up while a job writes it: nothing renamed, its temp file removed, no stale ack") {
    HeldTransfer t;
    Pair& p = *t.pair;
    const TempDir& b = t.b;
    p.peer.step();  // the first chunk: in the temp file
    REQUIRE(tree(b / "e").size() == 2);
    REQUIRE(p.peer.held_job);  // the last three chunks, and the rename, in one job given to the runner
    const size_t acks = p.peer.acks().size();

    SECTION("the channel goes down") {
        p.peer.service->set_role(false, false);
        p.peer.step();  // the job: it sees the file given up
        CHECK(p.peer.acks().size() == acks);
        while (p.peer.held_job) p.peer.step();  // behind it: the temp file removed, a scan
        CHECK(slurp(b / "e/file") == "the peer's old copy");
        CHECK(tree(b / "e") == std::vector<std::string>{"file"});
        CHECK(p.peer.acks().size() == acks);
    }
    SECTION("the job already ran when the channel went down: its result is not told") {
        p.peer.work();
        p.peer.service->set_role(false, false);
        p.peer.deliver();
        while (p.peer.held_job) p.peer.step();
        CHECK(p.peer.acks().size() == acks);
        CHECK(tree(b / "e") == std::vector<std::string>{"file"});
    }
    SECTION("the holder starts the file over, a newer copy") {
        wire::Sync m;
        auto* c = m.mutable_chunk();
        c->set_entry("/e");
        c->mutable_item()->set_path("file");
        c->mutable_item()->set_size(7);
        c->mutable_item()->set_sha256(sha256("newer!\n"));
        c->mutable_item()->set_mode(0644);
        c->mutable_item()->set_uid(::geteuid());
        c->mutable_item()->set_gid(::getegid());
        c->set_offset(0);
        c->set_data("newer!\n");
        p.peer.service->on_message(m, true);
        while (p.peer.held_job) p.peer.step();  // the old job, the old temp file's removal, the newer copy
        CHECK(slurp(b / "e/file") == "newer!\n");
        CHECK(tree(b / "e") == std::vector<std::string>{"file"});
        auto all = p.peer.acks();
        REQUIRE(all.size() == acks + 1);  // the newer copy's only
        CHECK(all.back().done());
        CHECK(all.back().error().empty());
        CHECK(all.back().received() == 7);
    }
}

TEST_CASE("sync: the peer holds a bounded number of chunks for writing") {
    TempDir a{"veeamha-sync-a"}, b{"veeamha-sync-b"};
    fs::create_directories(a / "e");
    fs::create_directories(b / "e");
    Pair p({{"/e", a / "e", EntryKind::Path}}, {{"/e", b / "e", EntryKind::Path}});
    write(a / "e/file", random_bytes(4 * kWindow * kChunk));
    p.peer.hold_jobs = true;
    p.holder_changed();
    p.peer.step();
    // A holder that does not wait for acknowledgements: the chunks past the bound are refused.
    std::vector<wire::Sync> chunks;
    p.on_the_way = [&](bool to_peer, wire::Sync& m) {
        if (to_peer && m.has_chunk()) chunks.push_back(m);
        return true;
    };
    p.run();
    REQUIRE(chunks.size() == kWindow);
    // Twice the window is held (room for a file just given up); the next chunk is one too many.
    for (uint64_t at = kWindow * kChunk; at <= 2 * kWindow * kChunk; at += kChunk) {
        wire::Sync m = chunks.back();
        m.mutable_chunk()->set_offset(at);
        p.peer.service->on_message(m, true);
    }
    auto acks = p.peer.acks();
    REQUIRE(!acks.empty());
    CHECK(acks.back().done());
    CHECK_THAT(acks.back().error(), Catch::Contains("chunks before they could be written"));
    CHECK(p.peer.state(b / "e/file") == FileState::Failed);
    while (p.peer.held_job) p.peer.step();
    CHECK(tree(b / "e").empty());
}

TEST_CASE("sync: a holder that starts its file over and over while the peer's disk hangs queues a bounded number of jobs") {
    // The job writing the first chunk never ends (the disk hangs); every start over gives up the
    // file (a job to remove its temp file, behind the stuck one) and starts it again (a job to
    // write its first chunk). The chunks those jobs hold count against the peer's bound, so the
    // queue behind a stuck job cannot grow with what the holder sends.
    HeldTransfer t;
    Pair& p = *t.pair;
    const TempDir& b = t.b;
    REQUIRE(p.peer.held_job);  // the first chunk's job: stuck
    constexpr int kStarts = 100;
    for (int n = 0; n < kStarts; ++n) {
        const std::string data = "copy " + std::to_string(n) + "\n";
        wire::Sync m;
        auto* c = m.mutable_chunk();
        c->set_entry("/e");
        c->mutable_item()->set_path("file");
        c->mutable_item()->set_size(data.size());
        c->mutable_item()->set_sha256(sha256(data));
        c->mutable_item()->set_mode(0644);
        c->mutable_item()->set_uid(::geteuid());
        c->mutable_item()->set_gid(::getegid());
        c->set_offset(0);
        c->set_data(data);
        p.peer.service->on_message(m, true);
    }
    // The disk answers again: every job queued meanwhile runs, one at a time.
    size_t jobs = 0;
    for (; p.peer.held_job && jobs < 10 * kStarts; ++jobs) p.peer.step();
    INFO("jobs queued behind the stuck one: " << jobs - 1);
    // At most: the stuck one, then per start over a removal and a write, while the held chunks
    // last (twice the window), and the compare the failure asks for.
    CHECK(jobs <= 1 + 2 * 2 * kWindow + 1);
    CHECK(p.peer.state(b / "e/file") == FileState::Failed);
    CHECK_THAT(p.peer.error(b / "e/file"), Catch::Contains("chunks before they could be written"));
    CHECK(tree(b / "e") == std::vector<std::string>{"file"});  // no temp file left
    CHECK(slurp(b / "e/file") == "the peer's old copy");
}
