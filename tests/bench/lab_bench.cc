// SPDX-License-Identifier: GPL-2.0-or-later
// veeamha_failover_bench: the end-to-end benchmark (issue 7), with two real veeam-had daemons in
// the lab (tests/lab, root). Prints a table; asserts nothing.
//   crash    kill the active host -> the repo service answers on the floating IP from the
//            client; --runs times (default 10), alternating n1/n2. Split from the survivor's
//            log (wall-clock timestamps with ms): detection (kill -> peer-lost), ping check
//            (peer-lost -> fence-request), fencing (fence-request -> fenced), takeover
//            (fenced -> takeover: epoch persisted), each resource's start, and answering
//            (group started -> the client's first PONG).
//   move     `veeam-hactl move` on the active -> the service answers on the other node;
//            --runs times, both directions. Split: stop (move -> release), handover
//            (release -> the peer's takeover), start (takeover -> group started), answering.
//   idle     one node's cost with the group running, defaults (monitors every 10 s):
//            RSS and CPU seconds per minute of each veeam-had over --idle-seconds (180);
//            --interval sets heartbeat.interval (default the product's, 200ms) to compare.
//            Beside the daemons, the same rounds with nothing of ours in them
//            (veeamha_round_floor): the machine's part of the figure.
//   crash is run twice: against the vCenter simulator as it is (a power-off in ~10 ms) and
//            against a realistic one (500 ms login, every power task running 2 s).
//   back     vCenter unreachable (its port dropped) while the active is killed; it returns at
//            a random moment of the survivor's retries -> the service answers; --runs times.
// Options: --runs N  --idle-seconds S  --interval DURATION  --only crash|move|idle|back|crash-alert (not in the default set)
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "net/topology.h"
#include "tests/lab/e2e_cluster.h"
#include "tests/lab/host_proc.h"
#include "tests/lab/repo_client.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "2026-11-25T00:19:42.218Z ..." -> unix ms; -1 if the line has no such stamp.
int64_t stamp(const std::string& line) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// Time of the first log line containing `text`, or -1.
int64_t when(const std::string& log, const std::string& text) {
    size_t pos = log.find(text);
    if (pos == std::string::npos) return -1;
    size_t start = log.rfind('\n', pos);
    start = start == std::string::npos ? 0 : start + 1;
    return stamp(log.substr(start, 32));
}

// The client's view: PING on the floating IP in a loop from the client namespace, each attempt
// a new connection with a short deadline; remembers every attempt's start, end and result.
class Prober {
public:
    Prober(const std::string& netns, const std::string& address, uint16_t port) {
        thread_ = std::thread([this, netns, address, port] {
            std::string error;
            if (!enter_netns(netns, &error)) {
                std::lock_guard<std::mutex> lock(mu_);
                error_ = error;
                return;
            }
            while (!stop_) {
                Attempt a;
                a.start = wall_ms();
                RepoConnection c;
                auto deadline = veeamha::base::Clock::now() + 20ms;
                a.ok = c.connect(address, port, deadline) && c.ping(deadline);
                a.end = wall_ms();
                {
                    std::lock_guard<std::mutex> lock(mu_);
                    if (attempts_.size() < 200000) attempts_.push_back(a);
                }
                if (a.ok) std::this_thread::sleep_for(5ms);
                else std::this_thread::sleep_until(deadline);  // a refused connect returns at once
            }
        });
    }
    ~Prober() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    struct Attempt {
        int64_t start = 0, end = 0;
        bool ok = false;
    };
    // End of the first answered attempt that started after `after` (and, if `failure_first`,
    // after a failed attempt that started after `after`); -1 if none yet.
    int64_t first_answer(int64_t after, bool failure_first) const {
        std::lock_guard<std::mutex> lock(mu_);
        bool failed = !failure_first;
        for (const auto& a : attempts_) {
            if (a.start <= after) continue;
            if (!a.ok) failed = true;
            else if (failed) return a.end;
        }
        return -1;
    }
    bool answering_now() const {
        std::lock_guard<std::mutex> lock(mu_);
        return !attempts_.empty() && attempts_.back().ok;
    }

private:
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<Attempt> attempts_;
    std::string error_;
    std::thread thread_;
};

