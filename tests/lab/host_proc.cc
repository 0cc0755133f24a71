// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/common/read_file.h"
#include "tests/lab/host_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace veeamha::lab {

using namespace std::chrono_literals;

namespace {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

// Runs f() on a fresh thread whose children start in the PID namespace of `init_pid`.
template <typename F>
auto in_pidns(pid_t init_pid, F f) -> decltype(f()) {
    using R = decltype(f());
    std::packaged_task<R()> task([&]() -> R {
        std::string path = "/proc/" + std::to_string(init_pid) + "/ns/pid";
        Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0 || ::setns(fd.get(), CLONE_NEWPID) != 0)
            throw std::runtime_error(errno_text("the host is powered off: enter " + path));
        return f();
    });
    auto result = task.get_future();
    std::thread t(std::move(task));
    t.join();
    return result.get();
}

std::vector<std::string> enter_argv(const HostRef& host, const std::vector<std::string>& argv, bool setsid) {
    std::vector<std::string> out = {lab_init_binary(), "enter", "--cgroup", host.cgroup + "/cgroup.procs",
                                    "--target", std::to_string(host.init_pid)};
    if (setsid) out.push_back("--setsid");
    out.push_back("--");
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

base::ProcessResult could_not_start(const std::string& why) {
    base::ProcessResult r;
    r.ended = base::ProcessResult::Ended::CouldNotStart;
    r.error = why;
    return r;
}

using veeamha::test::slurp;

}  // namespace

std::string lab_init_binary() {
    const char* env = std::getenv("VEEAM_HA_LAB_INIT");
    if (env && *env) return env;
#ifdef VEEAMHA_LAB_INIT_PATH
    return VEEAMHA_LAB_INIT_PATH;
#else
    return "veeam-ha-lab-init";
#endif
}

bool enter_netns(const std::string& netns, std::string* error) {
    std::string path = "/run/netns/" + netns;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::setns(fd.get(), CLONE_NEWNET) != 0) {
        if (error) *error = errno_text("enter network namespace " + path);
        return false;
    }
    return true;
}

base::ProcessResult run_cmd(std::vector<std::string> argv, std::chrono::milliseconds budget, const std::string& stdin_data) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.stdin_data = stdin_data;
    spec.deadline = base::Clock::now() + budget;
    return base::run_process(spec);
}

base::ProcessResult run_in_netns(const std::string& netns, std::vector<std::string> argv, std::chrono::milliseconds budget,
                           const std::string& stdin_data) {
    try {
        return in_netns(netns, [&] { return run_cmd(argv, budget, stdin_data); });
    } catch (const std::exception& e) {
        return could_not_start(e.what());
    }
}

base::ProcessResult exec_in(const HostRef& host, const std::vector<std::string>& argv, std::chrono::milliseconds budget,
                      const std::string& stdin_data) {
    if (host.init_pid <= 0) return could_not_start("host " + host.name + " is powered off");
    try {
        return in_pidns(host.init_pid, [&] { return run_cmd(enter_argv(host, argv, false), budget, stdin_data); });
    } catch (const std::exception& e) {
        return could_not_start(e.what());
    }
}

