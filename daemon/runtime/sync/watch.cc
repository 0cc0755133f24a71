// SPDX-License-Identifier: GPL-2.0-or-later
#include <utility>  // before Boost.Asio: Boost 1.74 needs std::exchange declared under C++20

#include "daemon/runtime/sync/watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

namespace veeamha::runtime::sync {

namespace {
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR;
}

FolderWatch::FolderWatch(boost::asio::io_context& io, std::chrono::milliseconds settle, std::function<void()> on_change)
    : io_(io), settle_(settle), on_change_(std::move(on_change)), stream_(io), settle_timer_(io), buffer_(64 * 1024) {}

FolderWatch::~FolderWatch() {
    boost::system::error_code ec;
    stream_.close(ec);
}

bool FolderWatch::start(std::string& error) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        error = std::string("inotify_init1: ") + std::strerror(errno);
        return false;
    }
    stream_.assign(fd);
    read_next();
    return true;
}

void FolderWatch::set(const std::vector<std::string>& folders) {
    if (!stream_.is_open()) return;
    std::set<std::string> wanted;
    for (const auto& f : folders)
        if (wanted.size() < kMaxWatches) wanted.insert(f);
    for (auto it = by_path_.begin(); it != by_path_.end();) {
        if (wanted.count(it->first)) {
            ++it;
            continue;
        }
        ::inotify_rm_watch(stream_.native_handle(), it->second);
        it = by_path_.erase(it);
    }
    for (const auto& f : wanted) {
        // Again even if watched: a folder replaced meanwhile gets a new watch descriptor.
        int wd = ::inotify_add_watch(stream_.native_handle(), f.c_str(), kMask);
        if (wd >= 0) by_path_[f] = wd;
        else by_path_.erase(f);
    }
}

void FolderWatch::read_next() {
    stream_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
        if (ec) return;
        bool any = false;
        for (;;) {
            ssize_t n = ::read(stream_.native_handle(), buffer_.data(), buffer_.size());
            if (n <= 0) break;  // EAGAIN: all read
            any = true;
        }
        if (any) fire_soon();
        read_next();
    });
}

void FolderWatch::fire_soon() {
    if (settling_) return;
    settling_ = true;
    settle_timer_.expires_after(settle_);
    settle_timer_.async_wait([this](const boost::system::error_code& ec) {
        settling_ = false;
        if (!ec) on_change_();
    });
}

}  // namespace veeamha::runtime::sync
