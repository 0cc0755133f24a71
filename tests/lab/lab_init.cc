// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-lab-init: the small program that makes a lab "host" behave like a machine.
//
//   init --hostname NAME [--bind SRC DST]... [--boot-id-file PATH] --ready-fd N
//       PID 1 of a host. The lab starts it with clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS)
//       inside the host's network namespace and kill domain (cgroup). It makes its mount table
//       private, drops what it copied of other tests' loop mounts, FUSE disks and netns handles,
//       bind-mounts the per-host folders over the daemon's default paths, mounts /proc and /sys
//       of its own, gives the host a boot id of its own (below), says READY on the fd, then
//       reaps orphans forever (a machine's init does; PID 1 of the real machine reaps only
//       every 1-2 s). Killing it ends every process of the host.
//
//       Boot id: every lab host shares the machine's kernel, so the kernel's
//       /proc/sys/kernel/random/boot_id is the same in all of them and never changes when a
//       host "reboots". veeam-had tells a daemon restart (adopt what runs) from a reboot (stop
//       what the OS started) by that id, so each power-on writes a fresh UUID to PATH (a file
//       of this host in the lab's run folder) and bind-mounts it read-only over boot_id in the
//       host's own /proc. A daemon restart in the same power-on reads the same id; the next
//       power-on writes a new one.
//   enter --cgroup PROCS --target PID [--setsid] -- PROGRAM ARGS...
//       Started by the lab from a thread that already entered the host's PID namespace: joins
//       the host's cgroup, enters its network, UTS and mount namespaces, then execs PROGRAM.
//   hook SOCKET VERB ARGS...
//       The vCenter simulator's power hook: tells the lab (over its control socket) that a VM
//       was powered off or on, and returns only when the lab has done it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/lab/control_codec.h"

namespace {

[[noreturn]] void die(const std::string& what, int code = 126) {
    std::fprintf(stderr, "veeam-ha-lab-init: %s\n", what.c_str());
    std::exit(code);
}

std::string err(const std::string& what) { return what + ": " + std::strerror(errno); }

// Mount points in /proc/self/mountinfo whose source is a loop device, that hold a network
// namespace handle, or that are a lab's FUSE disk (its SAN whose I/O a test can hold): what a
// fresh host must not keep alive for other tests (a FUSE disk held by a host's copy of the
// mount table would outlive its server's unmount).
std::vector<std::string> foreign_mounts() {
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp;
        f >> id >> parent >> dev >> root >> mp;
        size_t dash = line.find(" - ");
        std::string source, fstype;
        if (dash != std::string::npos) {
            std::istringstream t(line.substr(dash + 3));
            t >> fstype >> source;
        }
        bool netns = mp == "/run/netns" || mp.rfind("/run/netns/", 0) == 0 || mp == "/var/run/netns" ||
                     mp.rfind("/var/run/netns/", 0) == 0;
        bool lab_disk = fstype == "fuse.veeam-ha-lab-disk";  // tests/lab/holdfs.cc's subtype
        if (netns || lab_disk || source.rfind("/dev/loop", 0) == 0) out.push_back(mp);
    }
    // Deepest first.
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return out;
}

// A fresh UUID from the machine's kernel, written to `path` (a new file each boot).
std::string write_fresh_boot_id(const std::string& path) {
    std::ifstream in("/proc/sys/kernel/random/uuid");
    std::string uuid;
    std::getline(in, uuid);
    if (uuid.size() != 36) return "read /proc/sys/kernel/random/uuid: got '" + uuid + "'";
    ::unlink(path.c_str());  // the previous boot's file (its mount died with that boot)
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (fd < 0) return err("create " + path);
    std::string text = uuid + "\n";  // the kernel's format
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok ? "" : err("write " + path);
}

