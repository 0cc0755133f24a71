// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/hosts/hosts_cluster.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "base/process.h"
#include "storage/filesystem/holders.h"
#include "tests/common/stale_runs.h"

namespace veeamha::test {
namespace {

using namespace std::chrono_literals;
const auto g_t0 = std::chrono::steady_clock::now();

void must(std::vector<std::string> argv) {
    base::ProcessSpec p;
    p.argv = argv;
    p.deadline = base::Clock::now() + 60s;
    base::ProcessResult r = base::run_process(p);
    if (!r.success()) {
        std::string line;
        for (const auto& a : argv) line += a + " ";
        throw std::runtime_error(line + ": " + r.describe() + "\n" + r.err);
    }
}

// The processes in the network namespace with this inode (what `ip netns pids` reads). A zombie
// has no namespaces left: it is not listed.
std::vector<storage::filesystem::Holder> processes_in_netns(ino_t netns) {
    return find_processes(
        [netns](pid_t pid) {
            struct stat st{};
            return ::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0 && st.st_ino == netns;
        },
        "netns");
}

// Stops every process in the namespace (SIGTERM, then SIGKILL at once, through pidfds; exits
// waited for as events) until `until`; returns how many are left in it.
size_t empty_netns(ino_t netns, base::Deadline until) {
    storage::filesystem::stop_holders(processes_in_netns(netns), std::chrono::milliseconds(0), until);
    return processes_in_netns(netns).size();
}

}  // namespace

std::vector<std::string> HostsCluster::sweep_stale() {
    std::vector<std::string> did;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
        const std::string ns = e.path().filename().string();
        const pid_t owner = run_owner(ns, kNetnsPrefix);
        if (owner <= 0 || !pid_gone(owner)) continue;
        struct stat st{};
        if (::stat(e.path().c_str(), &st) != 0) continue;
        // Its processes were started by the dead run.
        if (const size_t left = empty_netns(st.st_ino, base::Clock::now() + 10s)) {
            did.push_back("netns " + ns + ": " + std::to_string(left) + " process(es) did not die; left in place");
            continue;
        }
        base::ProcessSpec p;
        p.argv = {"ip", "netns", "del", ns};
        p.deadline = base::Clock::now() + 30s;
        const base::ProcessResult r = base::run_process(p);
        did.push_back((r.success() ? "deleted netns " : "could not delete netns " + r.describe() + ": ") + ns);
    }
    for (auto& line : sweep_stale_runs(kRunDirPrefix)) did.push_back(std::move(line));
    return did;
}

void progress(const std::string& what) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_t0).count();
    std::fprintf(stderr, "[hosts +%6.1fs] %s\n", s, what.c_str());
    std::fflush(stderr);
}

namespace {
std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> g_phases;
}

void phase(const std::string& what) {
    progress(what);
    g_phases.emplace_back(what, std::chrono::steady_clock::now());
}

std::string phase_table() {
    std::string out = "phases (seconds)\n";
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < g_phases.size(); ++i) {
        const auto end = i + 1 < g_phases.size() ? g_phases[i + 1].second : now;
        char line[160];
        std::snprintf(line, sizeof line, "  %7.1f  %s\n", std::chrono::duration<double>(end - g_phases[i].second).count(),
                      g_phases[i].first.substr(0, 120).c_str());
        out += line;
    }
    char total[64];
    std::snprintf(total, sizeof total, "  %7.1f  total\n", std::chrono::duration<double>(now - g_t0).count());
    return out + total;
}

