// SPDX-License-Identifier: GPL-2.0-or-later
// The node that does not run the group: compares the holder's manifests with its own files,
// removes and fixes what it can in place, asks for the rest and writes it as it arrives.
#include "daemon/runtime/sync/service.h"

namespace veeamha::runtime::sync {

namespace {

bool under(const std::string& rel, const std::string& folder) {
    return folder.empty() || rel == folder || (rel.size() > folder.size() && rel.compare(0, folder.size(), folder) == 0 &&
                                              rel[folder.size()] == '/');
}

bool same_attributes(const wire::SyncItem& a, const wire::SyncItem& b) {
    return a.mode() == b.mode() && a.uid() == b.uid() && a.gid() == b.gid();
}

// Off the loop: makes this node's copy of the entry what the holder's manifest says, as far as
// it can without the holder's bytes, and says what it still needs.
void compare_and_fix(const SyncEntry& entry, const wire::SyncManifest& holder, const wire::SyncManifest& local,
                     SyncService::Reconciled& r);

}  // namespace

void SyncService::on_manifest(size_t entry, const wire::SyncManifest& m) {
    const SyncEntry& e = entries_[entry];
    for (const auto& item : m.items()) {
        if (!e.accepts(item.path())) {
            hooks_.report(2, "", "sync: the holder's manifest of " + e.name + " names " + item.path() +
                                     ", which is not part of it on this node: ignored");
            return;
        }
    }
    holder_manifests_[entry] = m;
    reconcile(entry);
}

void SyncService::reconcile(size_t entry) {
    if (!reconcile_queued_.insert(entry).second) return;
    run_job([this, shared = shared_, entry, holder = holder_manifests_[entry]]() -> std::function<void()> {
        auto r = std::make_shared<Reconciled>();
        r->manifest = holder.SerializeAsString();
        if (holder.refused().empty()) {
            const SyncEntry& e = shared->entries[entry];
            Scan local = scan({e}, shared->limits, shared->cache, false);
            compare_and_fix(e, holder, local.manifests.at(0), *r);
        }
        return [this, entry, r] {
            reconcile_queued_.erase(entry);
            on_reconciled(entry, *r);
        };
    });
}

void SyncService::on_reconciled(size_t entry, const Reconciled& r) {
    auto held = holder_manifests_.find(entry);
    if (holder_ || held == holder_manifests_.end()) return;
    if (held->second.SerializeAsString() != r.manifest) {  // a newer one came meanwhile
        reconcile(entry);
        return;
    }
    const SyncEntry& e = entries_[entry];
    const wire::SyncManifest& m = held->second;
    std::set<std::string> present;
    if (!m.refused().empty()) {
        set_state(e.name, FileState::Refused, "on the holder: " + m.refused());
        present.insert(e.name);
    } else if (!r.error.empty()) {
        fail(e.name, r.error);
        present.insert(e.name);
    }
    std::map<std::string, const wire::SyncItem*> items;
    for (const auto& item : m.items()) {
        items[item.path()] = &item;
        if (item.folder() && item.refused().empty()) continue;
        present.insert(e.path_of(item.path()));
        if (!item.refused().empty()) set_state(e.path_of(item.path()), FileState::Refused, "on the holder: " + item.refused(), item.size());
    }
    for (auto it = files_.begin(); it != files_.end();) {
        const bool ours = it->first == e.name || it->first == e.root || it->first.rfind(e.root + "/", 0) == 0;
        it = ours && !present.count(it->first) ? files_.erase(it) : std::next(it);
    }
    std::set<Reload> reloads;
    auto touched = [&](const std::string& path) {
        if (e.kind == EntryKind::SshHostKeys) reloads.insert(Reload::Sshd);
        if (is_unit_file(path)) reloads.insert(Reload::Systemd);
    };
    // Changed here since it was last the holder's copy (not merely outdated by the holder).
    auto overwritten = [&](const std::string& rel, const char* what) {
        const std::string path = e.path_of(rel);
        auto had = had_.find(path);
        auto found = r.found.find(rel);
        if (had != had_.end() && found != r.found.end() && found->second != had->second)
            hooks_.report(1, "sync-overwritten", "sync: " + path + " was changed on this node (" + what +
                                                     "); the holder's copy replaces it");
    };
    wire::Sync out;
    auto* request = out.mutable_request();
    request->set_entry(e.name);
    for (const auto& rel : r.need) {
        const std::string path = e.path_of(rel);
        overwritten(rel, "its content");
        requested_[path] = identity_of(*items[rel]);
        if (files_.count(path) == 0 || files_[path].state != FileState::Failed)
            set_state(path, FileState::Pending, "", items[rel]->size());
        request->add_paths(rel);
    }
    for (const auto& rel : r.fixed) {
        overwritten(rel, "its owner, group or mode");
        touched(e.path_of(rel));
    }
    for (const auto* list : {&r.have, &r.fixed}) {
        for (const auto& rel : *list) {
            if (!items[rel]->folder()) set_state(e.path_of(rel), FileState::InSync, "", items[rel]->size());
            had_[e.path_of(rel)] = identity_of(*items[rel]);
            request->add_in_sync(rel);
        }
    }
    for (const auto& rel : r.removed) {
        had_.erase(e.path_of(rel));
        hooks_.report(0, "", "sync: removed " + e.path_of(rel) + " (the holder does not have it)");
        touched(e.path_of(rel));
    }
    for (const auto& [rel, error] : r.failed) fail(e.path_of(rel), error);
    hooks_.send(out);  // also empty: the holder learns its manifest arrived
    schedule_reloads(reloads);
}

namespace {

void compare_and_fix(const SyncEntry& entry, const wire::SyncManifest& holder, const wire::SyncManifest& local,
                     SyncService::Reconciled& r) {
    if (!local.refused().empty()) {
        r.error = "cannot compare with this node's copy: " + local.refused();
        return;
    }
    std::map<std::string, const wire::SyncItem*> theirs, ours;
    std::vector<std::string> left_alone;  // refused on the holder: this node's copy stays
    for (const auto& item : holder.items()) {
        theirs[item.path()] = &item;
        if (!item.refused().empty()) left_alone.push_back(item.path());
    }
    for (const auto& item : local.items()) ours[item.path()] = &item;
    auto kept = [&](const std::string& rel) {
        for (const auto& f : left_alone)
            if (under(rel, f) && (rel == f || theirs[f]->folder())) return true;
        return false;
    };
    auto remove = [&](const std::string& rel) {
        std::string error = remove_path(entry, rel);
        if (error.empty()) r.removed.push_back(rel);
        else r.failed.emplace_back(rel, error);
        return error.empty();
    };
    // What the holder does not have (a folder before what it holds: removed with it).
    std::vector<std::string> removed_folders;
    for (const auto& item : local.items()) {
        const std::string& rel = item.path();
        if (theirs.count(rel) || kept(rel)) continue;
        bool gone = false;
        for (const auto& f : removed_folders) gone = gone || under(rel, f);
        if (!gone && remove(rel) && item.folder()) removed_folders.push_back(rel);
    }
    for (const auto& item : holder.items()) {
        const std::string& rel = item.path();
        if (kept(rel)) continue;
        auto it = ours.find(rel);
        const wire::SyncItem* mine = it == ours.end() ? nullptr : it->second;
        if (mine && mine->folder() != item.folder() && !remove(rel)) continue;  // a file where a folder belongs
        if (mine && mine->folder() != item.folder()) mine = nullptr;
        if (item.folder()) {
            if (mine && same_attributes(*mine, item)) continue;
            std::string error = apply_folder(entry, item);
            if (!error.empty()) r.failed.emplace_back(rel, error);
            else if (mine) r.fixed.push_back(rel);
            continue;
        }
        if (!mine || !mine->refused().empty() || mine->sha256() != item.sha256() || mine->size() != item.size()) {
            r.need.push_back(rel);
            r.found[rel] = mine ? identity_of(*mine) : "";
        } else if (!same_attributes(*mine, item)) {
            r.found[rel] = identity_of(*mine);
            std::string error = apply_attributes(entry, item);
            if (error.empty()) r.fixed.push_back(rel);
            else r.failed.emplace_back(rel, error);
        } else {
            r.have.push_back(rel);
        }
    }
}

}  // namespace

}  // namespace veeamha::runtime::sync
