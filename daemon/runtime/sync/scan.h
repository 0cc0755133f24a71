// SPDX-License-Identifier: GPL-2.0-or-later
// Reads what a sync entry holds on this node into a manifest (wire::SyncManifest): every file
// and folder with owner, group, mode, size and sha256, in a stable order (a folder before what
// it holds). Symbolic links are never followed: one inside an entry is listed as refused. Limits
// are applied here: a file larger than max_file_size and files past max_total_size are refused,
// an entry holding more than max_files is refused whole. Runs off the event loop (it reads and
// hashes files); digests are kept per file and reused while its inode, size and times are the
// same.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "daemon/runtime/sync/entry.h"
#include "proto/veeamha.pb.h"

namespace veeamha::runtime::sync {

class HashCache {
public:
    struct Key {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = 0;
        int64_t mtime_ns = 0, ctime_ns = 0;
        bool operator==(const Key&) const = default;
    };
    // The sha256 of the open regular file `fd` known as `path` (read if not known); "" and
    // `error` set if it cannot be read whole.
    std::string digest(const std::string& path, int fd, std::string& error);
    // Forgets the files not in `present` (after a scan of every entry).
    void forget_missing(const std::vector<std::string>& present);

private:
    std::map<std::string, std::pair<Key, std::string>> known_;
};

struct Scan {
    std::vector<wire::SyncManifest> manifests;  // one per entry, in the entries' order
    std::vector<std::string> folders;           // every folder to watch (entries' parents too)
};

// `all`: these are all the entries (the cache then forgets files no longer there).
Scan scan(const std::vector<SyncEntry>& entries, const Limits& limits, HashCache& cache, bool all = true);

// sha256 of bytes, raw (32 bytes).
std::string sha256(const std::string& data);
// "ab12cd..." (the first 12 hex digits, for log lines).
std::string short_hex(const std::string& digest);

}  // namespace veeamha::runtime::sync
