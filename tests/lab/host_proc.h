// SPDX-License-Identifier: GPL-2.0-or-later
// Running processes inside a lab host (network + mount + UTS + PID namespace + cgroup) from
// outside, and the pieces that keep them accountable: a reaper for the lab's own children (by
// pidfd, so it never steals another waitpid's child), cgroup v2 kill domains, and a worker
// thread that outlives every host init it creates (PR_SET_PDEATHSIG fires when the creating
// THREAD exits, not the process).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/process.h"

namespace veeamha::lab {

// A host as seen from outside: enough to run something inside it.
struct HostRef {
    std::string name;
    std::string netns;   // name under /run/netns
    pid_t init_pid = 0;  // the host's PID 1, as our PID namespace numbers it; 0 = powered off
    std::string cgroup;  // absolute cgroup v2 folder: the host's kill domain
};

// Path of the veeam-ha-lab-init helper (built next to the lab library; VEEAM_HA_LAB_INIT
// overrides).
std::string lab_init_binary();

// Runs f() on a fresh thread that entered network namespace `netns` (sockets it makes belong
// there; children it spawns start there). Exceptions from f are rethrown here.
template <typename F>
auto in_netns(const std::string& netns, F f) -> decltype(f());

// True if the calling thread could enter /run/netns/NAME.
bool enter_netns(const std::string& netns, std::string* error);

// A command run with `ip netns exec`-like semantics but without a shell or a mount namespace:
// a thread enters the network namespace and run_process() starts the program from there.
base::ProcessResult run_in_netns(const std::string& netns, std::vector<std::string> argv,
                           std::chrono::milliseconds budget = std::chrono::seconds(10),
                           const std::string& stdin_data = {});

// run_process() outside any lab namespace, with a budget.
base::ProcessResult run_cmd(std::vector<std::string> argv, std::chrono::milliseconds budget = std::chrono::seconds(10),
                      const std::string& stdin_data = {});

// Inside a host: every namespace of its init and its cgroup. Output captured (bounded),
// deadline as run_process. Fails with CouldNotStart / exit 126 when the host is off.
base::ProcessResult exec_in(const HostRef& host, const std::vector<std::string>& argv,
                      std::chrono::milliseconds budget = std::chrono::seconds(10),
                      const std::string& stdin_data = {});

// A long-running process inside a host, in its own session, stdout and stderr appended to
// `log_file` (or /dev/null), stdin /dev/null. Returns its PID (our numbering) or -1 with
// *error set. The caller owns the child: register it with a Reaper.
pid_t spawn_in(const HostRef& host, const std::vector<std::string>& argv, const std::string& log_file,
               const std::vector<std::string>& extra_env, std::string* error);

// Inside a host with the caller's stdin/stdout/stderr (for `veeam-ha-lab exec`); returns the
// exit status as a shell would (128+signal when killed).
int run_interactive_in(const HostRef& host, const std::vector<std::string>& argv);

// clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS) a new host init inside `netns`, in the cgroup
// `cgroup`, with stderr to `log_file`; waits (bounded) for it to say READY. The init writes a
// fresh boot id to `boot_id_file` and shows it as the host's /proc/sys/kernel/random/boot_id
// ("" = the machine's). MUST be called on a thread that lives as long as the host (see
// Worker): the init dies with that thread.
pid_t start_host_init(const std::string& netns, const std::string& cgroup, const std::string& hostname,
                      const std::vector<std::pair<std::string, std::string>>& binds, const std::string& boot_id_file,
                      const std::string& log_file, std::string* error);

// cgroup v2 kill domains.
bool cgroup_create(const std::string& dir, std::string* error);
bool cgroup_populated(const std::string& dir);
// cgroup.kill, then wait until nothing is left in it (bounded). True when empty.
bool cgroup_kill_and_wait(const std::string& dir, std::chrono::milliseconds budget);
// Kills and removes `dir` and every folder below it. True when it is gone.
bool cgroup_remove_tree(const std::string& dir);
// Where the lab's kill domains live: /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup (v2).
std::string cgroup_v2_root();

// Start time of a process (clock ticks since boot, /proc/PID/stat field 22), 0 if none: with
// the PID it names a process instance, safe against PID reuse.
unsigned long long process_start_time(pid_t pid);

// Reaps the lab's own long-lived children (host inits, spawned daemons) as soon as they exit,
// by pidfd, and keeps their wait status.
class Reaper {
public:
    Reaper();
    ~Reaper();
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;

    void watch(pid_t pid);
    // Wait status once reaped; nullopt if still running at the deadline (or unknown PID).
    std::optional<int> wait(pid_t pid, std::chrono::steady_clock::time_point deadline);
    bool running(pid_t pid);
    // Forget what was reaped (keeps the table bounded).
    void forget(pid_t pid);

private:
    void loop();

    std::mutex mu_;
    std::condition_variable cv_;
    std::map<pid_t, int> pidfds_;       // running
    std::map<pid_t, int> exited_;       // wait status
    int wake_fd_ = -1;                  // eventfd: the table changed, or stop
    bool stop_ = false;
    std::thread thread_;
};

// One thread that runs jobs in order; host inits are created on it so that they live until
// the lab ends it.
class Worker {
public:
    Worker();
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    template <typename F>
    auto run(F f) -> decltype(f()) {
        using R = decltype(f());
        std::packaged_task<R()> task(std::move(f));
        auto result = task.get_future();
        {
            std::lock_guard<std::mutex> lock(mu_);
            jobs_.emplace_back([&task] { task(); });
        }
        cv_.notify_one();
        return result.get();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    bool stop_ = false;
    std::thread thread_;
};

template <typename F>
auto in_netns(const std::string& netns, F f) -> decltype(f()) {
    using R = decltype(f());
    std::packaged_task<R()> task([&]() -> R {
        std::string error;
        if (!enter_netns(netns, &error)) throw std::runtime_error(error);
        return f();
    });
    auto result = task.get_future();
    std::thread t(std::move(task));
    t.join();
    return result.get();
}

}  // namespace veeamha::lab
