// SPDX-License-Identifier: GPL-2.0-or-later
// The node that runs the group: manifests out, requested files out in chunks (read by jobs off
// the loop, one at a time: the loop only sends what a read returned), answers in.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/runtime/sync/service.h"

namespace veeamha::runtime::sync {
namespace {

const wire::SyncItem* find_item(const wire::SyncManifest& m, const std::string& rel) {
    for (const auto& item : m.items())
        if (item.path() == rel) return &item;
    return nullptr;
}

}  // namespace

// Off the loop: the chunks at `wanted` (offset, length) of the item's file, opened into `file`
// by the first read of a transfer and kept open for the rest, so every chunk comes from the
// file the transfer began with.
SyncService::Read SyncService::read_chunks(const SyncEntry& e, const wire::SyncItem& item,
                                           const std::vector<std::pair<uint64_t, size_t>>& wanted, Fd& file) {
    Read r;
    if (!file) {
        Fd folder = open_parent(e, item.path(), r.error);
        if (!folder) return r;
        const std::string name = item.path().empty() ? base_name(e.root) : base_name(item.path());
        // O_NONBLOCK: a FIFO put there since the scan must not hold the job.
        file = Fd(::openat(folder.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
        if (!file) {
            r.error = e.path_of(item.path()) + ": " + std::strerror(errno);
            return r;
        }
    }
    for (const auto& [offset, want] : wanted) {
        std::string data(want, '\0');
        ssize_t n = want ? ::pread(file.get(), data.data(), want, off_t(offset)) : 0;
        struct stat st{};
        if (n != ssize_t(want) || ::fstat(file.get(), &st) != 0 || uint64_t(st.st_size) != item.size()) {
            r.changed = true;
            r.chunks.clear();
            return r;
        }
        r.chunks.emplace_back(offset, std::move(data));
    }
    return r;
}

void SyncService::on_scanned(Scan s) {
    scan_queued_ = false;
    hooks_.watch(s.folders);
    if (!holder_) {
        for (const auto& [entry, manifest] : holder_manifests_) reconcile(entry);
        return;
    }
    scanned_ = std::move(s.manifests);
    std::set<std::string> present;
    for (size_t i = 0; i < scanned_.size() && i < entries_.size(); ++i) {
        const SyncEntry& entry = entries_[i];
        const wire::SyncManifest& m = scanned_[i];
        if (!m.refused().empty()) {
            present.insert(entry.name);
            if (files_.count(entry.name) == 0 || files_[entry.name].error != m.refused())
                hooks_.report(1, "", "sync: " + entry.name + " is not synced: " + m.refused());
            set_state(entry.name, FileState::Refused, m.refused());
            continue;
        }
        for (const auto& item : m.items()) {
            const std::string path = entry.path_of(item.path());
            if (item.folder() && item.refused().empty()) continue;  // files are what status lists
            present.insert(path);
            if (!item.refused().empty()) {
                if (files_.count(path) == 0 || files_[path].error != item.refused())
                    hooks_.report(1, "", "sync: " + path + " is not synced: " + item.refused());
                set_state(path, FileState::Refused, item.refused(), item.size());
            } else if (auto it = peer_has_.find(path); it != peer_has_.end() && it->second == identity_of(item)) {
                set_state(path, FileState::InSync, "", item.size());
            } else if (files_.count(path) == 0 || files_[path].state != FileState::Failed) {
                set_state(path, FileState::Pending, "", item.size());
            }
        }
    }
    for (auto it = files_.begin(); it != files_.end();) it = present.count(it->first) ? std::next(it) : files_.erase(it);
    if (!connected_) return;
    for (size_t i = 0; i < scanned_.size() && i < entries_.size(); ++i) {
        std::string bytes = scanned_[i].SerializeAsString();
        // Sent again if the peer has not answered it: it may have come before the peer knew
        // this node runs the group (then it was ignored there).
        if (sent_[entries_[i].name] == bytes && !unanswered_.count(entries_[i].name)) continue;
        wire::Sync out;
        *out.mutable_manifest() = scanned_[i];
        if (hooks_.send(out)) {
            sent_[entries_[i].name] = bytes;
            unanswered_.insert(entries_[i].name);
        } else {
            sent_.erase(entries_[i].name);
            hooks_.report(1, "", "sync: the peer channel is congested: " + entries_[i].name +
                                     " is sent at the next change or full compare");
        }
    }
}

void SyncService::on_request(size_t entry, const wire::SyncRequest& request) {
    if (entry >= scanned_.size()) return;
    const SyncEntry& e = entries_[entry];
    unanswered_.erase(e.name);
    for (const auto& rel : request.in_sync()) {
        if (const wire::SyncItem* item = find_item(scanned_[entry], rel); item && item->refused().empty()) {
            peer_has_[e.path_of(rel)] = identity_of(*item);
            if (!item->folder()) set_state(e.path_of(rel), FileState::InSync, "", item->size());
        }
    }
    for (const auto& rel : request.paths()) {
        const wire::SyncItem* item = find_item(scanned_[entry], rel);
        if (!item || item->folder() || !item->refused().empty()) continue;  // not (or no longer) ours to send
        bool queued = false;
        for (const auto& t : transfers_) queued = queued || (t.entry == entry && t.item.path() == rel);
        if (queued) continue;
        transfers_.push_back(Transfer{++transfer_ids_, entry, *item});
        auto it = files_.find(e.path_of(rel));
        if (it == files_.end() || it->second.state != FileState::Pending)
            set_state(e.path_of(rel), FileState::Pending, "", item->size());
    }
    pump();
}

void SyncService::pump() {
    // One read job at a time: a file whose disk hangs holds at most that job (and the jobs
    // queued behind it), never the loop, and nothing piles up behind a job that does not end.
    if (transfers_.empty() || read_running_) return;
    const Transfer& t = transfers_.front();
    const uint64_t size = t.item.size();
    // The chunks the window has room for (offset, length).
    std::vector<std::pair<uint64_t, size_t>> wanted;
    if (size == 0 && !chunk_sent_) wanted.emplace_back(0, 0);  // an empty file: one empty chunk
    for (uint64_t at = next_offset_; at < size && at - acked_ < kWindow * kChunk; at += kChunk)
        wanted.emplace_back(at, size_t(std::min<uint64_t>(kChunk, size - at)));
    if (wanted.empty()) return;  // the rest once the peer acknowledged
    read_running_ = true;
    if (!source_) source_ = std::make_shared<Fd>();
    run_job([this, id = t.id, source = source_, entry = entries_[t.entry], item = t.item,
             wanted = std::move(wanted)]() -> std::function<void()> {
        // Runs on its own thread: only what it captured is used here.
        auto r = std::make_shared<Read>(read_chunks(entry, item, wanted, *source));
        return [this, id, r] { on_read(id, std::move(*r)); };
    });
}

void SyncService::on_read(uint64_t id, Read r) {
    read_running_ = false;
    if (transfers_.empty() || transfers_.front().id != id) {  // ended meanwhile (answered, role, channel)
        pump();
        return;
    }
    const Transfer& t = transfers_.front();
    const SyncEntry& e = entries_[t.entry];
    const std::string path = e.path_of(t.item.path());
    if (!r.error.empty() || r.changed) {
        if (r.changed) {
            // Changed since the scan: the change's own scan sends the new manifest.
            sent_.erase(e.name);
            changed();
        } else {
            fail(path, "cannot read it to send: " + r.error, t.item.size());
        }
        end_transfer();
        pump();
        return;
    }
    for (auto& [offset, data] : r.chunks) {
        const uint64_t end = offset + data.size();
        wire::Sync out;
        auto* c = out.mutable_chunk();
        c->set_entry(e.name);
        *c->mutable_item() = t.item;
        c->set_offset(offset);
        c->set_data(std::move(data));
        if (!hooks_.send(out)) {
            fail(path, "the peer channel is congested or down: sent again at the next change or full compare",
                 t.item.size());
            sent_.erase(e.name);
            end_transfer();
            return;
        }
        chunk_sent_ = true;
        next_offset_ = end;
    }
    pump();
}

void SyncService::on_ack(size_t entry, const wire::SyncAck& ack) {
    if (transfers_.empty() || transfers_.front().entry != entry || transfers_.front().item.path() != ack.path()) {
        if (ack.done() && !ack.error().empty()) fail(entries_[entry].path_of(ack.path()), "on the peer: " + ack.error());
        return;
    }
    const Transfer& t = transfers_.front();
    const std::string path = entries_[entry].path_of(t.item.path());
    if (!ack.done()) {
        acked_ = std::max(acked_, ack.received());
        pump();
        return;
    }
    if (ack.error().empty()) {
        peer_has_[path] = identity_of(t.item);
        set_state(path, FileState::InSync, "", t.item.size());
        hooks_.report(0, "", "sync: sent " + path + " (" + std::to_string(t.item.size()) + " bytes, sha256 " +
                                 short_hex(t.item.sha256()) + ") to the peer");
    } else {
        fail(path, "on the peer: " + ack.error(), t.item.size());
    }
    end_transfer();
    pump();
}

void SyncService::end_transfer() {
    if (!transfers_.empty()) transfers_.pop_front();
    if (source_) {
        // Closed by a job behind the read job that may still use it.
        run_job([source = std::move(source_)]() -> std::function<void()> {
            *source = Fd();
            return [] {};
        });
        source_.reset();
    }
    next_offset_ = acked_ = 0;
    chunk_sent_ = false;
}

}  // namespace veeamha::runtime::sync
