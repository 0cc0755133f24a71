// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/block_holders.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace veeamha::storage::lvm {
namespace {

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

bool all_digits(const char* s) {
    if (!*s) return false;
    for (; *s; ++s)
        if (!std::isdigit(static_cast<unsigned char>(*s))) return false;
    return true;
}

std::string read_comm(const std::string& pid) {
    std::ifstream f("/proc/" + pid + "/comm");
    std::string comm;
    std::getline(f, comm);
    return comm;
}

// mountinfo field 3 is "major:minor", field 5 the mount point (octal escapes kept as is).
void scan_mountinfo(const std::string& path, const std::string& devno, std::set<std::string>& seen,
                    BlockHolders& out, size_t limit) {
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, mountpoint;
        if (!(fields >> id >> parent >> dev >> root >> mountpoint)) continue;
        if (dev != devno || !seen.insert(mountpoint).second) continue;
        if (out.mounts.size() >= limit) {
            out.truncated = true;
            return;
        }
        out.mounts.push_back(mountpoint);
    }
}

template <typename T>
void join_into(std::string& out, const char* label, const std::vector<T>& items) {
    if (items.empty()) return;
    if (!out.empty()) out += "; ";
    out += label;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : " ") + items[i];
}

}  // namespace

BlockHolders find_block_holders(uint32_t major, uint32_t minor, size_t limit) {
    BlockHolders out;
    const dev_t wanted = makedev(major, minor);
    const std::string devno = std::to_string(major) + ":" + std::to_string(minor);

    // Stacked devices (an LV used as a PV, a crypt or multipath device on top of it).
    if (Dir holders{::opendir(("/sys/dev/block/" + devno + "/holders").c_str())}) {
        while (dirent* e = ::readdir(holders.get())) {
            if (e->d_name[0] == '.') continue;
            if (out.devices.size() >= limit) { out.truncated = true; break; }
            out.devices.emplace_back(e->d_name);
        }
    }

    Dir proc{::opendir("/proc")};
    if (!proc) return out;
    std::set<std::string> mount_namespaces;
    std::set<std::string> mountpoints;
    while (dirent* e = ::readdir(proc.get())) {
        if (!all_digits(e->d_name)) continue;
        const std::string pid = e->d_name;
        const std::string base = "/proc/" + pid;

        // A mounted filesystem holds the device without any process fd: read the mount table
        // of every distinct mount namespace once (bounded: a host has few of them).
        char ns[64];
        ssize_t n = ::readlink((base + "/ns/mnt").c_str(), ns, sizeof ns - 1);
        if (n > 0 && mount_namespaces.size() < 256) {
            ns[n] = '\0';
            if (mount_namespaces.insert(ns).second)
                scan_mountinfo(base + "/mountinfo", devno, mountpoints, out, limit);
        }

        int fd_dir = ::open((base + "/fd").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd_dir < 0) continue;  // exited, or a kernel thread
        Dir fds{::fdopendir(fd_dir)};
        if (!fds) {
            ::close(fd_dir);
            continue;
        }
        while (dirent* f = ::readdir(fds.get())) {
            if (f->d_name[0] == '.') continue;
            struct stat st {};
            if (::fstatat(fd_dir, f->d_name, &st, 0) != 0) continue;
            if (!S_ISBLK(st.st_mode) || st.st_rdev != wanted) continue;
            if (out.processes.size() >= limit) {
                out.truncated = true;
            } else {
                out.processes.push_back("pid " + pid + " (" + read_comm(pid) + ")");
            }
            break;  // one line per process
        }
    }
    return out;
}

std::string describe(const BlockHolders& holders) {
    if (holders.empty()) return "no holder found (open by the kernel?)";
    std::string out;
    join_into(out, "mounted at", holders.mounts);
    join_into(out, "open by", holders.processes);
    join_into(out, "used by device", holders.devices);
    if (holders.truncated) out += "; and more";
    return out;
}

}  // namespace veeamha::storage::lvm
