// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/hosts/watch_log.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace veeamha::test {

WatchLog::WatchLog(std::vector<std::pair<std::string, std::string>> sockets) {
    for (auto& [host, socket] : sockets) threads_.emplace_back([this, host, socket] { read_loop(host, socket); });
}

WatchLog::~WatchLog() {
    stop_ = true;
    for (auto& t : threads_) t.join();
}

void WatchLog::read_loop(std::string host, std::string socket) {
    using namespace std::chrono_literals;
    while (!stop_) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd);
            // The VM is off or qemu has not made its socket yet: look again soon.
            std::this_thread::sleep_for(20ms);
            continue;
        }
        std::string pending;
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[4096];
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) {  // qemu ended: the VM lost power, nothing of it is active any more
                std::lock_guard<std::mutex> lock(mu_);
                lines_.push_back({host, Clock::now(), "W 0 " + host + " power-off"});
                break;
            }
            auto now = Clock::now();
            pending.append(buf, static_cast<size_t>(n));
            for (size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1)) {
                std::string text = pending.substr(0, eol);
                if (!text.empty() && text.back() == '\r') text.pop_back();
                if (text.rfind("W ", 0) != 0) continue;
                std::lock_guard<std::mutex> lock(mu_);
                lines_.push_back({host, now, text});
            }
        }
        ::close(fd);
    }
}

std::vector<WatchLog::Line> WatchLog::lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
}

std::string WatchLog::Verdict::summary() const {
    std::string s = std::to_string(lines) + " watcher lines, " + std::to_string(activations) + " activations, ";
    if (problems.empty()) return s + "never active on both hosts at once";
    s += std::to_string(problems.size()) + " overlap(s):";
    for (const auto& p : problems) s += "\n  " + p;
    return s;
}

WatchLog::Verdict WatchLog::check() const {
    std::vector<Line> all = lines();
    std::stable_sort(all.begin(), all.end(), [](const Line& x, const Line& y) { return x.at < y.at; });
    Verdict v;
    v.lines = all.size();
    std::map<std::string, bool> active;
    std::map<std::string, std::string> what;
    for (const auto& l : all) {
        if (l.text.find(" alive") != std::string::npos) continue;
        bool now_active = false;
        if (l.text.find(" power-off") == std::string::npos) {
            // "dm:a,b, mnt:x=y," : anything after either label means active or mounted.
            size_t dm = l.text.find(" dm:"), mnt = l.text.find(" mnt:");
            if (dm == std::string::npos || mnt == std::string::npos) continue;
            now_active = mnt > dm + 4 || mnt + 5 < l.text.size();
        }
        if (now_active && !active[l.host]) ++v.activations;
        active[l.host] = now_active;
        what[l.host] = l.text;
        int on = 0;
        for (const auto& [h, a] : active) on += a;
        if (on > 1) {
            std::string p = "at " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(l.at.time_since_epoch()).count()) + " ms:";
            for (const auto& [h, t] : what) p += " [" + t + "]";
            v.problems.push_back(p);
        }
    }
    return v;
}

}  // namespace veeamha::test
