// SPDX-License-Identifier: GPL-2.0-or-later
// Change detection for `sync:`: inotify on the folders that hold synced files (an entry's
// parent too, so that an editor's write-and-rename and a file created later are seen), read on
// the event loop. Bounded: at most kMaxWatches folders (past that, the periodic full compare
// alone finds changes) and one callback per burst of events.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace veeamha::runtime::sync {

inline constexpr size_t kMaxWatches = 4096;

class FolderWatch {
public:
    // `on_change` runs `settle` after the first event of a burst (events meanwhile join it).
    FolderWatch(boost::asio::io_context& io, std::chrono::milliseconds settle, std::function<void()> on_change);
    ~FolderWatch();
    FolderWatch(const FolderWatch&) = delete;
    FolderWatch& operator=(const FolderWatch&) = delete;

    // False (and `error`) if inotify cannot be used; changes are then found by the full compare.
    bool start(std::string& error);
    // Watches exactly these folders (missing ones are skipped: the parent's watch sees them made).
    void set(const std::vector<std::string>& folders);
    size_t watching() const { return by_path_.size(); }

private:
    void read_next();
    void fire_soon();

    boost::asio::io_context& io_;
    std::chrono::milliseconds settle_;
    std::function<void()> on_change_;
    boost::asio::posix::stream_descriptor stream_;
    boost::asio::steady_timer settle_timer_;
    bool settling_ = false;
    std::map<std::string, int> by_path_;
    std::vector<char> buffer_;
};

}  // namespace veeamha::runtime::sync
