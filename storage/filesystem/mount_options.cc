// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/mount_options.h"

#include <sys/mount.h>

#include <array>
#include <string_view>

namespace veeamha::storage::filesystem {
namespace {

struct FlagWord {
    std::string_view word;
    unsigned long flag;
    bool set;  // true: the word sets the flag; false: it clears it
};

// mount(8)'s table of generic options (util-linux libmount/src/optmap.c), minus the ones that
// change what kind of mount this is.
constexpr std::array kFlagWords{
    FlagWord{"ro", MS_RDONLY, true},          FlagWord{"rw", MS_RDONLY, false},
    FlagWord{"nosuid", MS_NOSUID, true},      FlagWord{"suid", MS_NOSUID, false},
    FlagWord{"nodev", MS_NODEV, true},        FlagWord{"dev", MS_NODEV, false},
    FlagWord{"noexec", MS_NOEXEC, true},      FlagWord{"exec", MS_NOEXEC, false},
    FlagWord{"sync", MS_SYNCHRONOUS, true},   FlagWord{"async", MS_SYNCHRONOUS, false},
    FlagWord{"dirsync", MS_DIRSYNC, true},    FlagWord{"mand", MS_MANDLOCK, true},
    FlagWord{"nomand", MS_MANDLOCK, false},   FlagWord{"noatime", MS_NOATIME, true},
    FlagWord{"atime", MS_NOATIME, false},     FlagWord{"nodiratime", MS_NODIRATIME, true},
    FlagWord{"diratime", MS_NODIRATIME, false}, FlagWord{"relatime", MS_RELATIME, true},
    FlagWord{"norelatime", MS_RELATIME, false}, FlagWord{"strictatime", MS_STRICTATIME, true},
    FlagWord{"nostrictatime", MS_STRICTATIME, false}, FlagWord{"lazytime", MS_LAZYTIME, true},
    FlagWord{"nolazytime", MS_LAZYTIME, false}, FlagWord{"iversion", MS_I_VERSION, true},
    FlagWord{"noiversion", MS_I_VERSION, false}, FlagWord{"silent", MS_SILENT, true},
    FlagWord{"loud", MS_SILENT, false},
};

// Understood by mount(8) itself, never passed to the kernel.
constexpr std::array<std::string_view, 9> kUserspaceOnly{
    "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev"};

// Would turn the resource's mount into a different operation: refused.
constexpr std::array<std::string_view, 11> kRefused{
    "remount", "bind", "rbind", "move", "loop", "private", "shared", "slave",
    "unbindable", "rprivate", "rshared"};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool MountOptions::read_only() const { return (flags & MS_RDONLY) != 0; }

std::variant<MountOptions, std::string> parse_mount_options(const std::string& text) {
    MountOptions result;
    std::string_view rest = text;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view word = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (word.empty()) continue;  // "ro,,noatime" and a trailing comma are harmless
        if (word == "defaults") continue;  // rw,suid,dev,exec,auto,nouser,async: all zero flags
        bool matched = false;
        for (const auto& fw : kFlagWords) {
            if (word != fw.word) continue;
            if (fw.set) {
                result.flags |= fw.flag;
            } else {
                result.flags &= ~fw.flag;
            }
            // The atime modes exclude each other; the last one written wins, as in mount(8).
            if (fw.set && (fw.flag == MS_NOATIME || fw.flag == MS_RELATIME ||
                           fw.flag == MS_STRICTATIME)) {
                result.flags &= ~((MS_NOATIME | MS_RELATIME | MS_STRICTATIME) & ~fw.flag);
            }
            matched = true;
            break;
        }
        if (matched) continue;
        bool userspace = starts_with(word, "x-") || starts_with(word, "comment=");
        for (auto u : kUserspaceOnly) userspace = userspace || word == u;
        if (userspace) continue;
        for (auto r : kRefused) {
            if (word == r || starts_with(word, std::string(r) + "=")) {
                return "mount option '" + std::string(word) +
                       "' is not allowed for a filesystem resource (it changes what kind of "
                       "mount this is); expected generic options (ro, noatime, nodev, ...) "
                       "or options of the filesystem type";
            }
        }
        if (!result.data.empty()) result.data += ',';
        result.data += word;
    }
    return result;
}

std::string describe(const MountOptions& options) {
    std::string out = options.read_only() ? "ro" : "rw";
    for (const auto& fw : kFlagWords) {
        if (fw.set && fw.flag != MS_RDONLY && (options.flags & fw.flag)) {
            out += ',';
            out += fw.word;
        }
    }
    if (!options.data.empty()) out += "," + options.data;
    return out;
}

}  // namespace veeamha::storage::filesystem
