// SPDX-License-Identifier: GPL-2.0-or-later
// The host side of the double-activation watcher (watcher.cc): one thread per VM reads the
// watcher's serial port (a unix socket of qemu; reconnected whenever the VM is powered on
// again) and stamps each line with this machine's steady clock on arrival, so the two VMs'
// lines are ordered on one clock (a guest's own clock is set from the RTC, to the second). The
// end of a connection is the VM's power loss: nothing of it is active after that.
// Then check() says whether the shared volumes were ever active or mounted on both at once.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace veeamha::test {

class WatchLog {
public:
    using Clock = std::chrono::steady_clock;
    struct Line {
        std::string host;
        Clock::time_point at;
        std::string text;
    };
    // (host name, socket path) per VM.
    explicit WatchLog(std::vector<std::pair<std::string, std::string>> sockets);
    ~WatchLog();
    WatchLog(const WatchLog&) = delete;
    WatchLog& operator=(const WatchLog&) = delete;

    std::vector<Line> lines() const;

    struct Verdict {
        size_t lines = 0;
        int activations = 0;  // inactive -> active transitions, both hosts
        std::vector<std::string> problems;  // overlaps, in words
        std::string summary() const;
    };
    Verdict check() const;

private:
    void read_loop(std::string host, std::string socket);

    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<Line> lines_;
    std::vector<std::thread> threads_;
};

}  // namespace veeamha::test
