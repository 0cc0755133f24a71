// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace veeamha::base {
namespace {

struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() { close_both(); }
    bool open() { return ::pipe2(fd, O_CLOEXEC) == 0; }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
    void close_both() { close_end(0); close_end(1); }
};

std::string last_line(const std::string& text) {
    size_t end = text.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return {};
    size_t start = text.rfind('\n', end);
    start = start == std::string::npos ? 0 : start + 1;
    return text.substr(start, end - start + 1);
}

// Reaps the child, waiting at most until `until`. Returns true when reaped.
bool reap(pid_t pid, int& status, Deadline until) {
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) return true;  // not our child any more
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace

std::string format_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) out += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`") == std::string::npos;
        if (plain) {
            out += a;
        } else {
            out += '\'';
            for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
            out += '\'';
        }
    }
    return out;
}

std::string ProcessResult::describe() const {
    std::string what;
    switch (ended) {
        case Ended::Exited: what = "exit " + std::to_string(exit_code); break;
        case Ended::Signaled: what = "killed by signal " + std::to_string(signal); break;
        case Ended::TimedOut: what = "timed out"; break;
        case Ended::CouldNotStart: return "could not start: " + error;
    }
    std::string line = last_line(err);
    if (!line.empty()) what += ": " + line;
    return what;
}

pid_t spawn(const SpawnSpec& spec, std::string& error) {
    if (spec.argv.empty()) {
        error = "empty command";
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int fds[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
    for (int target = 0; target < 3; ++target) {
        if (fds[target] >= 0)
            posix_spawn_file_actions_adddup2(&actions, fds[target], target);
        else
            posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    // Nothing else of the caller: Boost.Asio opens its sockets without SOCK_CLOEXEC, and a
    // command that leaves a daemon behind (an exec resource's service) would keep the daemon's
    // heartbeat, peer-channel and admin sockets open forever; a restarted veeam-had then
    // cannot bind its port (seen in the lab: "UDP 10.10.0.11 port 5409: cannot bind: Address
    // already in use" after kill -9 + restart on the active node). glibc >= 2.34.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Default signal dispositions and an empty mask, whatever the caller has blocked.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (spec.own_process_group) {
        posix_spawnattr_setpgroup(&attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attr, flags);

    // The inherited environment, with every key of extra_env replaced (not duplicated: with
    // two LC_ALL entries the first one wins in most programs), and without systemd's
    // notification variables: the service manager's notify socket and watchdog belong to this
    // process (the unit has NotifyAccess=main), and a child that is itself sd_notify-aware would
    // otherwise talk to them (systemd logs each such message as refused).
    std::vector<std::string> env_store;
    auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    for (char** e = environ; e && *e; ++e) {
        std::string kv = *e;
        const std::string key = key_of(kv);
        if (key == "NOTIFY_SOCKET" || key == "WATCHDOG_PID" || key == "WATCHDOG_USEC") continue;
        bool replaced = false;
        for (const auto& x : spec.extra_env) replaced = replaced || key_of(x) == key_of(kv);
        if (!replaced) env_store.push_back(std::move(kv));
    }
    for (const auto& e : spec.extra_env) env_store.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_store = spec.argv;
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        error = spec.argv[0] + ": " + std::strerror(rc);
        return -1;
    }
    return pid;
}

ProcessResult run_process(const ProcessSpec& spec) {
    ProcessResult result;
    if (spec.argv.empty()) {
        result.error = "empty command";
        return result;
    }
    Pipe in, out, err;
    if (!in.open() || !out.open() || !err.open()) {
        result.error = std::string("pipe: ") + std::strerror(errno);
        return result;
    }

    SpawnSpec child;
    child.argv = spec.argv;
    child.extra_env = spec.extra_env;
    child.stdin_fd = in.fd[0];
    child.stdout_fd = out.fd[1];
    child.stderr_fd = err.fd[1];
    pid_t pid = spawn(child, result.error);
    if (pid < 0) return result;
    in.close_end(0);
    out.close_end(1);
    err.close_end(1);

    // Feed stdin without blocking: a child that never reads must not hang us past the deadline.
    ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (spec.stdin_data.empty()) in.close_end(1);

    bool timed_out = false;
    bool reaped = false;
    int status = 0;
    char buf[4096];
    // Until both pipes close; but a child that exits while a grandchild it left behind holds the
    // pipes open ends the wait too (checked every 50 ms).
    while ((out.fd[0] >= 0 || err.fd[0] >= 0) && !reaped) {
        pollfd fds[3];
        int n = 0;
        int idx_out = -1, idx_err = -1, idx_in = -1;
        if (out.fd[0] >= 0) { fds[n] = {out.fd[0], POLLIN, 0}; idx_out = n++; }
        if (err.fd[0] >= 0) { fds[n] = {err.fd[0], POLLIN, 0}; idx_err = n++; }
        if (in.fd[1] >= 0) { fds[n] = {in.fd[1], POLLOUT, 0}; idx_in = n++; }
        auto left = remaining(spec.deadline);
        if (left.count() == 0) { timed_out = true; break; }
        int pr = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 50)));
        if (pr < 0 && errno != EINTR) break;
        if (pr <= 0) {
            reaped = ::waitpid(pid, &status, WNOHANG) == pid;
            continue;
        }
        auto drain = [&](int idx, Pipe& p, std::string& sink) {
            if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
            ssize_t r = ::read(p.fd[0], buf, sizeof buf);
            if (r <= 0) { if (r == 0 || errno != EINTR) p.close_end(0); return; }
            size_t room = kMaxCapture > sink.size() ? kMaxCapture - sink.size() : 0;
            sink.append(buf, std::min<size_t>(room, static_cast<size_t>(r)));
        };
        drain(idx_out, out, result.out);
        drain(idx_err, err, result.err);
        if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::write(in.fd[1], spec.stdin_data.data() + written,
                                spec.stdin_data.size() - written);
            if (w > 0) written += static_cast<size_t>(w);
            if (w < 0 && errno != EAGAIN && errno != EINTR) in.close_end(1);
            if (written >= spec.stdin_data.size()) in.close_end(1);
        }
    }
    in.close_end(1);
    if (reaped) {  // what the child wrote just before it exited
        for (auto* sink : {&out, &err}) {
            if (sink->fd[0] < 0) continue;
            ::fcntl(sink->fd[0], F_SETFL, O_NONBLOCK);
            std::string& text = sink == &out ? result.out : result.err;
            ssize_t r;
            while ((r = ::read(sink->fd[0], buf, sizeof buf)) > 0 && text.size() < kMaxCapture)
                text.append(buf, std::min<size_t>(kMaxCapture - text.size(), static_cast<size_t>(r)));
        }
    }

    if (!reaped && !timed_out) reaped = reap(pid, status, spec.deadline);
    if (!reaped) {
        timed_out = true;
        ::kill(-pid, SIGTERM);
        if (!reap(pid, status, Clock::now() + spec.kill_grace)) {
            ::kill(-pid, SIGKILL);
            reap(pid, status, Clock::now() + std::chrono::seconds(5));
        }
    }
    if (timed_out) {
        result.ended = ProcessResult::Ended::TimedOut;
    } else if (WIFEXITED(status)) {
        result.ended = ProcessResult::Ended::Exited;
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.ended = ProcessResult::Ended::Signaled;
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace veeamha::base
