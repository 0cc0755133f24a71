// SPDX-License-Identifier: GPL-2.0-or-later
// Three "hosts" A, B, C (network namespaces) on a bridge in a fourth (the switch), named per run
// (PID) so that parallel runs by other engineers never collide, and deleted by the destructor
// even when a test fails. Code runs "on a host" on a thread that entered that namespace.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/process.h"
#include "net/ip/netlink.h"

namespace lab {

using namespace std::chrono_literals;

inline veeamha::base::ProcessResult run(std::vector<std::string> argv, std::chrono::milliseconds budget = 10s) {
    veeamha::base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = veeamha::base::Clock::now() + budget;
    return veeamha::base::run_process(spec);
}

inline std::string run_ok(std::vector<std::string> argv) {
    auto r = run(argv);
    INFO(veeamha::base::format_command(argv) << ": " << r.describe());
    REQUIRE(r.success());
    return r.out;
}

// Moves the calling thread into network namespace `ns`.
inline bool enter_netns(const std::string& ns) {
    int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    return ok;
}

// Runs f() on a thread inside network namespace `ns` and returns its result.
template <typename F>
auto in_netns(const std::string& ns, F f) -> decltype(f()) {
    using R = decltype(f());
    std::optional<R> result;
    std::string error;
    std::exception_ptr thrown;  // a failed REQUIRE inside f is rethrown in the caller
    std::thread t([&] {
        if (!enter_netns(ns)) {
            error = "cannot enter netns " + ns;
            return;
        }
        try {
            result.emplace(f());
        } catch (...) {
            thrown = std::current_exception();
        }
    });
    t.join();
    if (thrown) std::rethrow_exception(thrown);
    INFO(error);
    REQUIRE(result.has_value());
    return std::move(*result);
}

struct Host {
    std::string ns;
    std::string ipv4;  // own address on eth0
    std::string ipv6;
    veeamha::net::ip::Mac mac{};
};

class Lab {
public:
    Lab() {
        REQUIRE(::geteuid() == 0);
        remove_stale_namespaces();
        std::string tag = std::to_string(::getpid());
        sw_ = std::string(kPrefix) + "S-" + tag;
        const char* names[] = {"A", "B", "C"};
        for (int i = 0; i < 3; ++i) {
            Host h;
            h.ns = std::string(kPrefix) + names[i] + "-" + tag;
            h.ipv4 = "198.51.100." + std::to_string(i + 1);
            h.ipv6 = "2001:db8:5::" + std::to_string(i + 1);
            hosts_.push_back(h);
        }
        // Leftovers of a crashed earlier run with the same PID.
        for (auto& h : hosts_) run({"ip", "netns", "del", h.ns});
        run({"ip", "netns", "del", sw_});
        run_ok({"ip", "netns", "add", sw_});
        created_.push_back(sw_);
        run_ok({"ip", "-n", sw_, "link", "add", "br0", "type", "bridge"});
        run_ok({"ip", "-n", sw_, "link", "set", "br0", "up"});
        for (int i = 0; i < 3; ++i) {
            Host& h = hosts_[i];
            run_ok({"ip", "netns", "add", h.ns});
            created_.push_back(h.ns);
            std::string port = std::string("p") + names[i];
            run_ok({"ip", "-n", h.ns, "link", "set", "lo", "up"});
            std::string veth = std::string("vha") + names[i] + tag;  // <= 15 characters
            run_ok({"ip", "link", "add", veth, "netns", h.ns, "type", "veth", "peer", "name", port,
                    "netns", sw_});
            run_ok({"ip", "-n", sw_, "link", "set", port, "master", "br0", "up"});
            run_ok({"ip", "-n", h.ns, "link", "set", veth, "name", "eth0"});
            run_ok({"ip", "-n", h.ns, "link", "set", "eth0", "up"});
            run_ok({"ip", "-n", h.ns, "addr", "add", h.ipv4 + "/24", "dev", "eth0"});
            run_ok({"ip", "-n", h.ns, "addr", "add", h.ipv6 + "/64", "dev", "eth0", "nodad"});
            h.mac = in_netns(h.ns, [] {
                veeamha::net::ip::NetlinkSocket nl;
                veeamha::net::ip::LinkInfo link;
                int idx = static_cast<int>(::if_nametoindex("eth0"));
                nl.get_link(idx, link, veeamha::base::Clock::now() + 2s);
                return link.mac.value_or(veeamha::net::ip::Mac{});
            });
        }
    }
    ~Lab() {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) run({"ip", "netns", "del", *it});
    }
    const Host& A() const { return hosts_[0]; }
    const Host& B() const { return hosts_[1]; }
    const Host& C() const { return hosts_[2]; }
    const std::string& switch_ns() const { return sw_; }

private:
    static constexpr const char* kPrefix = "veeamha-iplab-";

    // Namespaces this fixture made in an earlier run whose process died without unwinding
    // (a crash, a sanitizer abort, a CTest timeout kill): named with our prefix and the PID of
    // a process that no longer exists. Nothing else is touched.
    static void remove_stale_namespaces() {
        DIR* d = ::opendir("/run/netns");
        if (!d) return;
        std::vector<std::string> stale;
        const std::string prefix = kPrefix;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name.compare(0, prefix.size(), prefix) != 0 || name.size() < prefix.size() + 3) continue;
            std::string pid = name.substr(prefix.size() + 2);  // after "A-"
            if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
            if (::kill(std::stoi(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
        }
        ::closedir(d);
        for (const auto& name : stale) run({"ip", "netns", "del", name});
    }

    std::string sw_;
    std::vector<Host> hosts_;
    std::vector<std::string> created_;
};

}  // namespace lab