struct Stats {
    std::vector<double> v;
    void add(double x) {
        if (x >= 0) v.push_back(x);
    }
    double median() const {
        if (v.empty()) return -1;
        auto s = v;
        std::sort(s.begin(), s.end());
        return s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
    }
    double max() const { return v.empty() ? -1 : *std::max_element(v.begin(), v.end()); }
    double min() const { return v.empty() ? -1 : *std::min_element(v.begin(), v.end()); }
};

void row(const std::string& what, const Stats& s, const std::string& note = "") {
    char buf[256];
    if (s.v.empty()) std::snprintf(buf, sizeof buf, "  %-44s %9s %9s %9s   %s", what.c_str(), "-", "-", "-", note.c_str());
    else
        std::snprintf(buf, sizeof buf, "  %-44s %9.0f %9.0f %9.0f   %s", what.c_str(), s.median(), s.min(), s.max(),
                      note.c_str());
    std::cout << buf << "\n";
}

std::string other(const std::string& h) { return h == kN1 ? kN2 : kN1; }

std::string first_line(const std::string& path, const std::string& prefix) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0) return line.substr(line.find(':') + 1);
    return "?";
}

std::string trim(std::string s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

void machine() {
    utsname u{};
    ::uname(&u);
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    std::cout << "machine: " << ::sysconf(_SC_NPROCESSORS_ONLN) << " CPUs ("
              << trim(first_line("/proc/cpuinfo", "model name")) << "), "
              << static_cast<long>(static_cast<double>(pages) * static_cast<double>(page) / (1 << 30) + 0.5)
              << " GiB, kernel " << u.release << "; shared with other jobs\n";
    std::cout << "lab: two hosts in network namespaces, shared XFS on a loop device, vCenter simulator (govmomi), "
                 "the repo service as an exec resource (tests/lab)\n";
}

void context(const LabOptions& o) {
    std::cout << "load average " << loadavg() << "; timings: heartbeat interval " << o.heartbeat_interval << ", timeout " << o.heartbeat_timeout
              << "; fencing delay " << o.fence_delay << " (not applied: the passive fences a lost active at once)"
              << "; ping_timeout 500ms; ip: 5 gratuitous ARPs 200ms apart; monitor_interval " << o.monitor_interval
              << "\n";
}

// The lab's heartbeat round, in milliseconds (--interval takes any duration the config does).
int heartbeat_interval_ms(const LabOptions& o) {
    const auto interval = veeamha::config::parse_duration(o.heartbeat_interval);
    if (!interval) throw std::runtime_error("heartbeat interval " + o.heartbeat_interval + " is not a duration");
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count());
}

// ---- crash failover -------------------------------------------------------------------------

