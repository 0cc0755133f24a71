// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's self-test (root): bring-up and tear-down leave nothing behind (also after a failed
// REQUIRE and after a crash), hosts and links behave like machines and cables, the vCenter
// simulator's power-off kills a host before the fence call returns, the generated config.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/lab/lab.h"
#include "tests/lab/lab_test_util.h"

#include "config/config.h"

using namespace veeamha;
using namespace veeamha::lab;
using namespace veeamha::lab::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

LabOptions quick(bool vcenter = false, bool disk = false) {
    LabOptions o;
    o.vcenter = vcenter;
    o.disk = disk;
    return o;
}

std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

// Runs one hidden test case of this program in a child process; it writes its run id and
// process instances to a file. Returns the file's lines.
std::vector<std::string> run_child(const std::string& test_name, base::ProcessResult* result) {
    std::string out = "/tmp/veeamha-lab-child-" + std::to_string(::getpid()) + ".txt";
    ::unlink(out.c_str());
    base::ProcessSpec spec;
    spec.argv = {self_exe(), test_name};
    spec.extra_env = {"VEEAMHA_LAB_CHILD_OUT=" + out};
    spec.deadline = base::Clock::now() + 180s;
    *result = base::run_process(spec);
    std::vector<std::string> lines;
    std::istringstream in(slurp(out));
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
    ::unlink(out.c_str());
    return lines;
}

void child_report(const Lab& lab, const std::vector<pid_t>& pids) {
    const char* path = std::getenv("VEEAMHA_LAB_CHILD_OUT");
    REQUIRE(path);
    std::ofstream out(path);
    out << lab.run_id() << "\n";
    for (pid_t p : pids) out << p << " " << process_start_time(p) << "\n";
}

std::vector<std::pair<pid_t, unsigned long long>> parse_processes(const std::vector<std::string>& lines) {
    std::vector<std::pair<pid_t, unsigned long long>> out;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::istringstream f(lines[i]);
        pid_t p;
        unsigned long long s;
        if (f >> p >> s) out.emplace_back(p, s);
    }
    return out;
}

}  // namespace

TEST_CASE("lab: up and down leave nothing behind", "[lab]") {
    std::string id;
    std::vector<std::pair<pid_t, unsigned long long>> processes;
    std::string loop;
    {
        Lab lab(quick(true, true));
        id = lab.run_id();
        loop = lab.loop_device();
        REQUIRE(!loop.empty());
        for (const auto& h : lab.hosts()) {
            REQUIRE(lab.powered(h));
            pid_t p = lab.init_pid(h);
            REQUIRE(p > 0);
            processes.emplace_back(p, process_start_time(p));
        }
        auto sleeper = lab.spawn_in(kN1, {"sleep", "1000"});
        processes.emplace_back(sleeper.pid, process_start_time(sleeper.pid));
        // A mount inside a host, as the daemon makes: it must die with the host.
        auto r = lab.exec_in(kN1, {"mount", loop, lab.mountpoint()});
        INFO(r.describe() << r.err);
        REQUIRE(r.success());
        REQUIRE(!leftovers(id).empty());  // the checker sees a live lab
        auto left = lab.down();
        INFO(joined(left));
        REQUIRE(left.empty());
    }
    auto left = leftovers_after(5s, id, processes);
    INFO(joined(left));
    CHECK(left.empty());
}

