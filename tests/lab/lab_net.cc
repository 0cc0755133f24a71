// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's network: a "switch" namespace with two bridges (br0 = LAN with the gateway
// address, br1 = heartbeat), one veth pair per host and link. A cable is a switch-side veth
// end: "disconnected" = that end down, so the host sees NO-CARRIER on its NIC (admin state
// still up), as when a cable is pulled or a VM is powered off. Interface names exist only
// inside the lab's own namespaces, so parallel runs never collide.
#include <sstream>
#include <stdexcept>

#include "tests/lab/lab.h"

namespace veeamha::lab {

using namespace std::chrono_literals;

namespace {

std::string port_name(const std::string& host, size_t link) { return host + "-" + std::to_string(link); }

void check_link(int link) {
    if (link != kLan && link != kHeartbeat)
        throw std::runtime_error("no link " + std::to_string(link) + " (0 = LAN, 1 = heartbeat)");
}

// The chains the lab owns inside a host: declared (and so flushed) by iptables-restore.
constexpr const char* kHeartbeatChain = "VHL-HB";
constexpr const char* kLossChain = "VHL-LOSS";
constexpr const char* kVcenterChain = "VHL-VC";

}  // namespace

void Lab::ip_batch(const std::string& ns, const std::string& commands) const {
    std::vector<std::string> argv = {"ip"};
    if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
    argv.insert(argv.end(), {"-batch", "-"});
    auto r = run_cmd(argv, 20s, commands);
    if (!r.success()) throw std::runtime_error(base::format_command(argv) + " <<EOF\n" + commands + "EOF\n: " + r.describe());
}

void Lab::iptables(const std::string& ns, const std::vector<std::string>& lines) const {
    std::string text = "*filter\n";
    for (const auto& l : lines) text += l + "\n";
    text += "COMMIT\n";
    std::vector<std::string> argv = {"iptables-restore", "--noflush"};
    auto r = run_in_netns(ns, argv, 20s, text);
    if (!r.success())
        throw std::runtime_error("iptables-restore in " + ns + ":\n" + text + ": " + r.describe() + "\n" + r.err);
}

void Lab::make_network() {
    for (const auto& ns : {switch_ns_, hosts_[0]->netns, hosts_[1]->netns, hosts_[2]->netns}) {
        std::vector<std::string> argv = {"ip", "netns", "add", ns};
        must(run_cmd(argv), argv);
    }
    ip_batch(switch_ns_,
             "link set lo up\n"
             "link add br0 type bridge\n"
             "link add br1 type bridge\n"
             "link set br0 up\n"
             "link set br1 up\n"
             "address add " + gateway() + "/24 dev br0\n");
    // A switch forwards frames without the machine's firewall. With br_netfilter loaded, bridged
    // frames would go through iptables too: per datagram, a cost a real host's NIC never pays
    // and that the idle bench would charge to the sending daemon. The lab's own rules are in the
    // hosts' INPUT chains and the switch's (routed) INPUT chain, which this does not touch.
    // -e: where br_netfilter is not loaded, the keys do not exist and there is nothing to turn off.
    {
        std::vector<std::string> argv = {"sysctl", "-q", "-e", "-w", "net.bridge.bridge-nf-call-iptables=0",
                                         "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0"};
        must(run_in_netns(switch_ns_, argv, 20s), argv);
    }
    // veth pairs made directly in their namespaces: no name ever exists in the machine's own.
    std::string pairs, ports;
    for (const auto& h : hosts_) {
        for (size_t link = 0; link < h->addresses.size(); ++link) {
            pairs += "link add eth" + std::to_string(link) + " netns " + h->netns + " type veth peer name " +
                     port_name(h->name, link) + " netns " + switch_ns_ + "\n";
            ports += "link set " + port_name(h->name, link) + " master br" + std::to_string(link) + "\n";
        }
    }
    ip_batch("", pairs);
    ip_batch(switch_ns_, ports);
    for (const auto& h : hosts_) {
        ip_batch(h->netns, "link set lo up\n");
        if (h->name == kClient) continue;
        iptables(h->netns, {std::string(":") + kHeartbeatChain + " - [0:0]", std::string(":") + kLossChain + " - [0:0]",
                            std::string("-A INPUT -j ") + kHeartbeatChain, std::string("-A INPUT -j ") + kLossChain});
    }
    iptables(switch_ns_, {std::string(":") + kVcenterChain + " - [0:0]", std::string("-A INPUT -j ") + kVcenterChain});
    event("network: switch " + switch_ns_ + ", LAN 10.10.0.0/24 (gateway " + gateway() + "), heartbeat 10.11.0.0/24");
}

void Lab::apply_ports() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::string batch;
    for (const auto& h : hosts_) {
        for (size_t link = 0; link < h->addresses.size(); ++link) {
            bool cut = h->name != kClient && cut_[link];
            bool want = h->powered && !h->isolated && !cut;
            auto key = std::make_pair(h->name, static_cast<int>(link));
            auto it = port_up_.find(key);
            if (it != port_up_.end() && it->second == want) continue;
            batch += "link set " + port_name(h->name, link) + (want ? " up\n" : " down\n");
            port_up_[key] = want;
        }
    }
    if (!batch.empty()) ip_batch(switch_ns_, batch);
}

