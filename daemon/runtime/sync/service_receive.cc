// SPDX-License-Identifier: GPL-2.0-or-later
// The node that does not run the group: files arriving from the holder. On the loop a chunk is
// only checked and queued; writing, hashing, fsync and the renames run in jobs off the loop (a
// slow or stuck disk then holds the sync, never the heartbeats). Jobs run one at a time, in
// order, so a file is renamed over its target only after its last chunk was written and the
// sha256 of all of it matched. A file given up meanwhile (the channel went down, the role
// changed, the holder started this file or another one over) is flagged for a job that may be
// writing it, which then stops and renames nothing, and a job behind it removes its temp file.
#include <algorithm>

#include "daemon/runtime/sync/service.h"

namespace veeamha::runtime::sync {

namespace {

// Chunks held in memory for writing, at most. An honest holder has kWindow unacknowledged (a
// chunk is acknowledged once written); the rest is room for the chunks of a file just given up
// whose job has not run yet.
constexpr size_t kMaxHeldChunks = 2 * kWindow;

}  // namespace

void SyncService::on_chunk(size_t entry, const wire::SyncChunk& c) {
    const SyncEntry& e = entries_[entry];
    const std::string rel = c.item().path();
    if (!e.accepts(rel)) {
        hooks_.report(2, "", "sync: the holder sent " + rel + ", which is not part of " + e.name + " here: ignored");
        return;
    }
    const std::string path = e.path_of(rel);
    if (!requested_.count(path)) {
        send_ack(entry, rel, 0, true, "not asked for (this node has it already)");
        return;
    }
    std::string error;
    if (c.offset() == 0) {
        drop_incoming();  // the holder starts this file (again: a newer copy) or another one
        if (c.item().size() > limits_.max_file_size) {
            error = "larger than this node's sync.max_file_size (" + std::to_string(c.item().size()) + " > " +
                    std::to_string(limits_.max_file_size) + " bytes)";
        } else {
            incoming_ = std::make_unique<Incoming>();
            incoming_->id = ++incoming_ids_;
            incoming_->entry = entry;
            incoming_->path = path;
            incoming_->item = c.item();
            incoming_->receiver = std::make_shared<Receiver>();
            incoming_->abandoned = std::make_shared<std::atomic<bool>>(false);
        }
    } else if (!incoming_ || incoming_->entry != entry || incoming_->path != path ||
               identity_of(incoming_->item) != identity_of(c.item())) {
        error = "a chunk at " + std::to_string(c.offset()) + " without the file's start";
    }
    if (error.empty() && held_chunks_ >= kMaxHeldChunks)
        error = "the holder sent more than " + std::to_string(kMaxHeldChunks) + " chunks before they could be written";
    if (!error.empty()) {
        receive_failed(entry, path, c.item(), error);
        return;
    }
    incoming_->queued.emplace_back(c.offset(), c.data());
    ++held_chunks_;
    write_queued();
}

void SyncService::write_queued() {
    Incoming* in = incoming_.get();
    if (!in || in->writing || in->queued.empty()) return;
    in->writing = true;
    auto chunks = std::make_shared<std::vector<std::pair<uint64_t, std::string>>>(std::move(in->queued));
    in->queued.clear();
    const bool begin = !in->began;
    in->began = true;
    run_job([this, id = in->id, rx = in->receiver, abandoned = in->abandoned, entry = entries_[in->entry],
             item = in->item, begin, chunks]() -> std::function<void()> {
        // Runs on its own thread: only what it captured is used here.
        Written w;
        w.chunks = chunks->size();
        if (begin && !*abandoned) w.error = rx->begin(entry, item);
        for (const auto& [offset, data] : *chunks) {
            if (!w.error.empty() || *abandoned) break;
            w.error = rx->append(offset, data);
        }
        if (w.error.empty() && !*abandoned && rx->complete()) {
            w.error = rx->finish();
            w.in_place = w.error.empty();
        }
        if (!w.error.empty()) rx->abandon();
        w.received = rx->received();
        return [this, id, w] { on_written(id, w); };
    });
}

void SyncService::on_written(uint64_t id, const Written& w) {
    held_chunks_ -= std::min(held_chunks_, w.chunks);
    if (!incoming_ || incoming_->id != id) return;  // given up meanwhile: a job behind removes its temp file
    incoming_->writing = false;
    const size_t entry = incoming_->entry;
    const std::string path = incoming_->path;
    const wire::SyncItem item = incoming_->item;
    if (!w.error.empty()) {
        incoming_.reset();  // the job removed its temp file
        receive_failed(entry, path, item, w.error);
        return;
    }
    if (!w.in_place) {
        send_ack(entry, item.path(), w.received, false, "");
        write_queued();
        return;
    }
    incoming_.reset();
    requested_.erase(path);
    set_state(path, FileState::InSync, "", item.size());
    had_[path] = identity_of(item);
    hooks_.report(0, "", "sync: " + path + " updated from the holder (" + std::to_string(item.size()) +
                             " bytes, sha256 " + short_hex(item.sha256()) + ")");
    send_ack(entry, item.path(), item.size(), true, "");
    std::set<Reload> reloads;
    if (entries_[entry].kind == EntryKind::SshHostKeys) reloads.insert(Reload::Sshd);
    if (is_unit_file(path)) reloads.insert(Reload::Systemd);
    schedule_reloads(reloads);
}

void SyncService::receive_failed(size_t entry, const std::string& path, const wire::SyncItem& item,
                                 const std::string& error) {
    drop_incoming();
    requested_.erase(path);
    fail(path, error, item.size());
    send_ack(entry, item.path(), 0, true, error);
}

void SyncService::drop_incoming() {
    if (!incoming_) return;
    std::unique_ptr<Incoming> in = std::move(incoming_);
    *in->abandoned = true;
    held_chunks_ -= std::min(held_chunks_, in->queued.size());
    if (!in->began) return;  // nothing on disk yet
    // Behind the job that may be writing it, so the temp file is gone for good.
    run_job([rx = in->receiver]() -> std::function<void()> {
        rx->abandon();
        return [] {};
    });
}

void SyncService::send_ack(size_t entry, const std::string& rel, uint64_t received, bool done, const std::string& error) {
    wire::Sync out;
    auto* a = out.mutable_ack();
    a->set_entry(entries_[entry].name);
    a->set_path(rel);
    a->set_received(received);
    a->set_done(done);
    a->set_error(error);
    hooks_.send(out);
}

}  // namespace veeamha::runtime::sync
