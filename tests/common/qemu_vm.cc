// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/common/qemu_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace veeamha::test {
namespace {
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
}  // namespace

QemuVm::QemuVm(Spec spec) : spec_(std::move(spec)) {
    socket_path_ = spec_.run_dir + "/" + spec_.name + ".ctl";
    console_path_ = spec_.run_dir + "/" + spec_.name + ".console";
    qemu_log_ = spec_.run_dir + "/" + spec_.name + ".qemu.log";
    ::unlink(socket_path_.c_str());

    std::vector<std::string> args;
    if (!spec_.netns.empty()) args = {"ip", "netns", "exec", spec_.netns};  // execs qemu: same PID
    std::string append = spec_.append.empty() ? "console=ttyS0 quiet panic=-1 veeamha.node=" + spec_.name : spec_.append;
    args.insert(args.end(), {"qemu-system-x86_64", "-accel", "tcg", "-m", std::to_string(spec_.memory_mib), "-smp",
                             "1", "-kernel", spec_.kernel, "-initrd", spec_.initrd, "-append", append, "-display",
                             "none", "-vga", "none", "-nic", "none"});
    args.insert(args.end(), spec_.extra_args.begin(), spec_.extra_args.end());
    if (!spec_.disk.empty()) {
        // The shared LUN: no image locking, shared writes allowed, no host cache.
        args.insert(args.end(), {"-drive", "file=" + spec_.disk + ",format=raw,if=none,id=d0,cache=none,file.locking=off",
                                 "-device", "virtio-blk-pci,drive=d0,share-rw=on"});
    }
    if (spec_.exit_on_reboot) args.push_back("-no-reboot");
    args.insert(args.end(), {"-chardev", "file,id=con,path=" + console_path_ + ",append=on", "-serial", "chardev:con",
                             "-chardev", "socket,id=ctl,path=" + socket_path_ + ",server=on,wait=on",
                             "-serial", "chardev:ctl"});
    for (size_t i = 0; i < spec_.serial_sockets.size(); ++i) {
        const std::string id = "ser" + std::to_string(i + 2);
        ::unlink(spec_.serial_sockets[i].c_str());
        args.insert(args.end(), {"-chardev", "socket,id=" + id + ",path=" + spec_.serial_sockets[i] + ",server=on,wait=off",
                                 "-serial", "chardev:" + id});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, qemu_log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error(std::string("cannot start qemu-system-x86_64: ") + std::strerror(rc));
    }

    // qemu creates the socket and waits for us before it starts the guest.
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
    auto until = Clock::now() + 30s;
    while (fd_ < 0) {
        if (!qemu_alive()) fail("qemu exited before its control socket was up");
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            fd_ = fd;
            break;
        }
        ::close(fd);
        if (Clock::now() >= until) fail("cannot connect to " + socket_path_);
        std::this_thread::sleep_for(20ms);
    }
}

QemuVm::~QemuVm() {
    if (fd_ >= 0) ::close(fd_);
    power_off_hard();
    ::unlink(socket_path_.c_str());
}

void QemuVm::power_off_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

bool QemuVm::qemu_alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

std::string QemuVm::console_tail(size_t bytes) const {
    std::string out;
    for (const auto& path : {console_path_, qemu_log_}) {
        std::ifstream f(path);
        std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (all.size() > bytes) all = all.substr(all.size() - bytes);
        out += "--- " + path + " ---\n" + all + "\n";
    }
    return out;
}

void QemuVm::fail(const std::string& what) const {
    throw std::runtime_error("VM " + spec_.name + ": " + what + "\n" + console_tail());
}

bool QemuVm::read_some(Clock::time_point until) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
        if (r < 0 && errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
        if (r > 0) {
            char buf[4096];
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n > 0) {
                buffer_.append(buf, static_cast<size_t>(n));
                if (buffer_.size() > (8u << 20)) fail("more than 8 MiB of unanswered output");
                return true;
            }
            if (n == 0) fail("command channel closed (VM powered off?)");
        }
        if (!qemu_alive()) fail("qemu exited");
    }
}

void QemuVm::wait_ready(std::chrono::seconds timeout) {
    if (!ready_within(timeout)) fail("not ready after " + std::to_string(timeout.count()) + " s");
}

bool QemuVm::ready_within(std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (buffer_.find("@@READY") == std::string::npos) {
        if (!read_some(until)) return false;
    }
    size_t eol = buffer_.find('\n', buffer_.find("@@READY"));
    while (eol == std::string::npos) {
        if (!read_some(until)) fail("incomplete ready line");
        eol = buffer_.find('\n', buffer_.find("@@READY"));
    }
    buffer_.erase(0, eol + 1);
    return true;
}

VmReply QemuVm::run(const std::string& command, std::chrono::seconds timeout) {
    if (command.find('\n') != std::string::npos) fail("a command must be one line");
    const std::string id = std::to_string(next_id_++);
    std::string line = id + " " + command + "\n";
    for (size_t sent = 0; sent < line.size();) {
        ssize_t n = ::write(fd_, line.data() + sent, line.size() - sent);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(std::string("write to the command channel: ") + std::strerror(errno));
        sent += static_cast<size_t>(n);
    }
    const std::string begin = "@@BEGIN " + id + "\n";
    const std::string end = "\n@@END " + id + " ";
    auto until = Clock::now() + timeout;
    for (;;) {
        size_t b = buffer_.find(begin);
        size_t e = b == std::string::npos ? std::string::npos : buffer_.find(end, b);
        size_t eol = e == std::string::npos ? std::string::npos : buffer_.find('\n', e + end.size());
        if (eol != std::string::npos) {
            VmReply reply;
            reply.output = buffer_.substr(b + begin.size(), e - b - begin.size());
            reply.exit_code = std::atoi(buffer_.substr(e + end.size(), eol - e - end.size()).c_str());
            buffer_.erase(0, eol + 1);
            return reply;
        }
        if (!read_some(until)) fail("`" + command + "` did not finish within " + std::to_string(timeout.count()) + " s");
    }
}

}  // namespace veeamha::test
