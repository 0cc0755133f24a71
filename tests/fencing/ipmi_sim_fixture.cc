// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/fencing/ipmi_sim_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "base/process.h"
#include "fencing/agent/fence_agent.h"
#include "tests/common/ipmi_sim_conf.h"

namespace veeamha::test {
namespace {

// A UDP port nobody uses on loopback now (the kernel's pick; ipmi_sim binds it right after).
int free_udp_port() {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("ipmi_sim fixture: cannot bind a UDP socket on loopback");
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    return ntohs(a.sin_port);
}

// Whether something listens on UDP 127.0.0.1:port (/proc/net/udp lists it).
bool udp_bound(int port) {
    std::ifstream in("/proc/net/udp");
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    std::string line;
    while (std::getline(in, line))
        if (line.find(want) != std::string::npos) return true;
    return false;
}

}  // namespace

std::string IpmiSim::cannot_run_reason() {
    for (const char* tool : {"ipmi_sim", "ipmitool", "fence_ipmilan"})
        if (fencing::agent::find_agent(tool).empty())
            return std::string(tool) + " is not installed (scripts/install-deps: openipmi, ipmitool, fence-agents)";
    return {};
}

IpmiSim::IpmiSim(const TempDir& dir) {
    port_ = free_udp_port();
    IpmiSimConf c;
    c.name = "veeamha-test";
    c.address = "127.0.0.1";
    c.port = port_;
    c.guid = "a123456789abcdefa123456789abcdef";
    c.user = kIpmiUser;
    c.password = kIpmiPassword;
    // The "host" is a sleep the simulator starts at once and kills at power-off.
    c.power_lines = "  startcmd \"sleep 100000\"\n"
                    "  startnow true\n"
                    "  poweroff_wait 1\n"
                    "  kill_wait 1\n";
    std::string conf = dir.write("lan.conf", ipmi_sim_lan_conf(c));
    std::string emu = dir.write("bmc.emu", ipmi_sim_emu());
    base::SpawnSpec spec;
    spec.argv = {fencing::agent::find_agent("ipmi_sim"), "-c", conf, "-f", emu, "-s", dir.path() + "/sim-state", "-n"};
    std::string error;
    pid_ = base::spawn(spec, error);
    if (pid_ < 0) throw std::runtime_error("ipmi_sim fixture: " + error);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!udp_bound(port_)) {
        if (std::chrono::steady_clock::now() > until || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
            throw std::runtime_error("ipmi_sim fixture: the simulator did not listen on UDP port " +
                                     std::to_string(port_) + " within 10 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

IpmiSim::~IpmiSim() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);  // its process group: the simulator and the `sleep` it powers
    ::waitpid(pid_, nullptr, 0);
}

config::FenceLevel IpmiSim::level(const std::string& password_file) const {
    config::FenceLevel l;
    l.agent = "fence_ipmilan";
    // cipher 3 (what ipmitool picks anyway): ipmi_sim does not answer ipmitool's discovery of
    // cipher suites, which costs 14 s per run without it.
    l.args = {{"ip", "127.0.0.1"}, {"ipport", std::to_string(port_)}, {"username", kIpmiUser}, {"lanplus", "1"},
              {"cipher", "3"}};
    if (!password_file.empty()) l.args.emplace_back("password_file", password_file);
    return l;
}

}  // namespace veeamha::test
