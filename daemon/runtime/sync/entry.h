// SPDX-License-Identifier: GPL-2.0-or-later
// What `sync:` covers (README, Configuration reference): entries made from the configuration,
// each a file, a folder with its whole tree, or the SSH host keys; which paths an entry covers
// (a node accepts nothing else from its peer); and what must be reloaded after a path changed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace veeamha::runtime::sync {

// Path: a configured path, a file or a folder with its tree (what the holder has decides).
enum class EntryKind { Path, SshHostKeys };

struct SyncEntry {
    std::string name;  // in status and on the wire: the configured path, or "ssh_host_keys"
    std::string root;  // the file, the folder, or the folder of the host keys
    EntryKind kind = EntryKind::Path;

    // Paths on the wire are relative to root ("" = root itself, "certs/a.pem"), so that a node
    // resolves them against its own configuration only. True if `rel` is one this entry syncs:
    // "" or plain parts (no "", ".", ".."), never one of our temp files; for the host keys a
    // name ssh_host_* directly in root.
    bool accepts(const std::string& rel) const;
    std::string path_of(const std::string& rel) const { return rel.empty() ? root : root + "/" + rel; }
};

struct Limits {
    uint64_t max_file_size = 64ull << 20;
    uint32_t max_files = 1000;
    uint64_t max_total_size = 256ull << 20;
};

inline constexpr const char* kSshHostKeys = "ssh_host_keys";
inline constexpr const char* kHostKeyPrefix = "ssh_host_";
// What this daemon writes next to a file it replaces; never synced, never removed by a sync.
inline constexpr const char* kTempPrefix = ".veeam-ha-sync.";

std::vector<SyncEntry> entries_of(const config::SyncSection& sync, const std::string& ssh_dir = "/etc/ssh");
Limits limits_of(const config::SyncSection& sync);

// Absolute, no empty, "." or ".." parts, no trailing slash, no NUL: names one place only.
bool plain_path(const std::string& path);
// The same for a relative path (no leading slash).
bool plain_relative(const std::string& rel);
std::string parent_of(const std::string& path);
std::string base_name(const std::string& path);

// A systemd unit file (under /etc/systemd/system, /lib/systemd/system, /usr/lib/systemd/system):
// systemd must be told (daemon-reload) after it changed.
bool is_unit_file(const std::string& path);

}  // namespace veeamha::runtime::sync
