// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/mount_watch.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sstream>

#include "tests/lab/lab.h"

namespace veeamha::lab {

namespace {

constexpr size_t kMaxMountinfo = 1 << 20;

std::string read_fd(int fd) {
    std::string out;
    char buf[16384];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < kMaxMountinfo) out.append(buf, static_cast<size_t>(n));
    return out;
}

// The line whose third field (major:minor of the mounted filesystem) is `devno`.
std::string find_mount(const std::string& mountinfo, const std::string& devno) {
    size_t pos = 0;
    while (pos < mountinfo.size()) {
        size_t end = mountinfo.find('\n', pos);
        if (end == std::string::npos) end = mountinfo.size();
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..."
        size_t a = mountinfo.find(' ', pos);
        size_t b = a == std::string::npos ? a : mountinfo.find(' ', a + 1);
        size_t c = b == std::string::npos ? b : mountinfo.find(' ', b + 1);
        if (c != std::string::npos && c < end && mountinfo.compare(b + 1, c - b - 1, devno) == 0)
            return mountinfo.substr(pos, end - pos);
        pos = end + 1;
    }
    return {};
}

std::string devno_text(dev_t device) { return std::to_string(major(device)) + ":" + std::to_string(minor(device)); }

}  // namespace

std::string DoubleMountWatcher::mount_line(pid_t pid, dev_t device) {
    if (pid <= 0) return {};
    int fd = ::open(("/proc/" + std::to_string(pid) + "/mountinfo").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string text = read_fd(fd);
    ::close(fd);
    return find_mount(text, devno_text(device));
}

DoubleMountWatcher::DoubleMountWatcher(const Lab& lab, dev_t device, std::chrono::microseconds period)
    : lab_(lab), devno_(devno_text(device)), period_(period) {
    thread_ = std::thread([this] { loop(); });
}

DoubleMountWatcher::~DoubleMountWatcher() {
    stop();
    for (auto& p : probes_)
        if (p.dirfd >= 0) ::close(p.dirfd);
}

void DoubleMountWatcher::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string DoubleMountWatcher::read_host(int index) {
    Probe& p = probes_[index];
    pid_t pid = lab_.init_pid(index == 0 ? kN1 : kN2);
    if (pid != p.pid) {
        if (p.dirfd >= 0) ::close(p.dirfd);
        p.dirfd = pid > 0 ? ::open(("/proc/" + std::to_string(pid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        p.pid = pid;
    }
    if (p.dirfd < 0) return {};  // powered off
    int fd = ::openat(p.dirfd, "mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};  // the host died: nothing mounted any more
    std::string text = read_fd(fd);
    ::close(fd);
    return find_mount(text, devno_);
}

void DoubleMountWatcher::loop() {
    while (!stop_) {
        std::string a = read_host(0);
        std::string b = read_host(1);
        ++samples_;
        if (!a.empty()) ++mounted_[0];
        if (!b.empty()) ++mounted_[1];
        if (!a.empty() && !b.empty()) {
            // n1 seen mounted before and after the read that saw n2 mounted: both at once.
            if (!read_host(0).empty()) {
                ++overlaps_total_;
                auto now = std::chrono::steady_clock::now();
                std::lock_guard<std::mutex> lock(mu_);
                if (overlaps_.size() < 100) overlaps_.push_back({now, a, b});
                last_overlap_ = now;
            } else {
                ++unconfirmed_;
            }
        }
        std::this_thread::sleep_for(period_);
    }
}

std::vector<DoubleMountWatcher::Overlap> DoubleMountWatcher::overlaps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return overlaps_;
}

std::optional<std::chrono::steady_clock::time_point> DoubleMountWatcher::first_overlap_at() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (overlaps_.empty()) return std::nullopt;
    return overlaps_.front().at;
}

std::optional<std::chrono::steady_clock::time_point> DoubleMountWatcher::last_overlap_at() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_overlap_;
}

std::string DoubleMountWatcher::report() const {
    std::ostringstream out;
    out << "double-mount watcher on " << devno_ << ": " << samples_ << " samples, n1 mounted in " << mounted_[0]
        << ", n2 in " << mounted_[1] << ", both at once " << overlaps_total_ << " times (" << unconfirmed_
        << " unconfirmed)";
    auto o = overlaps();
    if (!o.empty()) out << "; first: n1 [" << o.front().n1 << "] n2 [" << o.front().n2 << "]";
    return out.str();
}

}  // namespace veeamha::lab
