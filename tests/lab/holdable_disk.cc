// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/holdable_disk.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/process.h"

namespace veeamha::lab {

using namespace std::chrono_literals;

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The mountinfo line whose mount point is `dir` in this process's mount table, or "".
std::string mounted_at(const std::string& dir) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp;
        f >> id >> parent >> dev >> root >> mp;
        if (mp == dir) return line;
    }
    return {};
}

// Waits (bounded) for our child `pid` to exit and reaps it. True once reaped.
bool wait_child(pid_t pid, std::chrono::milliseconds budget) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        int rc;
        do {
            rc = ::poll(&p, 1, static_cast<int>(budget.count()));
        } while (rc < 0 && errno == EINTR);
        ::close(fd);
    }
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

std::string holdfs_binary() {
    const char* env = std::getenv("VEEAM_HA_LAB_HOLDFS");
    if (env && *env) return env;
#ifdef VEEAMHA_LAB_HOLDFS_PATH
    return VEEAMHA_LAB_HOLDFS_PATH;
#else
    return "";
#endif
}

std::string HoldableDisk::unavailable() {
    if (holdfs_binary().empty()) return "veeam-ha-lab-holdfs was not built (libfuse3-dev missing: scripts/install-deps)";
    if (::access(holdfs_binary().c_str(), X_OK) != 0) return errno_text(holdfs_binary());
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno_text("open /dev/fuse");
    ::close(fd);
    std::ifstream fs("/proc/filesystems");
    std::string line;
    while (std::getline(fs, line))
        if (line == "nodev\tfuse") return "";
    return "the kernel has no fuse file system (/proc/filesystems)";
}

HoldableDisk::HoldableDisk(const std::string& backing, const std::string& dir, const std::string& log)
    : dir_(dir), image_(dir + "/disk.img") {
    if (std::string why = unavailable(); !why.empty()) throw std::runtime_error("holdable disk: " + why);
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe"));
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]);
        ::close(in[1]);
        throw std::runtime_error(errno_text("pipe"));
    }
    int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    base::SpawnSpec spec;
    spec.argv = {holdfs_binary(), backing, dir};
    spec.stdin_fd = in[0];
    spec.stdout_fd = out[1];
    spec.stderr_fd = err;
    std::string why;
    pid_ = base::spawn(spec, why);
    ::close(in[0]);
    ::close(out[1]);
    if (err >= 0) ::close(err);
    to_server_ = in[1];
    from_server_ = out[0];
    if (pid_ < 0) {
        stop();
        throw std::runtime_error("holdable disk: " + why);
    }
    std::string said;
    try {
        said = command("");  // its first line, once mounted
    } catch (const std::exception& e) {
        said = e.what();
    }
    if (said != "ready") {
        stop();
        throw std::runtime_error("holdable disk: veeam-ha-lab-holdfs did not mount " + dir + " (" + said +
                                 "; see " + log + ")");
    }
}

HoldableDisk::~HoldableDisk() { stop(); }

std::string HoldableDisk::command(const std::string& word) {
    std::lock_guard<std::mutex> lock(mu_);
    if (to_server_ < 0) throw std::runtime_error("holdable disk: the server is gone");
    if (!word.empty()) {
        std::string line = word + "\n";
        if (::write(to_server_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw std::runtime_error(errno_text("holdable disk: tell the server " + word));
    }
    auto until = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        if (size_t nl = pending_.find('\n'); nl != std::string::npos) {
            std::string answer = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return answer;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw std::runtime_error("holdable disk: no answer to '" + word + "' within 10 s");
        pollfd p{from_server_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[256];
        ssize_t n = ::read(from_server_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("holdable disk: the server exited (answering '" + word + "')");
        pending_.append(buf, static_cast<size_t>(n));
    }
}

void HoldableDisk::hold(bool held) {
    std::string want = held ? "held" : "released";
    std::string got = command(held ? "hold" : "release");
    if (got != want) throw std::runtime_error("holdable disk: said '" + got + "' instead of '" + want + "'");
}

int HoldableDisk::waiting() {
    std::string got = command("waiting");
    if (got.rfind("waiting ", 0) != 0) throw std::runtime_error("holdable disk: said '" + got + "' to 'waiting'");
    return std::atoi(got.c_str() + 8);
}

std::vector<std::string> HoldableDisk::stop() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> left;
    // The end of its stdin: it releases every held request and unmounts lazily; it exits once
    // nothing uses the file system (the lab detached its loop device first).
    if (to_server_ >= 0) ::close(to_server_);
    to_server_ = -1;
    if (pid_ > 0 && !wait_child(pid_, 10s)) {
        // Something still uses the file system (a loop device not detached, or a lab host of
        // another run that copied the mount at its boot): a dead server fails those requests.
        std::fprintf(stderr, "holdable disk: veeam-ha-lab-holdfs %d still serving %s after 10 s: killing it\n",
                     static_cast<int>(pid_), dir_.c_str());
        ::kill(pid_, SIGKILL);  // our own child, not reaped yet: the PID is still ours
        if (!wait_child(pid_, 10s)) left.push_back("veeam-ha-lab-holdfs " + std::to_string(pid_) + " did not die");
    }
    pid_ = -1;
    if (from_server_ >= 0) ::close(from_server_);
    from_server_ = -1;
    // Its unmount was lazy, or it was killed before it ran: never leave the mount behind.
    if (!mounted_at(dir_).empty() && ::umount2(dir_.c_str(), MNT_DETACH) != 0)
        left.push_back(errno_text("umount " + dir_));
    return left;
}

}  // namespace veeamha::lab