void Lab::cut(int link) {
    check_link(link);
    std::lock_guard<std::recursive_mutex> lock(mu_);
    cut_[link] = true;
    apply_ports();
    event("cut link " + std::to_string(link));
}

void Lab::heal(int link) {
    check_link(link);
    std::lock_guard<std::recursive_mutex> lock(mu_);
    cut_[link] = false;
    apply_ports();
    event("heal link " + std::to_string(link));
}

void Lab::isolate(const std::string& name) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    host(name).isolated = true;
    apply_ports();
    event("isolate " + name);
}

void Lab::reconnect(const std::string& name) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    host(name).isolated = false;
    apply_ports();
    event("reconnect " + name);
}

bool Lab::link_cut(int link) const {
    check_link(link);
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return cut_[link];
}

bool Lab::isolated(const std::string& name) const {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return host(name).isolated;
}

void Lab::cut_heartbeat() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::string port = std::to_string(options_.heartbeat_port);
    for (const char* n : {kN1, kN2}) {
        std::vector<std::string> rules = {std::string(":") + kHeartbeatChain + " - [0:0]"};
        for (const char* proto : {"udp", "tcp"})
            for (const char* dir : {"--dport", "--sport"})
                rules.push_back(std::string("-A ") + kHeartbeatChain + " -p " + proto + " " + dir + " " + port + " -j DROP");
        iptables(host(n).netns, rules);
    }
    heartbeat_cut_ = true;
    event("cut cluster traffic (port " + port + ") on every link");
}

void Lab::heal_heartbeat() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    for (const char* n : {kN1, kN2}) iptables(host(n).netns, {std::string(":") + kHeartbeatChain + " - [0:0]"});
    heartbeat_cut_ = false;
    event("heal cluster traffic");
}

void Lab::loss(int link, int percent) {
    check_link(link);
    if (percent < 0 || percent > 100) throw std::runtime_error("loss: percent must be 0..100");
    std::lock_guard<std::recursive_mutex> lock(mu_);
    loss_[link] = percent;
    set_loss_rules();
    event("loss " + std::to_string(percent) + "% on link " + std::to_string(link));
}

void Lab::set_loss_rules() {
    for (const char* n : {kN1, kN2}) {
        std::vector<std::string> rules = {std::string(":") + kLossChain + " - [0:0]"};
        for (int link = 0; link < 2; ++link) {
            if (loss_[link] <= 0) continue;
            std::ostringstream p;
            p.precision(4);
            p << std::fixed << loss_[link] / 100.0;
            rules.push_back(std::string("-A ") + kLossChain + " -i eth" + std::to_string(link) +
                            " -m statistic --mode random --probability " + p.str() + " -j DROP");
        }
        iptables(host(n).netns, rules);
    }
}

void Lab::block_vcenter(bool blocked) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::vector<std::string> rules = {std::string(":") + kVcenterChain + " - [0:0]"};
    if (blocked) rules.push_back(std::string("-A ") + kVcenterChain + " -p tcp -d " + gateway() + " --dport 443 -j DROP");
    iptables(switch_ns_, rules);
    vcenter_blocked_ = blocked;
    event(blocked ? "vCenter unreachable" : "vCenter reachable");
}

void Lab::heal_all() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    cut_[0] = cut_[1] = false;
    for (auto& h : hosts_) h->isolated = false;
    apply_ports();
    if (heartbeat_cut_) heal_heartbeat();
    if (loss_[0] || loss_[1]) {
        loss_[0] = loss_[1] = 0;
        set_loss_rules();
    }
    if (vcenter_blocked_) block_vcenter(false);
    event("heal everything");
}

}  // namespace veeamha::lab