HostsCluster::HostsCluster(std::string image, std::string kernel, std::string initrd)
    : run_dir_(kRunDirPrefix + std::to_string(::getpid())),
      image_(std::move(image)),
      kernel_(std::move(kernel)),
      initrd_(std::move(initrd)),
      netns_(kNetnsPrefix + std::to_string(::getpid())) {
    for (const auto& line : sweep_stale()) progress("stale run: " + line);
    std::filesystem::remove_all(run_dir_);
    std::filesystem::create_directories(share_dir());
    // The shared LUN: one raw disk, two partitions (one PV per VG), as the article's SAN.
    const std::string disk = run_dir_ + "/shared.img";
    must({"truncate", "-s", "1400M", disk});
    base::ProcessSpec sf;
    sf.argv = {"sfdisk", "-q", disk};
    sf.stdin_data = "label: gpt\nsize=600M, name=vbr\nname=repo\n";
    sf.deadline = base::Clock::now() + 30s;
    base::ProcessResult r = base::run_process(sf);
    if (!r.success()) throw std::runtime_error("sfdisk " + disk + ": " + r.describe() + "\n" + r.err);

    const char* names[] = {"vbr-repo-1.vmik.lab", "vbr-repo-2.vmik.lab"};
    const char* shorts[] = {"a", "b"};
    for (size_t i = 0; i < 2; ++i) {
        HostVm h;
        h.name = names[i];
        h.short_name = shorts[i];
        h.addresses = {"192.168.22.20" + std::to_string(i + 1), "10.10.10." + std::to_string(i + 1)};
        const std::string overlay = run_dir_ + "/root-" + h.short_name + ".qcow2";
        must({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image_, overlay});
        h.spec.name = h.short_name;
        h.spec.kernel = kernel_;
        h.spec.initrd = initrd_;
        h.spec.disk = disk;
        h.spec.run_dir = run_dir_;
        h.spec.memory_mib = 768;
        h.spec.netns = netns_;
        h.spec.exit_on_reboot = false;
        h.spec.serial_sockets = {run_dir_ + "/" + h.short_name + ".watch"};
        // Drivers for the PC's legacy devices the hosts do not use: udev loads them at every boot,
        // which costs seconds of the emulated CPU (docs/hosts.md, Time).
        h.spec.append = "console=ttyS0 root=/dev/vda rw quiet net.ifnames=0 panic=-1 systemd.hostname=" + h.name +
                        " modprobe.blacklist=ata_piix,ata_generic,pcspkr,psmouse,serio_raw,i2c_piix4,evdev,button,cfg80211";
        h.spec.extra_args = {
            // No default floppy, CD-ROM, parallel port or monitor (their drivers cost boot time);
            // no SVM in the CPU model, so udev does not load kvm_amd and kvm into the guest.
            "-nodefaults", "-cpu", "qemu64,-svm",
            // The root disk first: /dev/vda; the shared LUN is /dev/vdb.
            "-drive", "file=" + overlay + ",format=qcow2,if=none,id=root,cache=unsafe",
            "-device", "virtio-blk-pci,drive=root",
            "-virtfs", "local,path=" + share_dir() + ",mount_tag=host,security_model=none,readonly=on"};
        for (int link = 0; link < 2; ++link) {
            const std::string n = std::to_string(link);
            h.spec.extra_args.insert(h.spec.extra_args.end(),
                                     {"-netdev", "tap,id=n" + n + ",ifname=tap-" + h.short_name + n + ",script=no,downscript=no",
                                      "-device", "virtio-net-pci,netdev=n" + n + ",mac=52:54:00:00:0" + std::to_string(i + 1) + ":0" + n});
        }
        hosts_.push_back(std::move(h));
    }
    make_network();
}

HostsCluster::~HostsCluster() {
    for (auto& h : hosts_) h.vm.reset();  // kills its qemu (only the PIDs started here)
    base::ProcessSpec p;
    p.argv = {"ip", "netns", "del", netns_};
    p.deadline = base::Clock::now() + 30s;
    base::run_process(p);
    if (!std::getenv("VEEAMHA_HOSTS_KEEP")) {
        std::error_code ec;
        std::filesystem::remove_all(run_dir_, ec);
    }
}

void HostsCluster::make_network() {
    must({"ip", "netns", "add", netns_});
    must({"ip", "-n", netns_, "link", "set", "lo", "up"});
    const char* gateways[] = {"192.168.22.1/24", "10.10.10.254/24"};
    for (int link = 0; link < 2; ++link) {
        const std::string br = "br" + std::to_string(link);
        must({"ip", "-n", netns_, "link", "add", br, "type", "bridge"});
        must({"ip", "-n", netns_, "link", "set", br, "up"});
        must({"ip", "-n", netns_, "address", "add", gateways[link], "dev", br});
        for (auto& h : hosts_) {
            const std::string tap = "tap-" + h.short_name + std::to_string(link);
            must({"ip", "-n", netns_, "tuntap", "add", tap, "mode", "tap"});
            must({"ip", "-n", netns_, "link", "set", tap, "master", br, "up"});
        }
    }
}

HostVm& HostsCluster::host(const std::string& name) {
    for (auto& h : hosts_)
        if (h.name == name) return h;
    throw std::runtime_error("no host " + name);
}

std::string HostsCluster::pid_file(const HostVm& h) const { return run_dir_ + "/" + h.name + ".pid"; }

void HostsCluster::power_on(HostVm& h) {
    if (h.vm && h.vm->running()) return;
    h.vm = std::make_unique<QemuVm>(h.spec);
    std::ofstream(pid_file(h)) << h.vm->pid() << "\n";
}

void HostsCluster::wait_booted(HostVm& h, std::chrono::seconds timeout) {
    if (!h.vm) throw std::runtime_error(h.name + " is powered off");
    h.vm->wait_ready(timeout);
}

void HostsCluster::power_off(HostVm& h) {
    std::filesystem::remove(pid_file(h));
    if (h.vm) h.vm->power_off_hard();
    h.vm.reset();
}

void HostsCluster::freeze(HostVm& h) {
    if (!h.vm || !h.vm->running()) throw std::runtime_error(h.name + " is powered off: cannot freeze it");
    if (::kill(h.vm->pid(), SIGSTOP) != 0) throw std::runtime_error("SIGSTOP to " + h.name + "'s qemu failed");
}

VmReply HostsCluster::run(HostVm& h, const std::string& command, std::chrono::seconds timeout) {
    if (!h.vm) throw std::runtime_error(h.name + " is powered off: cannot run " + command);
    return h.vm->run(command, timeout);
}

}  // namespace veeamha::test
