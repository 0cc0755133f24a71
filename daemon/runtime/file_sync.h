// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` files (docs/design.md §9): the active node sends each listed file to the passive one when
// it changes (checked every few seconds) and after every reconnect; the passive writes it
// atomically with the same mode. A node accepts only paths its own configuration lists, only
// from the node that holds the group, and at most kMaxSyncFile bytes each.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

inline constexpr size_t kMaxSyncFile = 1u << 20;

class FileSync {
public:
    explicit FileSync(std::vector<std::string> paths) : paths_(std::move(paths)) {}

    // Active side: the files that changed since they were last sent (all of them after
    // reset()). Unreadable or too large files are reported in `problems` once per change.
    std::vector<wire::FileSync> changed(std::vector<std::string>& problems);
    void reset() { sent_.clear(); }

    // Passive side: writes the file if allowed. Returns "" or what went wrong.
    std::string apply(const wire::FileSync& file);

    // Each listed file's last result on this node (for /metrics): true once it was read and
    // sent (active) or written or found the same (passive), false after a problem; files not
    // tried yet are absent.
    const std::map<std::string, bool>& results() const { return results_; }
    const std::vector<std::string>& paths() const { return paths_; }

private:
    std::string write(const wire::FileSync& file) const;

    std::vector<std::string> paths_;
    std::map<std::string, std::string> sent_;  // path -> sha256 last sent (or problem text)
    std::map<std::string, bool> results_;
};

}  // namespace veeamha::runtime
