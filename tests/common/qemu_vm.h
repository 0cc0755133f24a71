// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture: one qemu VM under software emulation (TCG) booting a Debian kernel, with a raw
// disk image shared with other VMs (share-rw, no image locking: the SAN LUN both hosts see).
// The lvm tier boots the busybox initramfs of tests/resources/lvm/vm/build-vm-fixture.sh, the
// hosts tier a whole Debian system (tests/hosts/image). The host drives it through a command
// channel on the VM's second serial port (an agent in the VM): run(command) returns the
// command's exit code and output. The console (first serial port) is appended to a log file,
// so a VM booted again under the same name keeps its earlier boots' lines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace veeamha::test {

struct VmReply {
    int exit_code = -1;
    std::string output;
};

class QemuVm {
public:
    struct Spec {
        std::string name;      // also the LVM system ID inside (veeamha.node=NAME)
        std::string kernel;
        std::string initrd;
        std::string disk;      // raw image, shared
        std::string run_dir;   // sockets and logs
        int memory_mib = 512;
        // Kernel command line; empty: the lvm tier's (console, veeamha.node=NAME).
        std::string append;
        // More qemu arguments (root disk, network cards, a 9p share), before the shared disk.
        std::vector<std::string> extra_args;
        // Network namespace qemu runs in (its tap devices are there); empty: this one.
        std::string netns;
        // A reboot inside the guest ends qemu (the lvm tier) or boots again (the hosts tier).
        bool exit_on_reboot = true;
        // More serial ports (ttyS2, ttyS3, ...), each a unix socket qemu listens on without
        // waiting (what the guest writes while nobody is connected is lost).
        std::vector<std::string> serial_sockets;
    };

    // Starts qemu and connects to its command channel (qemu waits for that connection).
    explicit QemuVm(Spec spec);
    ~QemuVm();
    QemuVm(const QemuVm&) = delete;
    QemuVm& operator=(const QemuVm&) = delete;

    // Waits for the agent's ready line. Throws with the console tail on timeout or exit.
    void wait_ready(std::chrono::seconds timeout);
    // Whether the agent's ready line arrives within `timeout` (after a reboot in the guest).
    bool ready_within(std::chrono::milliseconds timeout);
    // Runs `command` (one line, busybox sh) in the VM. Throws on timeout or if the VM dies.
    VmReply run(const std::string& command, std::chrono::seconds timeout = std::chrono::seconds(180));
    // SIGKILL to qemu: the VM stops dead, like a host powered off by the fence (no unmount,
    // no deactivation, no cache flush inside the guest).
    void power_off_hard();
    // Whether qemu still runs (false once it exited or was killed).
    bool running() { return qemu_alive(); }
    pid_t pid() const { return pid_; }

    const std::string& name() const { return spec_.name; }
    std::string console_tail(size_t bytes = 3000) const;

private:
    bool read_some(std::chrono::steady_clock::time_point until);  // false on timeout
    bool qemu_alive();
    [[noreturn]] void fail(const std::string& what) const;

    Spec spec_;
    std::string socket_path_;
    std::string console_path_;
    std::string qemu_log_;
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string buffer_;
    int next_id_ = 1;
};

}  // namespace veeamha::test
