// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/holders.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <optional>

namespace veeamha::storage::filesystem {
namespace {

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    ~Fd() { if (fd >= 0) ::close(fd); }
};

std::string read_small_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    char buf[4096];
    std::string out;
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0 && out.size() < 64 * 1024) out.append(buf, r);
    ::close(fd);
    return out;
}

// The "mnt_id:" line of an fdinfo file, or -1.
int mnt_id_from_fdinfo(const std::string& path) {
    std::string text = read_small_file(path);
    size_t at = text.find("mnt_id:");
    if (at == std::string::npos) return -1;
    return std::atoi(text.c_str() + at + 7);
}

// Mount ID of what a magic link (/proc/PID/cwd, /proc/PID/map_files/...) points at: opening it
// with O_PATH follows the link inside the kernel without touching the filesystem (a hung one
// cannot block us here), and our own fdinfo then names the mount. -1 when it cannot be opened;
// `open_errno` then says why (ENOENT: the process, or the mapping, is gone).
int mnt_id_of_link(const std::string& path, int* open_errno = nullptr) {
    Fd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (fd.fd < 0) {
        if (open_errno) *open_errno = errno;
        return -1;
    }
    return mnt_id_from_fdinfo("/proc/self/fdinfo/" + std::to_string(fd.fd));
}

struct ProcStat {
    char state = '?';
    unsigned long long start_time = 0;
    unsigned flags = 0;
};

std::optional<ProcStat> read_stat(pid_t pid) {
    std::string text = read_small_file("/proc/" + std::to_string(pid) + "/stat");
    size_t close = text.rfind(')');  // comm may contain spaces and parentheses
    if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
    std::istringstream in(text.substr(close + 2));
    ProcStat st;
    std::string skip;
    in >> st.state;  // field 3
    for (int field = 4; field <= 8; ++field) in >> skip;
    in >> st.flags;  // field 9
    for (int field = 10; field <= 21; ++field) in >> skip;
    in >> st.start_time;  // field 22
    if (!in) return std::nullopt;
    return st;
}

constexpr unsigned kPfKthread = 0x00200000;

// Its stat when it is a process that can hold something: not gone, not a zombie, not a kernel thread.
std::optional<ProcStat> user_process_stat(pid_t pid) {
    auto st = read_stat(pid);
    if (!st || st->state == 'Z' || (st->flags & kPfKthread)) return std::nullopt;
    return st;
}

std::string comm_of(pid_t pid) {
    std::string c = read_small_file("/proc/" + std::to_string(pid) + "/comm");
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r')) c.pop_back();
    return c.empty() ? "?" : c;
}

