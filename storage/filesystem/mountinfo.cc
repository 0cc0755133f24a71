// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/mountinfo.h"

#include <sys/sysmacros.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace veeamha::storage::filesystem {
namespace {

// Splits on single spaces; the kernel escapes spaces inside fields, so this is exact.
std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= line.size()) {
        size_t sp = line.find(' ', start);
        if (sp == std::string_view::npos) sp = line.size();
        out.push_back(line.substr(start, sp - start));
        start = sp + 1;
    }
    return out;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

}  // namespace

dev_t MountEntry::dev() const { return makedev(major, minor); }

bool MountEntry::read_only() const {
    return has_option(mount_options, "ro") || has_option(super_options, "ro");
}

bool has_option(std::string_view options, std::string_view word) {
    size_t start = 0;
    while (start <= options.size()) {
        size_t comma = options.find(',', start);
        if (comma == std::string_view::npos) comma = options.size();
        if (options.substr(start, comma - start) == word) return true;
        start = comma + 1;
    }
    return false;
}

std::string unescape_mount_field(std::string_view field) {
    std::string out;
    out.reserve(field.size());
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
            is_octal(field[i + 2]) && is_octal(field[i + 3])) {
            int v = (field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0');
            if (v < 256) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += field[i];
    }
    return out;
}

std::optional<std::vector<MountEntry>> parse_mountinfo(std::string_view text, std::string* error) {
    std::vector<MountEntry> mounts;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        if (line.empty()) continue;
        auto fail = [&](const std::string& what) {
            if (error) *error = "mountinfo line " + std::to_string(line_no) + ": " + what;
            return std::nullopt;
        };
        auto f = split_fields(line);
        // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        if (f.size() < 9) return fail("expected at least 9 fields, found " + std::to_string(f.size()));
        MountEntry e;
        if (!parse_number(f[0], e.mount_id)) return fail("mount ID is not a number");
        if (!parse_number(f[1], e.parent_id)) return fail("parent ID is not a number");
        size_t colon = f[2].find(':');
        if (colon == std::string_view::npos || !parse_number(f[2].substr(0, colon), e.major) ||
            !parse_number(f[2].substr(colon + 1), e.minor)) {
            return fail("expected major:minor in field 3, found '" + std::string(f[2]) + "'");
        }
        e.root = unescape_mount_field(f[3]);
        e.mount_point = unescape_mount_field(f[4]);
        e.mount_options = std::string(f[5]);
        size_t sep = 6;
        while (sep < f.size() && f[sep] != "-") ++sep;  // optional fields end with "-"
        if (sep + 2 >= f.size()) return fail("expected '-' followed by fstype and source");
        e.fstype = std::string(f[sep + 1]);
        e.source = unescape_mount_field(f[sep + 2]);
        if (sep + 3 < f.size()) e.super_options = std::string(f[sep + 3]);
        mounts.push_back(std::move(e));
    }
    return mounts;
}

std::optional<std::vector<MountEntry>> read_mountinfo(std::string* error, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_mountinfo(text.str(), error);
}

const MountEntry* top_mount_at(const std::vector<MountEntry>& mounts, const std::string& mount_point) {
    // Mounts stacked on one directory: the visible one is the one no other mount at the same
    // directory sits on. The file lists them in mount order, so prefer the last on ties.
    const MountEntry* top = nullptr;
    for (const auto& m : mounts) {
        if (m.mount_point != mount_point) continue;
        bool covered = false;
        for (const auto& other : mounts) {
            if (&other != &m && other.mount_point == mount_point && other.parent_id == m.mount_id)
                covered = true;
        }
        if (!covered) top = &m;
    }
    return top;
}

std::vector<const MountEntry*> submounts(const std::vector<MountEntry>& mounts, const std::string& mount_point) {
    std::vector<const MountEntry*> out;
    std::string prefix = mount_point == "/" ? "/" : mount_point + "/";
    for (const auto& m : mounts) {
        if (m.mount_point.compare(0, prefix.size(), prefix) == 0) out.push_back(&m);
    }
    return out;
}

}  // namespace veeamha::storage::filesystem
