// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/mount_paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace veeamha::storage::filesystem {

MountPoint canonical_mount_point(const std::string& path) {
    if (path.empty() || path[0] != '/') return {{}, "mountpoint '" + path + "' is not an absolute path"};
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    if (trimmed == "/") return {"/", {}};
    size_t slash = trimmed.rfind('/');
    std::string parent = slash == 0 ? "/" : trimmed.substr(0, slash);
    std::string leaf = trimmed.substr(slash + 1);
    if (leaf == "." || leaf == "..") return {{}, "mountpoint '" + path + "' must not end in . or .."};
    char resolved[PATH_MAX];
    // A parent that does not exist yet: nothing can be mounted below it; keep the path as is.
    if (!::realpath(parent.c_str(), resolved)) return {trimmed, {}};
    std::string out = resolved;
    if (out != "/") out += '/';
    return {out + leaf, {}};
}

std::string make_directories(const std::string& path) {
    size_t pos = 1;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        std::string part = path.substr(0, next);
        if (::mkdir(part.c_str(), 0755) == 0) {
            ::chmod(part.c_str(), 0755);
        } else if (errno != EEXIST) {
            return "cannot create " + part + ": " + std::strerror(errno);
        }
        pos = next + 1;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "cannot stat " + path + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "mountpoint " + path + " exists and is not a directory";
    return {};
}

}  // namespace veeamha::storage::filesystem