void crash(int runs, bool realistic_vcenter, bool hanging_alert = false) {
    std::cout << "\n== crash failover: kill the active host -> the service answers on the floating IP (" << runs
              << " runs; vCenter: "
              << (realistic_vcenter ? "500 ms login, power-off task 2 s" : "the simulator as it is")
              << (hanging_alert ? "; an alert program that hangs at every event, and Pacemaker's alert_file.sh" : "")
              << ") ==\n";
    set_run_name(realistic_vcenter ? "bench-crash-real" : hanging_alert ? "bench-crash-alert" : "bench-crash");
    ClusterOptions co;
    co.writer = false;
    co.hanging_alert = hanging_alert;
    if (realistic_vcenter) {
        co.lab.vcenter_login_delay_ms = 500;
        co.lab.vcenter_task_ms = 2000;
    }
    Cluster c(co);
    context(co.lab);
    // A crash comes at any moment of a heartbeat round; the kill waits a random part of one, or
    // it would come at the phase the bench's own waits happen to lock in (each run restarts a
    // daemon at a moment the bench chose), and detection (timeout minus the age of the last
    // heartbeat) would be measured at that phase only.
    const auto seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::mt19937 rng(seed);
    const int round_ms = heartbeat_interval_ms(co.lab);
    std::cout << "  (each kill comes 0-" << round_ms << " ms after the service answered; seed " << seed << ")\n";
    Stats detection, ping, fence, takeover, total, answering, group;
    std::map<std::string, Stats> resources;
    const std::vector<std::string> names = {"fs_repo", "ip_repo", "svc_repo"};
    std::string active = kN1;
    for (int run = 0; run < runs; ++run) {
        const std::string survivor = other(active);
        if (!c.wait_settled(active, 30s)) throw std::runtime_error("run " + std::to_string(run) + ": not settled on " + active);
        const size_t mark = c.log_mark(survivor);
        Prober prober(c.lab().netns(kClient), c.lab().floating_ip(), c.lab().repo_port());
        if (!Cluster::eventually(5s, [&] { return prober.answering_now(); }))
            throw std::runtime_error("the service does not answer before the kill");
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, round_ms - 1)(rng)));
        const int64_t t_kill = wall_ms();
        c.lab().kill(active);
        int64_t t_answer = -1;
        // An attempt that started just before the kill took the cables out may still be
        // answered by the dying host: count the first answer after a failed attempt.
        Cluster::eventually(30s, [&] { return (t_answer = prober.first_answer(t_kill, true)) >= 0; });
        prober.stop();
        if (t_answer < 0 || !c.wait_running_on(survivor, 10s))
            throw std::runtime_error("run " + std::to_string(run) + ": no takeover by " + survivor + "\n" + c.diagnostics());
        std::string log = c.log_since(survivor, mark);
        int64_t lost = when(log, "peer-lost:"), request = when(log, "fence-request:"), fenced = when(log, "fenced:"),
                taken = when(log, "takeover:"), started = when(log, "group-started:");
        detection.add(static_cast<double>(lost - t_kill));
        ping.add(static_cast<double>(request - lost));
        fence.add(static_cast<double>(fenced - request));
        takeover.add(static_cast<double>(taken - fenced));
        int64_t before = taken;
        for (const auto& n : names) {
            int64_t t = when(log, "resource-started: " + n + " started");
            resources[n].add(static_cast<double>(t - before));
            before = t;
        }
        group.add(static_cast<double>(started - taken));
        answering.add(static_cast<double>(t_answer - started));
        total.add(static_cast<double>(t_answer - t_kill));
        std::cout << "  run " << run + 1 << ": kill " << active << " -> " << survivor << " answers after "
                  << t_answer - t_kill << " ms (detection " << lost - t_kill << ", fence " << fenced - request
                  << ", resources " << started - taken << ")\n";
        c.lab().power_on(active);  // through vCenter; its daemon starts at boot and joins passive
        active = survivor;
    }
    std::cout << "\n  " << std::string(44, ' ') << "   median       min       max   (ms)\n";
    row("kill -> service answers on the floating IP", total, "the client's view");
    row("  detection: kill -> peer-lost", detection, "heartbeat.timeout 1s after the last heartbeat");
    row("  ping check: peer-lost -> fence-request", ping, "rule 4b: a ping target must answer");
    row("  fencing: fence-request -> fenced (confirmed)", fence,
        "vSphere, warm session: power off, the task's end, read back");
    row("  fenced -> takeover (epoch persisted)", takeover);
    for (const auto& n : names) row("  start " + n, resources[n]);
    row("  all resources: takeover -> group-started", group);
    row("  answering: group-started -> first PONG", answering, "client side: ARP update, TCP connect");
}

// ---- vCenter back ---------------------------------------------------------------------------

