// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture: one small qemu VM under software emulation (TCG) booting a Debian kernel and the
// busybox initramfs of vm/build-vm-fixture.sh, with a raw disk image shared with other VMs
// (share-rw, no image locking: the SAN LUN both hosts see). The host drives it through a
// command channel on the VM's second serial port (vm/agent): run(command) returns the
// command's exit code and output. The console (first serial port) goes to a log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

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
    };

    // Starts qemu and connects to its command channel (qemu waits for that connection).
    explicit QemuVm(Spec spec);
    ~QemuVm();
    QemuVm(const QemuVm&) = delete;
    QemuVm& operator=(const QemuVm&) = delete;

    // Waits for the agent's ready line. Throws with the console tail on timeout or exit.
    void wait_ready(std::chrono::seconds timeout);
    // Runs `command` (one line, busybox sh) in the VM. Throws on timeout or if the VM dies.
    VmReply run(const std::string& command, std::chrono::seconds timeout = std::chrono::seconds(180));
    // SIGKILL to qemu: the VM stops dead, like a host powered off by the fence (no unmount,
    // no deactivation, no cache flush inside the guest).
    void power_off_hard();

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