int run_init(int argc, char** argv) {
    std::string hostname, boot_id_file;
    std::vector<std::pair<std::string, std::string>> binds;
    int ready_fd = -1;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--hostname" && i + 1 < argc) hostname = argv[++i];
        else if (a == "--bind" && i + 2 < argc) { binds.emplace_back(argv[i + 1], argv[i + 2]); i += 2; }
        else if (a == "--boot-id-file" && i + 1 < argc) boot_id_file = argv[++i];
        else if (a == "--ready-fd" && i + 1 < argc) ready_fd = std::atoi(argv[++i]);
        else die("init: unknown argument " + a);
    }
    if (::getpid() != 1) die("init: must be PID 1 of a new PID namespace");
    auto fail = [&](const std::string& what) {
        std::string msg = "ERR " + what + "\n";
        if (ready_fd >= 0) (void)!::write(ready_fd, msg.data(), msg.size());
        die(what);
    };
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(err("make / private"));
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) != 0) fail(err("sethostname"));
    for (const auto& mp : foreign_mounts()) ::umount2(mp.c_str(), MNT_DETACH);  // best effort
    // An empty /run/netns: `ip` inside the host neither sees nor trips over the machine's
    // namespace handles (left as empty files by the detach above).
    if (::access("/run/netns", F_OK) == 0 &&
        ::mount("tmpfs", "/run/netns", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") != 0)
        fail(err("mount /run/netns"));
    for (const auto& [src, dst] : binds)
        if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) != 0) fail(err("bind " + src + " on " + dst));
    // Before the new /proc: the machine's uuid source is still where it always is.
    if (!boot_id_file.empty())
        if (std::string e = write_fresh_boot_id(boot_id_file); !e.empty()) fail(e);
    // This host's own view: /sys of its network namespace, /proc of its PID namespace (so a
    // daemon that scans /proc for holders of a busy mount sees, and kills, only its own host).
    if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) fail(err("mount /sys"));
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) fail(err("mount /proc"));
    if (!boot_id_file.empty()) {
        const char* boot_id = "/proc/sys/kernel/random/boot_id";
        if (::mount(boot_id_file.c_str(), boot_id, nullptr, MS_BIND, nullptr) != 0)
            fail(err("bind " + boot_id_file + " on " + boot_id));
        // Read-only, as the kernel's own file is.
        if (::mount(nullptr, boot_id, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
            fail(err("make " + std::string(boot_id) + " read-only"));
    }
    if (::chdir("/") != 0) fail(err("chdir /"));

    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
    }
    if (ready_fd >= 0) {
        (void)!::write(ready_fd, "READY\n", 6);
        ::close(ready_fd);
    }
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {}
        // A SIGCHLD that arrives between the waitpid and here stays pending: no lost wake-up.
        timespec again{1, 0};
        ::sigtimedwait(&chld, nullptr, &again);
    }
}

int run_enter(int argc, char** argv) {
    std::string procs;
    pid_t target = 0;
    bool new_session = false;
    int i = 2;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--cgroup" && i + 1 < argc) procs = argv[++i];
        else if (a == "--target" && i + 1 < argc) target = static_cast<pid_t>(std::atoi(argv[++i]));
        else if (a == "--setsid") new_session = true;
        else if (a == "--") { ++i; break; }
        else die("enter: unknown argument " + a);
    }
    if (i >= argc || target <= 0) die("enter: usage: enter --cgroup PROCS --target PID [--setsid] -- PROGRAM ARGS...");
    if (!procs.empty()) {
        int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "0", 1) != 1) die(err("join cgroup " + procs));
        ::close(fd);
    }
    std::string base = "/proc/" + std::to_string(target) + "/ns/";
    struct stat mine{}, theirs{};
    if (::stat("/proc/self/ns/pid", &mine) != 0 || ::stat((base + "pid").c_str(), &theirs) != 0)
        die(err("the host is powered off (its init " + std::to_string(target) + " is gone)"));
    if (mine.st_ino != theirs.st_ino) die("enter: not started inside the host's PID namespace");
    int fds[3];
    const char* kinds[3] = {"net", "uts", "mnt"};
    int types[3] = {CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWNS};
    for (int k = 0; k < 3; ++k) {
        fds[k] = ::open((base + kinds[k]).c_str(), O_RDONLY | O_CLOEXEC);
        if (fds[k] < 0) die(err("open " + base + kinds[k]));
    }
    for (int k = 0; k < 3; ++k)
        if (::setns(fds[k], types[k]) != 0) die(err(std::string("setns ") + kinds[k]));
    for (int k = 0; k < 3; ++k) ::close(fds[k]);
    if (::chdir("/") != 0) die(err("chdir /"));
    if (new_session) ::setsid();
    ::execvp(argv[i], argv + i);
    die(err(std::string("exec ") + argv[i]), errno == ENOENT ? 127 : 126);
}

int run_hook(int argc, char** argv) {
    if (argc < 4) die("hook: usage: hook SOCKET VERB ARGS...", 2);
    std::vector<std::string> words(argv + 3, argv + argc);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = argv[2];
    if (path.size() >= sizeof addr.sun_path) die("hook: socket path too long", 2);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    timeval tv{60, 0};  // a power-off that takes a minute is a lab bug worth a failure
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die(err("hook: connect " + path), 1);
    std::string line = veeamha::lab::encode_line(words);
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
        die(err("hook: send"), 1);
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && reply.size() < veeamha::lab::kMaxControlLine)
        reply.append(buf, static_cast<size_t>(n));
    if (n < 0) die(err("hook: no answer from the lab"), 1);
    if (reply.rfind("OK", 0) == 0) return 0;
    std::fprintf(stderr, "veeam-ha-lab-init: hook %s: %s\n", words[0].c_str(), reply.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "init") return run_init(argc, argv);
    if (mode == "enter") return run_enter(argc, argv);
    if (mode == "hook") return run_hook(argc, argv);
    std::fprintf(stderr, "usage: veeam-ha-lab-init init|enter|hook ... (started by the lab, not by hand)\n");
    return 2;
}
