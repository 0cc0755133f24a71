// SPDX-License-Identifier: GPL-2.0-or-later
// /proc/<pid>/mountinfo (proc(5)): which filesystems are mounted where in this mount namespace.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace veeamha::storage::filesystem {

struct MountEntry {
    int mount_id = 0;
    int parent_id = 0;
    unsigned major = 0;
    unsigned minor = 0;
    std::string root;          // the directory of the filesystem that is mounted ("/" usually)
    std::string mount_point;   // unescaped (\040 -> space)
    std::string mount_options; // per-mount: "rw,noatime"
    std::string fstype;
    std::string source;        // unescaped; "/dev/loop3", "tmpfs", ...
    std::string super_options; // per-superblock: "rw,attr2,inode64,..."

    dev_t dev() const;
    // True when the mount itself or its superblock is read-only.
    bool read_only() const;
};

// Parses the whole file. A line that does not have the documented shape is an error naming
// its line number and what was expected (the kernel writes it, so this means a format change).
std::optional<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string* error);

// Reads /proc/self/mountinfo (or `path`).
std::optional<std::vector<MountEntry>> read_mountinfo(std::string* error,
                                                      const std::string& path = "/proc/self/mountinfo");

// Undoes the kernel's octal escapes for space, tab, newline and backslash (\040 \011 \012 \134).
std::string unescape_mount_field(std::string_view field);

// True when option `word` is in the comma-separated list `options`.
bool has_option(std::string_view options, std::string_view word);

// The mount visible at `mount_point` (the last, i.e. topmost, entry for it), or nullptr.
const MountEntry* top_mount_at(const std::vector<MountEntry>& mounts, const std::string& mount_point);

// Mounts stacked below `mount_point` (not at it): they keep it busy.
std::vector<const MountEntry*> submounts(const std::vector<MountEntry>& mounts, const std::string& mount_point);

}  // namespace veeamha::storage::filesystem
