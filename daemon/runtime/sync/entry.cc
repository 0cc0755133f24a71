// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/sync/entry.h"

namespace veeamha::runtime::sync {

bool plain_path(const std::string& path) {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/' || path.find('\0') != std::string::npos)
        return false;
    for (size_t at = 1; at <= path.size();) {
        size_t end = path.find('/', at);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(at, end - at);
        if (part.empty() || part == "." || part == "..") return false;
        at = end + 1;
    }
    return true;
}

std::string parent_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

bool plain_relative(const std::string& rel) { return !rel.empty() && rel[0] != '/' && plain_path("/" + rel); }

bool SyncEntry::accepts(const std::string& rel) const {
    if (rel.empty()) return kind == EntryKind::Path;
    if (!plain_relative(rel)) return false;
    for (size_t at = 0; at < rel.size();) {
        size_t end = rel.find('/', at);
        if (end == std::string::npos) end = rel.size();
        if (rel.compare(at, std::string(kTempPrefix).size(), kTempPrefix) == 0) return false;
        at = end + 1;
    }
    if (kind == EntryKind::Path) return true;
    return rel.find('/') == std::string::npos && rel.rfind(kHostKeyPrefix, 0) == 0 &&
           rel.size() > std::string(kHostKeyPrefix).size();
}

std::vector<SyncEntry> entries_of(const config::SyncSection& sync, const std::string& ssh_dir) {
    std::vector<SyncEntry> out;
    for (const auto& p : sync.paths) out.push_back(SyncEntry{p, p, EntryKind::Path});
    if (sync.ssh_host_keys) out.push_back(SyncEntry{kSshHostKeys, ssh_dir, EntryKind::SshHostKeys});
    return out;
}

Limits limits_of(const config::SyncSection& sync) {
    return Limits{sync.max_file_size, sync.max_files, sync.max_total_size};
}

bool is_unit_file(const std::string& path) {
    for (const char* dir : {"/etc/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/"}) {
        const std::string d = dir;
        if (path.size() > d.size() && path.compare(0, d.size(), d) == 0) return true;
    }
    return false;
}

}  // namespace veeamha::runtime::sync