pid_t spawn_in(const HostRef& host, const std::vector<std::string>& argv, const std::string& log_file,
               const std::vector<std::string>& extra_env, std::string* error) {
    if (host.init_pid <= 0) {
        if (error) *error = "host " + host.name + " is powered off";
        return -1;
    }
    base::SpawnSpec spec;
    spec.argv = enter_argv(host, argv, true);  // lab-init's --setsid gives it a session
    spec.extra_env = extra_env;
    spec.own_process_group = false;
    std::string out = log_file.empty() ? "/dev/null" : log_file;
    Fd log(::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (log.get() < 0) {
        if (error) *error = errno_text("open " + out);
        return -1;
    }
    spec.stdout_fd = spec.stderr_fd = log.get();
    try {
        return in_pidns(host.init_pid, [&]() -> pid_t {
            std::string why;
            pid_t pid = base::spawn(spec, why);
            if (pid < 0 && error) *error = "spawn " + why;
            return pid;
        });
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return -1;
    }
}

int run_interactive_in(const HostRef& host, const std::vector<std::string>& argv) {
    if (host.init_pid <= 0) {
        std::fprintf(stderr, "veeam-ha-lab: host %s is powered off\n", host.name.c_str());
        return 126;
    }
    std::vector<std::string> args = enter_argv(host, argv, false);
    pid_t pid = -1;
    try {
        pid = in_pidns(host.init_pid, [&]() -> pid_t {
            auto argp = pointers(args);
            pid_t p = -1;
            int rc = ::posix_spawn(&p, argp[0], nullptr, nullptr, argp.data(), environ);
            if (rc != 0) errno = rc;
            return rc == 0 ? p : -1;
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "veeam-ha-lab: %s\n", e.what());
        return 126;
    }
    if (pid < 0) {
        std::perror("veeam-ha-lab: spawn");
        return 126;
    }
    // The terminal's Ctrl-C reaches the child (same process group); we only wait for it.
    struct sigaction ignore{}, old_int{}, old_quit{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int);
    ::sigaction(SIGQUIT, &ignore, &old_quit);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

pid_t start_host_init(const std::string& netns, const std::string& cgroup, const std::string& hostname,
                      const std::vector<std::pair<std::string, std::string>>& binds, const std::string& boot_id_file,
                      const std::string& log_file, std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = why;
        return -1;
    };
    Fd net(::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC));
    if (net.get() < 0) return fail(errno_text("open /run/netns/" + netns));
    Fd procs(::open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (procs.get() < 0) return fail(errno_text("open " + cgroup + "/cgroup.procs"));
    Fd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (log.get() < 0) return fail(errno_text("open " + log_file));
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return fail(errno_text("pipe"));
    Fd ready_r(ready[0]), ready_w(ready[1]);

    // Everything the child needs is prepared here: after clone it may only make system calls.
    std::vector<std::string> args = {lab_init_binary(), "init", "--hostname", hostname, "--ready-fd", "3"};
    for (const auto& [src, dst] : binds) args.insert(args.end(), {"--bind", src, dst});
    if (!boot_id_file.empty()) args.insert(args.end(), {"--boot-id-file", boot_id_file});
    auto argp = pointers(args);
    const char* bad_exec = "ERR exec veeam-ha-lab-init failed\n";
    size_t bad_exec_len = std::strlen(bad_exec);

    long child = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | SIGCHLD, nullptr, nullptr,
                           nullptr, 0);
    if (child < 0) return fail(errno_text("clone"));
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the lab (this worker thread) died: power off
        if (::setns(net.get(), CLONE_NEWNET) != 0 || ::write(procs.get(), "0", 1) != 1) ::_exit(126);
        ::dup2(log.get(), 2);
        ::dup2(ready_w.get(), 3);
        ::execve(argp[0], argp.data(), environ);
        (void)!::write(3, bad_exec, bad_exec_len);
        ::_exit(127);
    }
    ready_w.reset();
    pid_t pid = static_cast<pid_t>(child);
    std::string said;
    auto until = base::Clock::now() + 10s;
    while (said.find('\n') == std::string::npos && base::Clock::now() < until) {
        pollfd p{ready_r.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[256];
        ssize_t n = ::read(ready_r.get(), buf, sizeof buf);
        if (n <= 0) break;
        said.append(buf, static_cast<size_t>(n));
    }
    if (said.rfind("READY", 0) == 0) return pid;
    ::kill(pid, SIGKILL);  // our own child
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string why = said.empty() ? "no answer" : said.substr(0, said.find('\n'));
    std::string tail = slurp(log_file);
    if (tail.size() > 500) tail = tail.substr(tail.size() - 500);
    return fail("host " + hostname + " did not start (" + why + "); its log: " + tail);
}

std::string cgroup_v2_root() {
    if (::access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0) return "/sys/fs/cgroup/unified";
    return "/sys/fs/cgroup";
}

bool cgroup_create(const std::string& dir, std::string* error) {
    std::string path;
    std::string root = cgroup_v2_root();
    if (dir.rfind(root + "/", 0) != 0) {
        if (error) *error = dir + " is not under " + root;
        return false;
    }
    path = root;
    std::stringstream rest(dir.substr(root.size() + 1));
    std::string part;
    while (std::getline(rest, part, '/')) {
        path += "/" + part;
        if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
            if (error) *error = errno_text("mkdir " + path);
            return false;
        }
    }
    return true;
}