void vcenter_back(int runs) {
    std::cout << "\n== vCenter unreachable during a crash, then back -> the service answers (" << runs << " runs) ==\n";
    set_run_name("bench-back");
    ClusterOptions co;
    co.writer = false;
    Cluster c(co);
    context(co.lab);
    const auto seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::mt19937 rng(seed);
    std::cout << "vCenter's port dropped (no answer, as a cut route), then opened again after the first failed fence, "
                 "0-2 s into the retries (seed "
              << seed << ")\n";
    Stats to_fenced, to_answer;
    std::string active = kN1;
    for (int run = 0; run < runs; ++run) {
        const std::string survivor = other(active);
        if (!c.wait_settled(active, 30s)) throw std::runtime_error("run " + std::to_string(run) + ": not settled on " + active);
        const size_t mark = c.log_mark(survivor);
        Prober prober(c.lab().netns(kClient), c.lab().floating_ip(), c.lab().repo_port());
        c.lab().block_vcenter(true);
        c.lab().kill(active);
        if (!c.wait_log(survivor, "fence-failed:", 60s, mark))
            throw std::runtime_error("run " + std::to_string(run) + ": no failed fence\n" + c.diagnostics());
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 2000)(rng)));
        const int64_t t_back = wall_ms();
        c.lab().block_vcenter(false);
        int64_t t_answer = -1;
        Cluster::eventually(60s, [&] { return (t_answer = prober.first_answer(t_back, false)) >= 0; });
        prober.stop();
        if (t_answer < 0 || !c.wait_running_on(survivor, 10s))
            throw std::runtime_error("run " + std::to_string(run) + ": no takeover by " + survivor + "\n" + c.diagnostics());
        int64_t fenced = when(c.log_since(survivor, mark), "fenced:");
        to_fenced.add(static_cast<double>(fenced - t_back));
        to_answer.add(static_cast<double>(t_answer - t_back));
        std::cout << "  run " << run + 1 << ": " << survivor << " fenced " << active << " " << fenced - t_back
                  << " ms and answers " << t_answer - t_back << " ms after vCenter's return\n";
        c.lab().power_on(active);
        active = survivor;
    }
    std::cout << "\n  " << std::string(44, ' ') << "   median       min       max   (ms)\n";
    row("vCenter back -> fence confirmed", to_fenced, "unanswered fences are retried every 1-1.5 s");
    row("vCenter back -> service answers", to_answer, "the client's view");
}

// ---- planned switchover ---------------------------------------------------------------------

void move(int runs) {
    std::cout << "\n== planned switchover: veeam-hactl move -> the service answers on the other node (" << runs
              << " runs) ==\n";
    set_run_name("bench-move");
    ClusterOptions co;
    co.writer = false;
    Cluster c(co);
    context(co.lab);
    Stats total, stop, handover, start, answering;
    std::string active = kN1;
    for (int run = 0; run < runs; ++run) {
        const std::string target = other(active);
        if (!c.wait_settled(active, 30s)) throw std::runtime_error("run " + std::to_string(run) + ": not settled on " + active);
        const size_t mark_a = c.log_mark(active), mark_t = c.log_mark(target);
        Prober prober(c.lab().netns(kClient), c.lab().floating_ip(), c.lab().repo_port());
        if (!Cluster::eventually(5s, [&] { return prober.answering_now(); }))
            throw std::runtime_error("the service does not answer before the move");
        const int64_t t_move = wall_ms();
        auto r = c.hactl(active, {"move"});
        if (!r.success()) throw std::runtime_error("veeam-hactl move: " + r.describe() + " " + r.err);
        int64_t t_answer = -1;
        Cluster::eventually(30s, [&] { return (t_answer = prober.first_answer(t_move, true)) >= 0; });
        prober.stop();
        if (t_answer < 0 || !c.wait_running_on(target, 10s))
            throw std::runtime_error("run " + std::to_string(run) + ": the move did not complete\n" + c.diagnostics());
        std::string la = c.log_since(active, mark_a), lt = c.log_since(target, mark_t);
        int64_t moved = when(la, "move: admin move"), released = when(la, "release:"), taken = when(lt, "takeover:"),
                started = when(lt, "group-started:");
        total.add(static_cast<double>(t_answer - t_move));
        stop.add(static_cast<double>(released - moved));
        handover.add(static_cast<double>(taken - released));
        start.add(static_cast<double>(started - taken));
        answering.add(static_cast<double>(t_answer - started));
        std::cout << "  run " << run + 1 << ": " << active << " -> " << target << " answers after " << t_answer - t_move
                  << " ms\n";
        active = target;
    }
    std::cout << "\n  " << std::string(44, ' ') << "   median       min       max   (ms)\n";
    row("move -> service answers on the other node", total, "the client's view, veeam-hactl included");
    row("  stop: admin move -> release (all stopped)", stop, "service, IP, unmount");
    row("  handover: release -> the peer's takeover", handover, "grant over the peer channel");
    row("  start: takeover -> group-started", start, "mount, IP + ARP check + GARP, service");
    row("  answering: group-started -> first PONG", answering);
}

