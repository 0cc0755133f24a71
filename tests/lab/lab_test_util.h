// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers of the lab's self-test: reachability checks from inside hosts, and the list of what
// a lab run left on the machine.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/read_file.h"
#include "tests/lab/lab.h"

namespace veeamha::lab::testing {

using namespace std::chrono_literals;

// Reachable: an echo answered, trying for up to 5 s. Right after a cable is plugged back the
// host's ARP entry for the target may still be INCOMPLETE from before (waiting for its next
// retransmission) or about to turn FAILED, which drops the queued echo at once: real kernel
// behaviour, so the check polls instead of trusting one packet.
inline bool ping(Lab& lab, const std::string& from, const std::string& to) {
    auto until = std::chrono::steady_clock::now() + 5s;
    do {
        auto started = std::chrono::steady_clock::now();
        if (lab.exec_in(from, {"ping", "-n", "-q", "-c", "1", "-W", "1", to}, 10s).success()) return true;
        std::this_thread::sleep_until(started + 250ms);
    } while (std::chrono::steady_clock::now() < until);
    return false;
}

// Unreachable: no answer within 1 s.
inline bool unreachable(Lab& lab, const std::string& from, const std::string& to) {
    auto r = lab.exec_in(from, {"ping", "-n", "-q", "-c", "1", "-W", "1", to}, 10s);
    return r.ended == base::ProcessResult::Ended::Exited && r.exit_code != 0;
}

// What `ip -o link show PORT` says in the switch: "UP" / "DOWN" / ...
inline std::string port_state(const Lab& lab, const std::string& port) {
    auto r = run_cmd({"ip", "-n", lab.switch_netns(), "-o", "link", "show", port});
    auto pos = r.out.find(" state ");
    return pos == std::string::npos ? "?" : r.out.substr(pos + 7, r.out.find(' ', pos + 7) - pos - 7);
}

// One UDP datagram from host `from` to to_address:port arrives at a socket that host `to`
// listens with (both sockets made on threads inside the hosts' namespaces).
inline bool udp_delivered(Lab& lab, const std::string& from, const std::string& to, const std::string& to_address,
                          uint16_t port) {
    int rx = in_netns(lab.netns(to), [&] {
        int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        int one = 1;
        ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(s);
            return -1;
        }
        return s;
    });
    REQUIRE(rx >= 0);
    in_netns(lab.netns(from), [&] {
        int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, to_address.c_str(), &a.sin_addr);
        for (int i = 0; i < 3; ++i) ::sendto(s, "hb", 2, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::close(s);
        return 0;
    });
    pollfd p{rx, POLLIN, 0};
    bool got = ::poll(&p, 1, 500) > 0;
    ::close(rx);
    return got;
}

// A TCP connection from `from` to to_address:port, where `to` listens, is accepted.
inline bool tcp_connects(Lab& lab, const std::string& from, const std::string& to, const std::string& to_address,
                         uint16_t port) {
    int listener = in_netns(lab.netns(to), [&] {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 4) != 0) {
            ::close(s);
            return -1;
        }
        return s;
    });
    REQUIRE(listener >= 0);
    bool ok = in_netns(lab.netns(from), [&] {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, to_address.c_str(), &a.sin_addr);
        ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pollfd p{s, POLLOUT, 0};
        bool connected = false;
        if (::poll(&p, 1, 700) > 0) {
            int e = 0;
            socklen_t len = sizeof e;
            ::getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len);
            connected = e == 0;
        }
        ::close(s);
        return connected;
    });
    ::close(listener);
    return ok;
}

inline std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.push_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

using veeamha::test::slurp;

// Everything of run `id` still on the machine: namespaces, mounts, loop devices, cgroups,
// folders, processes whose command line names the run, and the listed process instances.
inline std::vector<std::string> leftovers(const std::string& id,
                                          const std::vector<std::pair<pid_t, unsigned long long>>& processes = {},
                                          const std::string& run_root = "/run/veeam-ha-lab",
                                          const std::string& disk_root = "/var/tmp/veeam-ha-lab") {
    std::vector<std::string> left;
    for (const auto& ns : dir_entries("/run/netns"))
        if (ns.rfind(id + "-", 0) == 0) left.push_back("netns " + ns);
    std::istringstream mounts(slurp("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(mounts, line))
        if (line.find(id) != std::string::npos) left.push_back("mount " + line);
    for (const auto& dev : dir_entries("/sys/block")) {
        if (dev.rfind("loop", 0) != 0) continue;
        std::string backing = slurp("/sys/block/" + dev + "/loop/backing_file");
        if (backing.find(disk_root + "/" + id + "/") != std::string::npos) left.push_back("loop " + dev + " " + backing);
    }
    std::string cg = cgroup_v2_root() + "/veeam-ha-lab/" + id;
    if (::access(cg.c_str(), F_OK) == 0) left.push_back("cgroup " + cg);
    for (const auto& dir : {run_root + "/" + id, disk_root + "/" + id})
        if (::access(dir.c_str(), F_OK) == 0) left.push_back("folder " + dir);
    for (const auto& p : dir_entries("/proc")) {
        if (p.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmd = slurp("/proc/" + p + "/cmdline");
        if (cmd.find(id) != std::string::npos) {
            for (auto& c : cmd)
                if (c == '\0') c = ' ';
            left.push_back("process " + p + ": " + cmd.substr(0, 200));
        }
    }
    for (const auto& [pid, start] : processes)
        if (process_start_time(pid) == start) left.push_back("process " + std::to_string(pid) + " still alive");
    return left;
}

// leftovers() until empty or the deadline (a loop device detaches when its last user is gone).
inline std::vector<std::string> leftovers_after(std::chrono::milliseconds wait, const std::string& id,
                                                const std::vector<std::pair<pid_t, unsigned long long>>& processes = {}) {
    auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        auto left = leftovers(id, processes);
        if (left.empty() || std::chrono::steady_clock::now() >= until) return left;
        std::this_thread::sleep_for(20ms);
    }
}

inline std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// Polls `condition` until true or the deadline.
template <typename F>
bool eventually(std::chrono::milliseconds budget, F condition) {
    auto until = std::chrono::steady_clock::now() + budget;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

}  // namespace veeamha::lab::testing