bool cgroup_populated(const std::string& dir) {
    std::string events = slurp(dir + "/cgroup.events");
    return events.find("populated 1") != std::string::npos;
}

bool cgroup_kill_and_wait(const std::string& dir, std::chrono::milliseconds budget) {
    auto until = base::Clock::now() + budget;
    if (::access((dir + "/cgroup.events").c_str(), F_OK) != 0) return true;  // no such cgroup
    {
        int fd = ::open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!::write(fd, "1", 1);
            ::close(fd);
        }
    }
    while (cgroup_populated(dir)) {
        if (base::Clock::now() >= until) return false;
        // Kernels without cgroup.kill: SIGKILL what is listed, again until empty.
        std::istringstream procs(slurp(dir + "/cgroup.procs"));
        pid_t p;
        while (procs >> p) ::kill(p, SIGKILL);
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

bool cgroup_remove_tree(const std::string& dir) {
    if (::access(dir.c_str(), F_OK) != 0) return true;
    if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> children;
        while (dirent* e = ::readdir(d))
            if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                children.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& c : children) cgroup_remove_tree(c);
    }
    cgroup_kill_and_wait(dir, 10s);
    auto until = base::Clock::now() + 2s;
    while (::rmdir(dir.c_str()) != 0) {
        if (errno == ENOENT) return true;
        if (errno != EBUSY || base::Clock::now() >= until) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

unsigned long long process_start_time(pid_t pid) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream f(stat.substr(paren + 2));
    std::string field;
    // Fields after the command: state is field 3; starttime is field 22.
    for (int i = 3; i <= 22 && f >> field; ++i)
        if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
    return 0;
}

// ---- Reaper ----------------------------------------------------------------------------------

Reaper::Reaper() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { loop(); });
}

Reaper::~Reaper() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
    for (auto& [pid, fd] : pidfds_) ::close(fd);
    ::close(wake_fd_);
}

void Reaper::watch(pid_t pid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    std::lock_guard<std::mutex> lock(mu_);
    if (fd < 0) {
        // Already reaped by someone else (not ours) or no such process: nothing to wait for.
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) exited_[pid] = status;
        return;
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    pidfds_[pid] = fd;
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
}

void Reaper::loop() {
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<pid_t> pids;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) return;
            fds.push_back({wake_fd_, POLLIN, 0});
            for (auto& [pid, fd] : pidfds_) {
                fds.push_back({fd, POLLIN, 0});
                pids.push_back(pid);
            }
        }
        if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            uint64_t v;
            (void)!::read(wake_fd_, &v, sizeof v);
        }
        for (size_t i = 1; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            pid_t pid = pids[i - 1];
            int status = 0;
            // The PID cannot be reused before we reap it, so waiting by PID is exact.
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == 0) continue;
            std::lock_guard<std::mutex> lock(mu_);
            auto it = pidfds_.find(pid);
            if (it != pidfds_.end()) {
                ::close(it->second);
                pidfds_.erase(it);
            }
            exited_[pid] = r == pid ? status : -1;
            cv_.notify_all();
        }
    }
}

std::optional<int> Reaper::wait(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        auto it = exited_.find(pid);
        if (it != exited_.end()) return it->second;
        if (pidfds_.find(pid) == pidfds_.end()) return std::nullopt;
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
            it = exited_.find(pid);
            if (it != exited_.end()) return it->second;
            return std::nullopt;
        }
    }
}

bool Reaper::running(pid_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    return pidfds_.count(pid) != 0;
}

void Reaper::forget(pid_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    exited_.erase(pid);
}

// ---- Worker ----------------------------------------------------------------------------------

Worker::Worker() {
    thread_ = std::thread([this] {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stop_ and nothing left
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
        }
    });
}

Worker::~Worker() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

}  // namespace veeamha::lab