// ---- idle cost ------------------------------------------------------------------------------

struct ProcSample {
    double user = 0, sys = 0, children = 0;  // CPU seconds, sampled by the kernel's tick
    double loop = 0;  // CPU seconds of the main (event loop) thread, exact (schedstat)
    double wakeups = 0;  // times the main thread slept and was woken (voluntary context switches)
    long rss_kib = 0, hwm_kib = 0;
};

ProcSample sample(pid_t pid) {
    ProcSample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), {});
    size_t paren = all.rfind(')');
    if (paren == std::string::npos) return s;
    std::istringstream rest(all.substr(paren + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) f.push_back(x);
    double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    // Fields after the name: state(3) ... utime(14) stime(15) cutime(16) cstime(17).
    if (f.size() > 14) {
        s.user = std::stod(f[11]) / tick;
        s.sys = std::stod(f[12]) / tick;
        s.children = (std::stod(f[13]) + std::stod(f[14])) / tick;
    }
    // The tick-sampled times above are coarse at this load (about 1 ms of CPU a second at
    // 100 Hz): schedstat's run time, in ns, is exact for the thread that does the steady work.
    std::ifstream sched("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/schedstat");
    double run_ns = 0, wait_ns = 0, slices = 0;
    if (sched >> run_ns >> wait_ns >> slices) s.loop = run_ns / 1e9;
    // Not schedstat's count of time slices: on a loaded machine that also counts preemptions.
    std::ifstream thread_status("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(thread_status, line);)
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0) s.wakeups = std::stod(line.substr(24));
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) s.hwm_kib = std::stol(line.substr(6));
    }
    return s;
}

// The round pattern with nothing of ours in it (round_floor.cc), beside the daemons and taking
// turns to lead as they do: what the machine charges for the rounds alone.
struct FloorPair {
    pid_t leader = -1, follower = -1;
};

FloorPair start_floor(Lab& lab, const LabOptions& o) {
    const std::string ms = std::to_string(heartbeat_interval_ms(o));
    const std::string port = std::to_string(o.heartbeat_port + 10);
    auto addresses = [&](const char* h) { return lab.address(h, kLan) + "," + lab.address(h, kHeartbeat); };
    FloorPair f;
    const std::string turns = std::to_string(veeamha::net::kLeadRounds);  // as the daemons take turns
    f.follower = lab.spawn_in(kN2, {VEEAMHA_ROUND_FLOOR, "follow", ms, port, addresses(kN2), addresses(kN1), turns}, "floor").pid;
    f.leader = lab.spawn_in(kN1, {VEEAMHA_ROUND_FLOOR, "lead", ms, port, addresses(kN1), addresses(kN2), turns}, "floor").pid;
    return f;
}

