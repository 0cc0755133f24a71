// SPDX-License-Identifier: GPL-2.0-or-later
// The parts of the sync protocol both roles use: jobs off the loop, file states, messages in.
#include "daemon/runtime/sync/service.h"

namespace veeamha::runtime::sync {

const char* to_string(FileState state) {
    switch (state) {
        case FileState::InSync: return "in-sync";
        case FileState::Pending: return "pending";
        case FileState::Failed: return "failed";
        case FileState::Refused: return "refused";
    }
    return "?";
}

std::string identity_of(const wire::SyncItem& item) {
    wire::SyncItem copy = item;
    copy.clear_path();
    return copy.SerializeAsString();
}

SyncService::SyncService(std::vector<SyncEntry> entries, Limits limits, Hooks hooks)
    : entries_(std::move(entries)), limits_(limits), hooks_(std::move(hooks)), shared_(std::make_shared<Shared>()) {
    shared_->entries = entries_;
    shared_->limits = limits_;
}

SyncService::~SyncService() = default;

void SyncService::run_job(std::function<std::function<void()>()> job) {
    if (job_running_) {
        jobs_.push_back(std::move(job));
        return;
    }
    job_running_ = true;
    hooks_.off_loop([this, job = std::move(job)]() -> std::function<void()> {
        std::function<void()> then = job();
        return [this, then] {
            then();
            job_done();
        };
    });
}

void SyncService::job_done() {
    job_running_ = false;
    if (jobs_.empty()) return;
    auto next = std::move(jobs_.front());
    jobs_.pop_front();
    run_job(std::move(next));
}

void SyncService::set_state(const std::string& path, FileState state, const std::string& error, uint64_t size) {
    FileStatus& f = files_[path];
    if (f.since_ms == 0 || f.state != state || f.error != error) f.since_ms = hooks_.now_ms();
    f.state = state;
    f.error = error;
    if (size) f.size = size;
}

void SyncService::fail(const std::string& path, const std::string& error, uint64_t size) {
    auto it = files_.find(path);
    bool again = it != files_.end() && it->second.state == FileState::Failed && it->second.error == error;
    set_state(path, FileState::Failed, error, size);
    if (!again) hooks_.report(2, "sync-failed", "sync: " + path + " could not be synced: " + error);
}

std::optional<size_t> SyncService::entry_named(const std::string& name) const {
    for (size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].name == name) return i;
    return std::nullopt;
}

void SyncService::schedule_reloads(const std::set<Reload>& reloads) {
    for (Reload r : reloads) hooks_.reload(r);
}

void SyncService::set_role(bool holder, bool connected) {
    if (holder == holder_ && connected == connected_) return;
    const bool role_changed = holder != holder_;
    holder_ = holder;
    connected_ = connected;
    sent_.clear();
    unanswered_.clear();
    while (!transfers_.empty()) end_transfer();
    drop_incoming();
    requested_.clear();
    if (role_changed) {
        files_.clear();
        peer_has_.clear();
        holder_manifests_.clear();
        had_.clear();
    } else if (holder_ && !connected_) {
        // Whether the peer still has them cannot be known now.
        for (auto& [path, f] : files_)
            if (f.state == FileState::InSync) set_state(path, FileState::Pending, "", f.size);
    }
    changed();
}

void SyncService::changed() {
    if (scan_queued_) return;
    scan_queued_ = true;
    run_job([this, shared = shared_]() -> std::function<void()> {
        // Runs on its own thread: only `shared` is used here.
        Scan s = scan(shared->entries, shared->limits, shared->cache);
        return [this, s = std::move(s)]() mutable { on_scanned(std::move(s)); };
    });
}

void SyncService::on_message(const wire::Sync& m, bool from_holder) {
    const std::string& name = m.has_manifest() ? m.manifest().entry()
                              : m.has_request() ? m.request().entry()
                              : m.has_chunk()   ? m.chunk().entry()
                                                : m.ack().entry();
    std::optional<size_t> entry = entry_named(name);
    if (!entry) {
        hooks_.report(1, "", "sync: the peer syncs " + name + ", which this node's sync: section does not list: "
                             "ignored (both nodes need the same sync: section)");
        return;
    }
    const bool for_peer = m.has_manifest() || m.has_chunk();
    if (for_peer && (holder_ || !from_holder)) {
        hooks_.report(1, "", "sync: ignored " + name + " from the peer, which does not run the group");
        return;
    }
    if (!for_peer && !holder_) return;  // an answer to a holder this node no longer is
    switch (m.body_case()) {
        case wire::Sync::kManifest: on_manifest(*entry, m.manifest()); break;
        case wire::Sync::kChunk: on_chunk(*entry, m.chunk()); break;
        case wire::Sync::kRequest: on_request(*entry, m.request()); break;
        case wire::Sync::kAck: on_ack(*entry, m.ack()); break;
        case wire::Sync::BODY_NOT_SET: break;
    }
}

}  // namespace veeamha::runtime::sync
