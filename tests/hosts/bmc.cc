// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/hosts/bmc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/process.h"
#include "fencing/agent/fence_agent.h"
#include "tests/common/ipmi_sim_conf.h"
#include "tests/lab/host_proc.h"

namespace veeamha::test {
namespace {

using namespace std::chrono_literals;

void ip(const std::string& netns, std::vector<std::string> args, bool must) {
    args.insert(args.begin(), {"ip", "-n", netns});
    base::ProcessSpec p;
    p.argv = args;
    p.deadline = base::Clock::now() + 30s;
    base::ProcessResult r = base::run_process(p);
    if (must && !r.success()) throw std::runtime_error(base::format_command(args) + ": " + r.describe() + "\n" + r.err);
}

// Whether the process listens on UDP address:port, as its network namespace's table shows it
// (/proc/PID/net/udp: the address as the kernel's 32-bit word in hex, the port in hex).
bool udp_bound(pid_t pid, const std::string& address, int port) {
    in_addr a{};
    if (::inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
    char want[32];
    std::snprintf(want, sizeof want, "%08X:%04X", a.s_addr, port);
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/udp");
    std::string line;
    while (std::getline(in, line))
        if (line.find(want) != std::string::npos) return true;
    return false;
}

// The chassis control program ipmi_sim runs: `chassis get power` (prints power:0|1) and
// `chassis set power 0|1` (see bmc.h for what they do). The state of the VM's qemu comes from
// /proc: stopped (frozen) counts as on, a zombie as off.
std::string chassis_script(const std::string& pid_file, const std::string& dir) {
    return "#!/bin/sh\n"
           "# Chassis control of one test host's BMC (ipmi_sim's chassis_control; see tests/hosts/bmc.h).\n"
           "pidf='" + pid_file + "'\n"
           "dir='" + dir + "'\n"
           "say() { echo \"$*\" >> \"$dir/calls\"; }\n"
           "on() {\n"
           "  [ -f \"$pidf\" ] || return 1\n"
           "  s=$(sed -n 's/^[0-9]* (.*) \\([A-Z]\\) .*/\\1/p' \"/proc/$(cat \"$pidf\")/stat\" 2>/dev/null)\n"
           "  [ -n \"$s\" ] && [ \"$s\" != Z ] && [ \"$s\" != X ]\n"
           "}\n"
           "op=$1; shift\n"
           "case $op in\n"
           "  get)\n"
           "    for p in \"$@\"; do\n"
           "      case $p in\n"
           "        power) say get power; if on; then echo power:1; else echo power:0; fi ;;\n"
           "        boot) echo boot:default ;;\n"
           "        *) echo \"Invalid parameter: $p\"; exit 1 ;;\n"
           "      esac\n"
           "    done ;;\n"
           "  set)\n"
           "    while [ $# -ge 2 ]; do\n"
           "      p=$1; v=$2; shift 2\n"
           "      case $p in\n"
           "        power)\n"
           "          if [ \"$v\" = 0 ]; then\n"
           "            if [ -e \"$dir/ignore-power-off\" ]; then say set power 0 ignored; continue; fi\n"
           "            say set power 0\n"
           "            if on; then\n"
           "              kill -9 \"$(cat \"$pidf\")\"\n"
           "              i=0; while on && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done\n"
           "              on || rm -f \"$pidf\"\n"
           "            fi\n"
           "          else\n"
           "            say set power 1; touch \"$dir/power-on\"\n"
           "          fi ;;\n"
           "        *) say set \"$p\" \"$v\" ;;\n"
           "      esac\n"
           "    done ;;\n"
           "  *) echo \"Unknown operation: $op\"; exit 1 ;;\n"
           "esac\n"
           "exit 0\n";
}

}  // namespace

HostBmc::HostBmc(HostsCluster& c, const HostVm& h, std::string address)
    : netns_(c.netns()),
      bridge_(HostsCluster::bridge(0)),
      host_(h.name),
      address_(std::move(address)),
      dir_(c.run_dir() + "/bmc-" + h.short_name) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/state");
    {
        std::ofstream(dir_ + "/chassis") << chassis_script(c.pid_file(h), dir_);
        std::filesystem::permissions(dir_ + "/chassis", std::filesystem::perms(0755));
        std::ofstream(dir_ + "/calls");
        IpmiSimConf conf;
        conf.name = "bmc-" + h.short_name;
        conf.address = address_;
        conf.guid = "a123456789abcdefa123456789abcd0" + h.short_name;  // one per BMC
        conf.user = kBmcUser;
        conf.password = kBmcPassword;
        conf.power_lines = "  chassis_control \"" + dir_ + "/chassis\"\n";
        std::ofstream(dir_ + "/lan.conf") << ipmi_sim_lan_conf(conf);
        std::ofstream(dir_ + "/bmc.emu") << ipmi_sim_emu();
    }
    ip(netns_, {"address", "add", address_ + "/24", "dev", bridge_}, true);

    base::SpawnSpec spec;
    spec.argv = {fencing::agent::find_agent("ipmi_sim"), "-c", dir_ + "/lan.conf", "-f", dir_ + "/bmc.emu", "-s",
                 dir_ + "/state", "-n"};
    const int log = ::open((dir_ + "/ipmi_sim.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    spec.stdout_fd = log;
    spec.stderr_fd = log;
    std::string error;
    pid_ = lab::in_netns(netns_, [&] { return base::spawn(spec, error); });
    if (log >= 0) ::close(log);
    if (pid_ < 0) throw std::runtime_error("BMC of " + host_ + ": " + error);
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!udp_bound(pid_, address_, 623)) {
        if (std::chrono::steady_clock::now() > until || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
            throw std::runtime_error("BMC of " + host_ + ": ipmi_sim did not listen on " + address_ +
                                     ":623 within 10 s (" + dir_ + "/ipmi_sim.log)");
        }
        std::this_thread::sleep_for(20ms);
    }
}

HostBmc::~HostBmc() {
    if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);  // its process group: the simulator and a chassis script it runs
        ::waitpid(pid_, nullptr, 0);
    }
    ip(netns_, {"address", "del", address_ + "/24", "dev", bridge_}, false);
}

std::vector<std::string> HostBmc::calls() const {
    std::vector<std::string> out;
    std::ifstream in(dir_ + "/calls");
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

size_t HostBmc::count(const std::string& call) const {
    size_t n = 0;
    for (const auto& line : calls()) n += line == call;
    return n;
}

bool HostBmc::take_power_on(std::chrono::seconds timeout) {
    const std::string mark = dir_ + "/power-on";
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!std::filesystem::exists(mark)) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(100ms);
    }
    std::filesystem::remove(mark);
    return true;
}

void HostBmc::ignore_power_off(bool ignore) {
    const std::string flag = dir_ + "/ignore-power-off";
    if (ignore)
        std::ofstream{flag};
    else
        std::filesystem::remove(flag);
}

std::string Bmcs::cannot_run_reason() {
    if (fencing::agent::find_agent("ipmi_sim").empty())
        return "ipmi_sim is not installed (scripts/install-deps: openipmi)";
    return {};
}

Bmcs::Bmcs(HostsCluster& c) {
    for (size_t i = 0; i < 2; ++i) bmcs_.push_back(std::make_unique<HostBmc>(c, c.host(i), kAddresses[i]));
}

HostBmc& Bmcs::of(const HostVm& h) {
    for (auto& b : bmcs_)
        if (b->host_name() == h.name) return *b;
    throw std::runtime_error("no BMC for " + h.name);
}

}  // namespace veeamha::test