void idle(long seconds, const std::string& interval) {
    ClusterOptions co;
    co.writer = false;
    co.lab.monitor_interval = "10s";  // the product's default
    if (!interval.empty()) co.lab.heartbeat_interval = interval;
    std::cout << "\n== idle cost of one node, group running, default monitor_interval, heartbeat.interval "
              << co.lab.heartbeat_interval << " (" << seconds << " s) ==\n";
    // Runs side by side (one per interval, to compare under the same load) keep their own logs.
    set_run_name("bench-idle-" + co.lab.heartbeat_interval + "-" + std::to_string(::getpid()));
    Cluster c(co);
    context(co.lab);
    if (!c.wait_settled(kN1, 30s)) throw std::runtime_error("not settled");
    FloorPair floor = start_floor(c.lab(), co.lab);
    std::map<std::string, pid_t> pid = {{kN1, c.daemon_pid(kN1)}, {kN2, c.daemon_pid(kN2)}};
    std::map<std::string, pid_t> floor_pid = {{kN1, floor.leader}, {kN2, floor.follower}};
    std::map<std::string, ProcSample> first, last, floor_first, floor_last;
    std::map<std::string, long> rss_max;
    auto take = [&](std::map<std::string, ProcSample>& daemons, std::map<std::string, ProcSample>& floors) {
        for (auto& [h, p] : pid) daemons[h] = sample(p);
        for (auto& [h, p] : floor_pid) floors[h] = sample(p);
    };
    take(first, floor_first);
    auto t0 = veeamha::base::Clock::now();
    auto until = t0 + std::chrono::seconds(seconds);
    while (veeamha::base::Clock::now() < until) {
        std::this_thread::sleep_for(std::min<veeamha::base::Clock::duration>(5s, until - veeamha::base::Clock::now()));
        take(last, floor_last);
        for (auto& [h, p] : pid) rss_max[h] = std::max(rss_max[h], last[h].rss_kib);
    }
    double minutes = std::chrono::duration<double>(veeamha::base::Clock::now() - t0).count() / 60.0;
    if (!c.wait_settled(kN1, 10s)) std::cout << "  (warning: the cluster was not settled at the end)\n";
    for (auto& [h, p] : floor_pid)
        if (!c.lab().running(p)) std::cout << "  (warning: the floor pair's " << h << " side exited: see its log)\n";
    std::cout << "\n  node            RSS now   RSS max   peak (HWM)   CPU s/min: loop thread   round floor   ours"
                 "   whole daemon (user + sys)   its commands   loop wake-ups/s\n";
    for (const char* h : {kN1, kN2}) {
        char buf[300];
        double user = (last[h].user - first[h].user) / minutes, sys = (last[h].sys - first[h].sys) / minutes;
        const double loop = (last[h].loop - first[h].loop) / minutes;
        const double floor_loop = (floor_last[h].loop - floor_first[h].loop) / minutes;
        std::snprintf(buf, sizeof buf, "  %-2s %-9s %6.1f MiB %6.1f MiB %8.1f MiB %17.3f %13.3f %6.3f %10.2f (%.2f + %.2f) %14.3f %17.1f",
                      h, std::string(h) == kN1 ? "(active)" : "(passive)", last[h].rss_kib / 1024.0,
                      rss_max[h] / 1024.0, last[h].hwm_kib / 1024.0, loop, floor_loop, loop - floor_loop, user + sys, user, sys,
                      (last[h].children - first[h].children) / minutes,
                      (last[h].wakeups - first[h].wakeups) / (minutes * 60));
        std::cout << buf << "\n";
    }
    std::cout << "  (loop thread: exact run time of the event loop; round floor: the same, at the same time, of\n"
                 "   veeamha_round_floor, the same rounds with only their system calls, taking turns to lead;\n"
                 "   ours: loop thread minus round floor, what our code adds to the rounds;\n"
                 "   whole daemon: the kernel's 100 Hz samples, also counting the worker threads that start the\n"
                 "   monitors; its commands: the monitors the daemon runs, here the exec resource's shell script\n"
                 "   every 10 s)\n";
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 10;
    long idle_seconds = 180;
    std::string only, interval;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--idle-seconds" && i + 1 < argc) idle_seconds = std::max(10L, std::atol(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else if (a == "--interval" && i + 1 < argc) interval = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--runs N] [--idle-seconds S] [--interval DURATION] [--only crash|move|back|idle|crash-alert]\n", argv[0]);
            return a == "--help" ? 0 : 2;
        }
    }
    if (::geteuid() != 0) {
        std::fprintf(stderr, "%s: needs root (network namespaces, loop devices, mounts)\n", argv[0]);
        return 1;
    }
    machine();
    try {
        if (only.empty() || only == "crash") {
            crash(runs, false);
            crash(runs, true);
        }
        if (only == "crash-alert") crash(runs, false, true);
        if (only.empty() || only == "move") move(runs);
        if (only.empty() || only == "back") vcenter_back(std::max(1, runs / 2));
        if (only.empty() || only == "idle") idle(idle_seconds, interval);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n(logs kept under %s)\n", argv[0], e.what(), kept_logs_root().c_str());
        return 1;
    }
    std::cout << "\nPacemaker 2.1.5 + Corosync 3.1.7 on this machine kind, same lab shape (docs/e2e.md):\n"
                 "  crash failover 7.06 s median (token 3000, default; 3.24 s with token 1000), planned switchover\n"
                 "  0.63 s median, idle ~200 MiB RSS (8 processes) and 0.5-0.9 CPU s/min per node.\n";
    return 0;
}