// How `pid` uses the mount, or empty if it does not.
std::string how_held(const std::string& base, int mount_id, dev_t dev) {
    for (const char* link : {"cwd", "root", "exe"}) {
        if (mnt_id_of_link(base + link) == mount_id) return link;
    }
    if (DIR* d = ::opendir((base + "fdinfo").c_str())) {
        std::string found;
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            if (mnt_id_from_fdinfo(base + "fdinfo/" + e->d_name) == mount_id) {
                found = std::string("fd ") + e->d_name;
                break;
            }
        }
        ::closedir(d);
        if (!found.empty()) return found;
    }
    // Mappings: /proc/PID/maps names the device (hex major:minor) of each mapped file; only for
    // those, map_files/<range> tells the exact mount.
    std::istringstream maps(read_small_file(base + "maps"));
    std::string line;
    while (std::getline(maps, line)) {
        char range[128], perms[8], devtext[32];
        unsigned long long offset = 0, inode = 0;
        if (std::sscanf(line.c_str(), "%127s %7s %llx %31s %llu", range, perms, &offset, devtext,
                        &inode) != 5 || inode == 0) {
            continue;
        }
        unsigned maj = 0, min = 0;
        if (std::sscanf(devtext, "%x:%x", &maj, &min) != 2 || makedev(maj, min) != dev) continue;
        int open_errno = 0;
        int id = mnt_id_of_link(base + "map_files/" + range, &open_errno);
        if (id == mount_id) return "mmap";
        // Unmapped since maps was read (or the process exited): it maps nothing there now. The
        // device alone is weak evidence: a bind mount shares it with the filesystem's own mount
        // and every other bind of it, so a process that maps and unmaps files of the filesystem
        // would be killed for a mount it never used. Only where map_files cannot be read at
        // all (no CAP_SYS_ADMIN) is the device all there is to go by.
        if (id < 0 && open_errno != ENOENT) return "mmap";
    }
    return {};
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// A process counts as gone once it has exited: a zombie holds no files any more.
bool gone(const Fd& pidfd) {
    pollfd p{pidfd.fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

// Waits until every pidfd in `pending` reports exit or `until`; returns the indexes still alive.
std::vector<size_t> wait_gone(const std::vector<Fd>& fds, std::vector<size_t> pending, base::Deadline until) {
    for (;;) {
        std::vector<size_t> alive;
        for (size_t i : pending) {
            if (!gone(fds[i])) alive.push_back(i);
        }
        if (alive.empty() || base::Clock::now() >= until) return alive;
        std::vector<pollfd> p;
        for (size_t i : alive) p.push_back({fds[i].fd, POLLIN, 0});
        int wait_ms = static_cast<int>(std::min<long long>(base::remaining(until).count(), 50));
        ::poll(p.data(), p.size(), std::max(wait_ms, 1));
        pending = std::move(alive);
    }
}

}  // namespace

std::optional<Holder> holder_of(pid_t pid, const std::string& how) {
    auto st = user_process_stat(pid);
    if (!st) return std::nullopt;
    return Holder{pid, st->start_time, comm_of(pid), how};
}

std::vector<Holder> find_holders(int mount_id, dev_t dev, base::Deadline deadline) {
    std::vector<Holder> out;
    DIR* proc = ::opendir("/proc");
    if (!proc) return out;
    while (dirent* e = ::readdir(proc)) {
        if (base::Clock::now() >= deadline) break;
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 1) continue;
        auto st = user_process_stat(static_cast<pid_t>(pid));
        if (!st) continue;
        std::string how = how_held("/proc/" + std::string(e->d_name) + "/", mount_id, dev);
        if (how.empty()) continue;
        out.push_back({static_cast<pid_t>(pid), st->start_time, comm_of(static_cast<pid_t>(pid)), how});
    }
    ::closedir(proc);
    return out;
}

HolderStopReport stop_holders(const std::vector<Holder>& holders, std::chrono::milliseconds term_grace,
                              base::Deadline deadline) {
    HolderStopReport report;
    std::vector<Fd> fds;
    std::vector<Holder> targets;
    for (const auto& h : holders) {
        if (h.pid == ::getpid()) {  // never signal ourselves; report it as what is left
            report.survivors.push_back(h);
            continue;
        }
        Fd fd(pidfd_open(h.pid));
        if (fd.fd < 0) continue;  // already gone
        auto st = read_stat(h.pid);
        if (!st || st->start_time != h.start_time) continue;  // gone, PID reused
        fds.push_back(std::move(fd));
        targets.push_back(h);
    }
    std::vector<size_t> pending;
    for (size_t i = 0; i < fds.size(); ++i) {
        if (pidfd_send_signal(fds[i].fd, SIGTERM) == 0 || errno != ESRCH) pending.push_back(i);
        else report.terminated.push_back(targets[i]);
    }
    base::Deadline grace_end = std::min(deadline, base::Clock::now() + term_grace);
    std::vector<size_t> after_term = wait_gone(fds, pending, grace_end);
    for (size_t i : pending) {
        bool alive = std::find(after_term.begin(), after_term.end(), i) != after_term.end();
        if (!alive) report.terminated.push_back(targets[i]);
    }
    for (size_t i : after_term) pidfd_send_signal(fds[i].fd, SIGKILL);
    std::vector<size_t> after_kill = wait_gone(fds, after_term, deadline);
    for (size_t i : after_term) {
        bool alive = std::find(after_kill.begin(), after_kill.end(), i) != after_kill.end();
        (alive ? report.survivors : report.killed).push_back(targets[i]);
    }
    return report;
}

std::string describe(const std::vector<Holder>& holders) {
    std::string out;
    for (const auto& h : holders) {
        if (!out.empty()) out += ", ";
        out += std::to_string(h.pid) + " " + h.comm + " (" + h.how + ")";
    }
    return out;
}

}  // namespace veeamha::storage::filesystem