TEST_CASE("lab: hosts are machines with names and their own /proc /sys folders and one key", "[lab]") {
    Lab lab(quick());
    for (const char* h : {kN1, kN2}) {
        auto r = lab.exec_in(h, {"hostname"});
        REQUIRE(r.success());
        CHECK(r.out == std::string(h) + "\n");
        // Its own PID namespace: PID 1 is the lab's init, and /proc shows only the host.
        r = lab.exec_in(h, {"cat", "/proc/1/comm"});
        CHECK(r.out == "veeam-ha-lab-in\n");
        // /sys of its own network namespace.
        r = lab.exec_in(h, {"ls", "/sys/class/net"});
        CHECK(r.out == "eth0\neth1\nlo\n");
    }
    // The same key in both /etc/veeam-ha (bind mounts of different folders).
    auto k1 = lab.exec_in(kN1, {"cat", "/etc/veeam-ha/authkey"});
    auto k2 = lab.exec_in(kN2, {"cat", "/etc/veeam-ha/authkey"});
    REQUIRE(k1.success());
    CHECK(k1.out.size() == 32);
    CHECK(k1.out == k2.out);
    struct stat st{};
    REQUIRE(::stat((lab.host_etc(kN1) + "/authkey").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // Private state and run folders: what n1 writes, n2 does not see.
    REQUIRE(lab.exec_in(kN1, {"touch", "/var/lib/veeam-ha/n1-was-here", "/run/veeam-ha/n1-sock"}).success());
    CHECK(fs::exists(lab.host_state(kN1) + "/n1-was-here"));
    CHECK(!lab.exec_in(kN2, {"test", "-e", "/var/lib/veeam-ha/n1-was-here"}).success());
    CHECK(!lab.exec_in(kN2, {"test", "-e", "/run/veeam-ha/n1-sock"}).success());
    CHECK(!fs::exists("/var/lib/veeam-ha/n1-was-here"));  // the machine's own folder untouched
    // exec_in reports the command's exit code; a host that is off runs nothing.
    CHECK(lab.exec_in(kN1, {"sh", "-c", "exit 3"}).exit_code == 3);
    lab.kill(kN2);
    auto off = lab.exec_in(kN2, {"true"});
    CHECK(!off.success());
    CHECK_THROWS(lab.spawn_in(kN2, {"sleep", "1"}));
}

// veeam-had adopts a running group only after a daemon restart in the same boot, and stops
// what it finds after a reboot (the OS started it). The hosts share one kernel, so the lab
// must give each power-on an id of its own, or every reboot would look like a restart.
TEST_CASE("lab: every power-on is a new boot id, and a restarted process sees the same one", "[lab]") {
    Lab lab(quick());
    auto boot_id = [&](const std::string& h) {
        auto r = lab.exec_in(h, {"cat", "/proc/sys/kernel/random/boot_id"});
        INFO(h << ": " << r.describe() << r.err);
        REQUIRE(r.success());
        return r.out;
    };
    const std::string machine = slurp("/proc/sys/kernel/random/boot_id");
    const std::string n1 = boot_id(kN1), n2 = boot_id(kN2);
    CHECK(n1.size() == 37);  // a UUID and a newline, as the kernel writes it
    CHECK(n1 != machine);
    CHECK(n2 != machine);
    CHECK(n1 != n2);
    CHECK(slurp(lab.boot_id_file(kN1)) == n1);
    // Another process of the same power-on (what a daemon restart is): the same id. A
    // long-running one too, started before the next reads.
    auto daemon = lab.spawn_in(kN1, {"sleep", "1000"});
    CHECK(boot_id(kN1) == n1);
    REQUIRE(lab.signal(daemon.pid, SIGKILL));
    REQUIRE(lab.wait_exit(daemon.pid, base::Clock::now() + 5s));
    CHECK(boot_id(kN1) == n1);
    // Read-only, like the kernel's.
    CHECK(!lab.exec_in(kN1, {"sh", "-c", "echo x > /proc/sys/kernel/random/boot_id"}).success());
    CHECK(boot_id(kN1) == n1);

    // Power off and on: a new boot. The other host's boot is untouched.
    lab.kill(kN1);
    lab.power_on(kN1);
    const std::string n1_again = boot_id(kN1);
    CHECK(n1_again.size() == 37);
    CHECK(n1_again != n1);
    CHECK(n1_again != machine);
    CHECK(boot_id(kN2) == n2);
    CHECK(boot_id(kN1) == n1_again);
}

TEST_CASE("lab: both links and the gateway are reachable and link 1 only between the hosts", "[lab]") {
    Lab lab(quick());
    for (auto [from, to] : {std::pair{kN1, kN2}, std::pair{kN2, kN1}}) {
        INFO(from << " -> " << to);
        CHECK(ping(lab, from, lab.address(to, kLan)));
        CHECK(ping(lab, from, lab.address(to, kHeartbeat)));
        CHECK(ping(lab, from, lab.gateway()));
    }
    CHECK(ping(lab, kClient, lab.gateway()));
    CHECK(ping(lab, kClient, lab.address(kN1, kLan)));
    CHECK(unreachable(lab, kClient, lab.address(kN1, kHeartbeat)));  // the gateway routes nothing
}

TEST_CASE("lab: cut heal isolate heartbeat-cut and loss", "[lab]") {
    Lab lab(quick());
    auto sleeper = lab.spawn_in(kN1, {"sleep", "1000"});

    SECTION("cut and heal a link") {
        lab.cut(kHeartbeat);
        CHECK(port_state(lab, "n1-1") == "DOWN");
        CHECK(unreachable(lab, kN1, lab.address(kN2, kHeartbeat)));
        CHECK(ping(lab, kN1, lab.address(kN2, kLan)));
        lab.heal(kHeartbeat);
        CHECK(ping(lab, kN1, lab.address(kN2, kHeartbeat)));

        lab.cut(kLan);
        CHECK(unreachable(lab, kN1, lab.gateway()));
        CHECK(unreachable(lab, kN1, lab.address(kN2, kLan)));
        CHECK(ping(lab, kN1, lab.address(kN2, kHeartbeat)));
        CHECK(ping(lab, kClient, lab.gateway()));  // the client's cable is not the hosts'
        CHECK(unreachable(lab, kClient, lab.address(kN2, kLan)));
        // The host sees a pulled cable: its NIC is up but has no carrier.
        auto r = lab.exec_in(kN1, {"ip", "-o", "link", "show", "eth0"});
        CHECK(r.out.find("NO-CARRIER") != std::string::npos);
        lab.heal(kLan);
        CHECK(ping(lab, kN1, lab.gateway()));
    }
    SECTION("isolate a host: cables pulled, processes alive") {
        lab.isolate(kN1);
        CHECK(unreachable(lab, kN1, lab.gateway()));
        CHECK(unreachable(lab, kN1, lab.address(kN2, kLan)));
        CHECK(unreachable(lab, kN1, lab.address(kN2, kHeartbeat)));
        CHECK(ping(lab, kN2, lab.gateway()));
        CHECK(lab.running(sleeper.pid));
        CHECK(lab.powered(kN1));
        lab.reconnect(kN1);
        CHECK(ping(lab, kN1, lab.gateway()));
        CHECK(ping(lab, kN1, lab.address(kN2, kHeartbeat)));
    }
    SECTION("heartbeat cut: cluster traffic dropped on both links, the rest flows") {
        for (const auto& a : {lab.address(kN2, kLan), lab.address(kN2, kHeartbeat)})
            REQUIRE(udp_delivered(lab, kN1, kN2, a, 5409));
        lab.cut_heartbeat();
        for (const auto& a : {lab.address(kN2, kLan), lab.address(kN2, kHeartbeat)}) {
            INFO(a);
            CHECK(!udp_delivered(lab, kN1, kN2, a, 5409));
            CHECK(!tcp_connects(lab, kN1, kN2, a, 5409));
            CHECK(udp_delivered(lab, kN1, kN2, a, 5410));
            CHECK(tcp_connects(lab, kN1, kN2, a, 5410));
        }
        CHECK(!udp_delivered(lab, kN2, kN1, lab.address(kN1, kHeartbeat), 5409));
        CHECK(ping(lab, kN1, lab.address(kN2, kHeartbeat)));
        CHECK(ping(lab, kN1, lab.gateway()));
        lab.heal_heartbeat();
        CHECK(udp_delivered(lab, kN1, kN2, lab.address(kN2, kHeartbeat), 5409));
    }
    SECTION("loss on a link") {
        lab.loss(kHeartbeat, 100);
        CHECK(unreachable(lab, kN1, lab.address(kN2, kHeartbeat)));
        CHECK(ping(lab, kN1, lab.address(kN2, kLan)));
        lab.loss(kHeartbeat, 30);
        auto r = lab.exec_in(kN1, {"iptables", "-S", "VHL-LOSS"});
        // iptables prints the probability as the kernel stores it (0.29999999981).
        CHECK((r.out.find("-i eth1 -m statistic --mode random --probability 0.3") != std::string::npos ||
               r.out.find("-i eth1 -m statistic --mode random --probability 0.2999") != std::string::npos));
        lab.loss(kHeartbeat, 0);
        CHECK(ping(lab, kN1, lab.address(kN2, kHeartbeat)));
    }
    CHECK(lab.running(sleeper.pid));
}

TEST_CASE("lab: vCenter power-off kills the host before the fence call returns and power-on boots it", "[lab]") {
    std::atomic<int> booted{0};
    LabOptions o = quick(true, false);
    o.on_power_on = [&](const std::string& h) {
        if (h == kN1) ++booted;
    };
    Lab lab(o);
    fencing::VSphereFencer fencer(lab.vsphere(), lab.vm_uuids());
    // The simulator answers from both hosts, over the LAN, with the lab's certificate.
    for (const char* h : {kN1, kN2}) {
        INFO(h);
        auto list = in_netns(lab.netns(h), [&] { return fencer.list(base::Clock::now() + 20s); });
        INFO(list.error);
        REQUIRE(list.ok);
        int found = 0;
        for (const auto& vm : list.vms)
            if ((vm.name == kN1 || vm.name == kN2) && vm.bios_uuid == lab.vm_uuid(vm.name) &&
                vm.state == fencing::PowerState::On)
                ++found;
        CHECK(found == 2);
        // The host's own CA file, as the daemon will use it.
        auto r = lab.exec_in(h,
                             {"openssl", "s_client", "-connect", lab.gateway() + ":443", "-CAfile",
                              "/etc/veeam-ha/vcenter-ca.pem", "-verify_return_error", "-brief"},
                             15s);
        INFO(r.err);
        CHECK(r.success());
    }

    auto sleeper = lab.spawn_in(kN1, {"sleep", "1000"});
    pid_t old_init = lab.init_pid(kN1);
    // n2 fences n1, as its daemon would.
    auto fence = in_netns(lab.netns(kN2), [&] { return fencer.off(kN1, base::Clock::now() + 30s); });
    auto returned = base::Clock::now();
    // Checked right after the call, without waiting: done before the task completed.
    CHECK(!lab.running(sleeper.pid));
    CHECK(!lab.powered(kN1));
    CHECK(lab.init_pid(kN1) == 0);
    CHECK(lab.vm_off(kN1));
    CHECK(port_state(lab, "n1-0") == "DOWN");
    CHECK(port_state(lab, "n1-1") == "DOWN");
    INFO(fence.detail);
    REQUIRE(fence.confirmed);
    CHECK(fence.state == fencing::PowerState::Off);
    bool off_before_return = false;
    for (const auto& e : lab.events())
        if (e.text.rfind("power-off n1 (vCenter", 0) == 0) off_before_return = e.at <= returned;
    CHECK(off_before_return);
    CHECK(!cgroup_populated(lab.cgroup(kN1)));
    CHECK(unreachable(lab, kClient, lab.address(kN1, kLan)));
    CHECK(ping(lab, kN2, lab.gateway()));

    // power_on goes through the simulator (its VM is off there), whose hook boots the host.
    lab.power_on(kN1);
    CHECK(lab.powered(kN1));
    CHECK(!lab.vm_off(kN1));
    CHECK(lab.init_pid(kN1) != old_init);
    CHECK(booted == 1);
    auto st = in_netns(lab.netns(kN2), [&] { return fencer.status(kN1, base::Clock::now() + 20s); });
    CHECK(st.state == fencing::PowerState::On);
    CHECK(ping(lab, kN2, lab.address(kN1, kHeartbeat)));

    // A fence with action reboot: off (host killed) then on (host booted), both by hooks.
    pid_t before = lab.init_pid(kN1);
    const std::string boot_before = slurp(lab.boot_id_file(kN1));
    auto reboot = in_netns(lab.netns(kN2), [&] { return fencer.reboot(kN1, base::Clock::now() + 30s); });
    INFO(reboot.detail);
    CHECK(reboot.confirmed);
    CHECK(lab.powered(kN1));
    CHECK(lab.init_pid(kN1) != before);
    CHECK(lab.exec_in(kN1, {"cat", "/proc/sys/kernel/random/boot_id"}).out != boot_before);  // a new boot
    CHECK(booted == 2);

    // A crash leaves the VM on in vCenter (a crashed guest); power_on boots it directly.
    lab.kill(kN1);
    CHECK(!lab.vm_off(kN1));
    lab.power_on(kN1);
    CHECK(booted == 3);
    CHECK(ping(lab, kN1, lab.gateway()));
}

TEST_CASE("lab: vCenter can be made unreachable while the gateway answers ping", "[lab]") {
    Lab lab(quick(true, false));
    auto settings = lab.vsphere();
    settings.call_timeout = 1000ms;
    fencing::VSphereFencer fencer(settings, lab.vm_uuids());
    lab.block_vcenter(true);
    auto st = in_netns(lab.netns(kN2), [&] { return fencer.status(kN1, base::Clock::now() + 3s); });
    CHECK(!st.confirmed);
    CHECK(ping(lab, kN2, lab.gateway()));
    lab.block_vcenter(false);
    st = in_netns(lab.netns(kN2), [&] { return fencer.status(kN1, base::Clock::now() + 20s); });
    INFO(st.detail);
    CHECK(st.confirmed);
}

TEST_CASE("lab: the generated config", "[lab]") {
    Lab lab(quick(true, true));
    YAML::Node y = YAML::LoadFile(lab.config_path());
    config::Config c = lab.config();
    CHECK(y["cluster"]["name"].as<std::string>() == c.cluster.name);
    CHECK(y["cluster"]["key_file"].as<std::string>() == "/etc/veeam-ha/authkey");
    REQUIRE(y["nodes"].size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        CHECK(y["nodes"][i]["name"].as<std::string>() == c.nodes[i].name);
        CHECK(y["nodes"][i]["addresses"].as<std::vector<std::string>>() == c.nodes[i].addresses);
        CHECK(y["nodes"][i]["vm_uuid"].as<std::string>() == c.nodes[i].vm_uuid);
    }
    CHECK(config::parse_duration(y["heartbeat"]["interval"].as<std::string>()) == config::HeartbeatSection{}.interval);
    CHECK(y["heartbeat"]["timeout"].as<std::string>() == "1s");
    CHECK(y["fencing"]["delay"].as<std::string>() == "2s");
    CHECK(y["fencing"]["vsphere"]["host"].as<std::string>() == lab.gateway());
    CHECK(y["fencing"]["vsphere"]["ca_file"].as<std::string>() == "/etc/veeam-ha/vcenter-ca.pem");
    CHECK(y["policy"]["ping_targets"][0].as<std::string>() == lab.gateway());
    REQUIRE(y["resources"].size() == 3);
    CHECK(y["resources"][0]["filesystem"]["device"].as<std::string>() == lab.loop_device());
    CHECK(y["resources"][0]["filesystem"]["mountpoint"].as<std::string>() == lab.mountpoint());
    CHECK(y["resources"][1]["ip"]["address"].as<std::string>() == lab.floating_cidr());
    CHECK(y["resources"][1]["ip"]["interface"].as<std::string>() == "eth0");
    auto start = y["resources"][2]["exec"]["start"].as<std::vector<std::string>>();
    REQUIRE(start.size() == 4);
    CHECK(start[0] == lab.repo_service());
    CHECK(::access(start[0].c_str(), X_OK) == 0);
    // The files the config names exist, 0600, in each host's own /etc/veeam-ha.
    for (const char* h : {kN1, kN2})
        for (const char* f : {"authkey", "vcenter.pass"}) {
            auto r = lab.exec_in(h, {"stat", "-c", "%a", std::string("/etc/veeam-ha/") + f});
            CHECK(r.out == "600\n");
        }
    CHECK(lab.exec_in(kN1, {"test", "-s", "/etc/veeam-ha/vcenter-ca.pem"}).success());
    auto loaded = config::load_file(lab.config_path(), config::LoadOptions{false});
    std::string errors;
    for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
    INFO(errors);
    REQUIRE(loaded.config);
    CHECK(loaded.config->resources.size() == 3);
    CHECK(loaded.config->nodes[1].addresses == c.nodes[1].addresses);
}

// ---- tear-down after a failure and after a crash (children of this test program) ----------

TEST_CASE("lab child: failing test", "[.][lab_child]") {
    Lab lab(quick(true, true));
    auto s = lab.spawn_in(kN1, {"sleep", "1000"});
    child_report(lab, {lab.init_pid(kN1), lab.init_pid(kN2), lab.init_pid(kClient), s.pid});
    REQUIRE(lab.exec_in(kN1, {"mount", lab.loop_device(), lab.mountpoint()}).success());
    REQUIRE(1 == 2);  // fails on purpose: the destructor must still clean up
}

TEST_CASE("lab child: crash", "[.][lab_child]") {
    Lab lab(quick(true, true));
    auto s = lab.spawn_in(kN1, {"sleep", "1000"});
    REQUIRE(lab.exec_in(kN1, {"mount", lab.loop_device(), lab.mountpoint()}).success());
    child_report(lab, {lab.init_pid(kN1), lab.init_pid(kN2), lab.init_pid(kClient), s.pid});
    ::kill(::getpid(), SIGKILL);  // no unwinding at all
}

TEST_CASE("lab: a failed REQUIRE still tears everything down", "[lab]") {
    base::ProcessResult r;
    auto lines = run_child("lab child: failing test", &r);
    INFO(r.describe() << "\n" << r.out.substr(0, 3000));
    REQUIRE(lines.size() >= 5);
    CHECK(r.ended == base::ProcessResult::Ended::Exited);
    CHECK(r.exit_code != 0);  // the test failed as it should
    auto left = leftovers_after(5s, lines[0], parse_processes(lines));
    INFO(joined(left));
    CHECK(left.empty());
}

TEST_CASE("lab: after a crash the hosts die at once and the next lab removes the rest", "[lab]") {
    base::ProcessResult r;
    auto lines = run_child("lab child: crash", &r);
    INFO(r.describe() << "\n" << r.err.substr(0, 3000));
    REQUIRE(lines.size() >= 5);
    CHECK(r.ended == base::ProcessResult::Ended::Signaled);
    auto processes = parse_processes(lines);
    // Host processes die with the lab process (their inits' parent-death signal), the
    // simulator with its stdin.
    bool dead = eventually(10s, [&] {
        for (const auto& [pid, start] : processes)
            if (process_start_time(pid) == start) return false;
        return true;
    });
    CHECK(dead);
    CHECK(!leftovers(lines[0]).empty());  // namespaces, loop device, folders remain...
    auto did = Lab::cleanup_stale();      // ...until the next lab starts
    INFO(joined(did));
    CHECK(!did.empty());
    auto left = leftovers_after(5s, lines[0], processes);
    INFO(joined(left));
    CHECK(left.empty());
}
