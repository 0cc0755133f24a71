// SPDX-License-Identifier: GPL-2.0-or-later
// The fixture of the `sync:` tests against real files: two SyncServices, a holder and its peer,
// each with its own folder standing for the same configured path on two machines, wired message
// by message (every message goes through its wire encoding, and a test may change or drop one on
// the way), each side's jobs off the loop run at once or when the test says.
#pragma once

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/runtime/sync/service.h"
#include "tests/common/read_file.h"
#include "tests/common/temp_dir.h"

namespace veeamha::runtime::sync::testing {

using veeamha::test::slurp;
using veeamha::test::TempDir;
namespace fs = std::filesystem;

inline void write(const std::string& p, const std::string& text, mode_t mode = 0644) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    ::chmod(p.c_str(), mode);
}

inline struct stat stat_of(const std::string& p) {
    struct stat st{};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st;
}

inline std::string random_bytes(size_t n) {
    std::mt19937_64 rng(42);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// Every name in the folder's tree (temp files would show here).
inline std::vector<std::string> tree(const std::string& root) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) out.push_back(fs::relative(e.path(), root).string());
    std::sort(out.begin(), out.end());
    return out;
}

struct Side {
    std::unique_ptr<SyncService> service;
    std::vector<std::tuple<int, std::string, std::string>> reports;  // level, kind, text
    std::vector<Reload> reloads;
    std::deque<std::string> outbox;  // serialized wire::Sync
    bool congested = false;          // the channel takes nothing: send() is false
    // Jobs off the loop run at once, or, held, when the test says: first the part off the loop
    // (work), then what it returns on the loop (deliver). The service gives one job at a time.
    bool hold_jobs = false;
    std::function<std::function<void()>()> held_job;
    std::function<void()> held_then;

    void work() {
        REQUIRE(held_job);
        auto job = std::move(held_job);
        held_job = nullptr;
        held_then = job();
    }
    void deliver() {
        REQUIRE(held_then);
        auto then = std::move(held_then);
        held_then = nullptr;
        then();
    }
    void step() {
        work();
        deliver();
    }
    std::vector<wire::SyncAck> acks() const {
        std::vector<wire::SyncAck> out;
        for (const auto& bytes : outbox) {
            wire::Sync m;
            REQUIRE(m.ParseFromString(bytes));
            if (m.has_ack()) out.push_back(m.ack());
        }
        return out;
    }

    bool reported(const std::string& kind, const std::string& text_part) const {
        for (const auto& [level, k, text] : reports)
            if (k == kind && text.find(text_part) != std::string::npos) return true;
        return false;
    }
    FileState state(const std::string& path) const {
        auto it = service->files().find(path);
        REQUIRE(it != service->files().end());
        return it->second.state;
    }
    std::string error(const std::string& path) const { return service->files().at(path).error; }
};

// A holder and a peer; entries name the same configured entry, rooted in two folders.
struct Pair {
    Side holder, peer;
    // Called with every message before delivery; false drops it.
    std::function<bool(bool to_peer, wire::Sync&)> on_the_way;
    size_t chunks = 0, largest_frame = 0;
    bool peer_knows_holder = true;  // false: the peer's engine has not heard who holds the group yet

    Pair(const std::vector<SyncEntry>& holder_entries, const std::vector<SyncEntry>& peer_entries, Limits holder_limits = {},
         Limits peer_limits = {}) {
        holder.service = make(holder, holder_entries, holder_limits);
        peer.service = make(peer, peer_entries, peer_limits);
        holder.service->set_role(true, true);
        peer.service->set_role(false, true);
        run();
    }

    std::unique_ptr<SyncService> make(Side& side, const std::vector<SyncEntry>& entries, Limits limits) {
        SyncService::Hooks h;
        h.send = [&side](const wire::Sync& m) {
            if (side.congested) return false;
            side.outbox.push_back(m.SerializeAsString());
            return true;
        };
        h.off_loop = [&side](std::function<std::function<void()>()> job) {
            if (!side.hold_jobs) return job()();
            REQUIRE(!side.held_job);
            REQUIRE(!side.held_then);
            side.held_job = std::move(job);
        };
        h.report = [&side](int level, const std::string& kind, const std::string& text) {
            side.reports.emplace_back(level, kind, text);
        };
        h.reload = [&side](Reload r) { side.reloads.push_back(r); };
        h.watch = [](const std::vector<std::string>&) {};
        h.now_ms = [] { return int64_t(1780000000000); };
        return std::make_unique<SyncService>(entries, limits, h);
    }

    // Delivers messages both ways until none is left.
    void run() {
        for (int rounds = 0; rounds < 100000 && (!holder.outbox.empty() || !peer.outbox.empty()); ++rounds) {
            for (bool to_peer : {true, false}) {
                Side& from = to_peer ? holder : peer;
                Side& to = to_peer ? peer : holder;
                if (from.outbox.empty()) continue;
                std::string bytes = std::move(from.outbox.front());
                from.outbox.pop_front();
                largest_frame = std::max(largest_frame, bytes.size());
                wire::Sync m;
                REQUIRE(m.ParseFromString(bytes));
                if (m.has_chunk()) ++chunks;
                if (on_the_way && !on_the_way(to_peer, m)) continue;
                to.service->on_message(m, to_peer && peer_knows_holder);
            }
        }
    }
    void holder_changed() {
        holder.service->changed();
        run();
    }
    void peer_changed() {
        peer.service->changed();
        run();
    }
    // Messages and the peer's held jobs until neither is left.
    void settle() {
        for (run(); peer.held_job; run()) peer.step();
    }
};

inline bool root() { return ::geteuid() == 0; }

}  // namespace veeamha::runtime::sync::testing
