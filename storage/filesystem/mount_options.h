// SPDX-License-Identifier: GPL-2.0-or-later
// The `options:` string of a filesystem resource, split the way mount(8) splits it: generic VFS
// options become MS_* flags for mount(2), everything else goes to the filesystem as its data
// string, in the order written.
#pragma once

#include <string>
#include <variant>

namespace veeamha::storage::filesystem {

struct MountOptions {
    unsigned long flags = 0;  // MS_RDONLY, MS_NOATIME, ...
    std::string data;         // filesystem-specific, comma-separated ("logbufs=8,inode64")
    bool read_only() const;
};

// Parses "ro,noatime,logbufs=8". Options that mount(8) only uses itself (auto, noauto, user,
// nofail, _netdev, x-*, comment=...) are ignored like mount(8) ignores them for mount(2).
// Options that would make this something other than a plain mount (remount, bind, move,
// loop, ...) are refused: returns the error text naming the option.
std::variant<MountOptions, std::string> parse_mount_options(const std::string& text);

// "ro,noatime" for log lines: the flags back as mount(8) words, then the data.
std::string describe(const MountOptions& options);

}  // namespace veeamha::storage::filesystem
