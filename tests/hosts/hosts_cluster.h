// SPDX-License-Identifier: GPL-2.0-or-later
// The hosts tier's fixture: two Debian 12 VMs (qemu TCG, the cached image of image/build-image.sh
// with a qcow2 overlay each) that share one raw disk, on two links (two bridges with tap
// devices, in a network namespace the fixture owns; the namespace itself is the "outside": the
// vCenter simulator, the ping target and the client live there). Each VM is driven through the
// command agent on its second serial port and sees the run folder's share/ at /host (9p).
// Destruction kills the qemu processes it started, then removes the namespace (with its
// bridges and taps) and the run folder, also when a test failed half-way.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/common/qemu_vm.h"

namespace veeamha::test {

// One host: a VM that may be powered off and on again (a new qemu process, the same disks).
struct HostVm {
    std::string name;      // node name = host name = LVM system ID, e.g. vbr-repo-1.vmik.lab
    std::string short_name;  // for files and taps: a, b
    std::vector<std::string> addresses;  // link 0, link 1
    QemuVm::Spec spec;
    std::unique_ptr<QemuVm> vm;  // null while powered off
};

class HostsCluster {
public:
    // The run's folder is /var/tmp/veeamha-hosts-PID and its namespace vhosts-PID (this process's
    // PID), made empty; first, what killed runs left is swept away (sweep_stale). The image comes
    // from image/build-image.sh.
    HostsCluster(std::string image, std::string kernel, std::string initrd);
    ~HostsCluster();
    HostsCluster(const HostsCluster&) = delete;
    HostsCluster& operator=(const HostsCluster&) = delete;

    const std::string& netns() const { return netns_; }
    const std::string& run_dir() const { return run_dir_; }
    // Folder the VMs see at /host (read-only).
    std::string share_dir() const { return run_dir_ + "/share"; }
    // Gateway of link 0 in the namespace: vCenter and the ping target.
    static constexpr const char* kGateway = "192.168.22.1";
    static constexpr const char* kFloatingIp = "192.168.22.208";
    // The bridge of link 0 or 1 in the namespace (more addresses of the outside go there).
    static std::string bridge(int link) { return "br" + std::to_string(link); }

    HostVm& host(size_t i) { return hosts_.at(i); }
    HostVm& host(const std::string& name);

    // Starts qemu for the host (its agent waits for the boot to finish: use wait_booted).
    void power_on(HostVm& h);
    void wait_booted(HostVm& h, std::chrono::seconds timeout);
    // SIGKILL to that qemu, as a power loss (no-op when off).
    void power_off(HostVm& h);
    // SIGSTOP to that qemu: the host hangs, powered but silent on every link (what only a fence
    // resolves); SIGKILL still ends it (power_off, or a BMC's power-off).
    void freeze(HostVm& h);
    // Pid file the vCenter simulator's power-off hook reads: `kill -9` of that qemu.
    std::string pid_file(const HostVm& h) const;
    // The serial port (ttyS2 in the VM) the double-activation watcher writes to.
    std::string watch_socket(const HostVm& h) const { return run_dir_ + "/" + h.short_name + ".watch"; }

    // Runs a command in the host; throws if it is powered off.
    VmReply run(HostVm& h, const std::string& command, std::chrono::seconds timeout = std::chrono::seconds(180));

    // What a run killed without unwinding (SIGKILL, a CTest timeout) left: for each namespace
    // vhosts-PID and folder /var/tmp/veeamha-hosts-PID whose PID no longer exists, the processes
    // still in that namespace (its qemus, simulator, BMCs) are killed, then the namespace and the
    // folder are removed. A PID that exists may be a live run: nothing of it is touched. Returns
    // what was done, a line each.
    static std::vector<std::string> sweep_stale();
    static constexpr const char* kNetnsPrefix = "vhosts-";
    static constexpr const char* kRunDirPrefix = "/var/tmp/veeamha-hosts-";

private:
    void make_network();

    std::string run_dir_;
    std::string image_, kernel_, initrd_;
    std::string netns_;
    std::vector<HostVm> hosts_;
};

// Progress lines on stderr with the time since the test program started.
void progress(const std::string& what);
// A progress line that also starts a phase of the run (ending the one before); phase_table()
// gives each phase's seconds, for the log and docs/hosts.md's Time (never asserted).
void phase(const std::string& what);
std::string phase_table();

}  // namespace veeamha::test
