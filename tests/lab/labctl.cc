// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-lab: the lab (tests/lab) for humans and the README demo.
//
// `up` forks a keeper process that owns the Lab (hosts, network, disk, vCenter simulator) and
// serves the lab's control socket; every other command is a request to it, except `exec`,
// which enters the host itself (so a shell there is interactive). The run's state is in
// /run/veeam-ha-lab/current (a link to the run folder). `down` always cleans up: through the
// keeper, or, if the keeper died, by removing what the run left.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/read_file.h"
#include "tests/lab/control.h"
#include "tests/lab/lab.h"
#include "tests/lab/mount_watch.h"
#include "tests/lab/writer.h"

namespace fs = std::filesystem;
using namespace veeamha;
using namespace veeamha::lab;
using namespace std::chrono_literals;

namespace {

const std::string kRunRoot = "/run/veeam-ha-lab";
const std::string kDiskRoot = "/var/tmp/veeam-ha-lab";
const std::string kCurrent = kRunRoot + "/current";

int usage() {
    std::fprintf(stderr,
                 "usage: veeam-ha-lab COMMAND\n"
                 "  up [--daemon PATH] [--no-vcenter] [--no-disk]\n"
                 "                          bring the lab up (with --daemon: PATH --config CFG --node N runs\n"
                 "                          on n1 and n2, and again whenever a host powers on)\n"
                 "  down                    tear everything down (always cleans up)\n"
                 "  status | events | config\n"
                 "  kill HOST               crash a host (processes killed, NICs disconnected)\n"
                 "  power-on HOST           boot it again (through vCenter if vCenter powered it off)\n"
                 "  cut LINK | heal [LINK]  LINK: 0|lan, 1|heartbeat; heal without LINK heals everything\n"
                 "  isolate HOST | reconnect HOST     pull / plug every cable of a host\n"
                 "  cut-heartbeat | heal-heartbeat    drop cluster traffic (port 5409) on every link\n"
                 "  loss LINK PERCENT       random loss on a link (iptables; netem is not available)\n"
                 "  block-vcenter on|off    vCenter unreachable, gateway still answers ping\n"
                 "  exec HOST -- CMD...     run CMD inside a host (n1, n2, client), interactively\n"
                 "  spawn HOST -- CMD...    start a long-running CMD inside a host (log in the run folder)\n"
                 "  writer start|stop       the client's record writer on the floating IP; stop verifies\n"
                 "  watch start|stop        watch both hosts' mount tables for the shared disk; stop reports\n");
    return 2;
}

struct State {
    std::string run_id, run_dir, config, control, switch_netns, loop_device, mountpoint;
    std::vector<HostRef> hosts;
};

bool load_state(State& s, std::string* error) {
    std::error_code ec;
    std::string dir = fs::read_symlink(kCurrent, ec).string();
    if (ec) {
        *error = "no lab is up (" + kCurrent + " is missing); run: veeam-ha-lab up";
        return false;
    }
    std::ifstream in(dir + "/state");
    if (!in) {
        *error = "the lab's state file " + dir + "/state is missing";
        return false;
    }
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string key;
        f >> key;
        if (key == "host") {
            HostRef h;
            f >> h.name >> h.netns >> h.init_pid >> h.cgroup;
            s.hosts.push_back(h);
        } else {
            std::string value;
            std::getline(f >> std::ws, value);
            if (key == "run_id") s.run_id = value;
            else if (key == "run_dir") s.run_dir = value;
            else if (key == "config") s.config = value;
            else if (key == "control") s.control = value;
            else if (key == "switch_netns") s.switch_netns = value;
            else if (key == "loop_device") s.loop_device = value;
            else if (key == "mountpoint") s.mountpoint = value;
        }
    }
    return true;
}

// The keeper's PID from the run's owner file, if that process still exists.
pid_t keeper_pid(const std::string& run_dir) {
    std::ifstream owner(run_dir + "/owner");
    pid_t pid = 0;
    unsigned long long start = 0;
    if (!(owner >> pid >> start) || pid <= 0) return 0;
    return process_start_time(pid) == start ? pid : 0;
}

int request(const std::vector<std::string>& words) {
    State s;
    std::string error;
    if (!load_state(s, &error)) {
        std::fprintf(stderr, "veeam-ha-lab: %s\n", error.c_str());
        return 1;
    }
    auto r = control_request(s.control, words);
    if (!r.reached) {
        std::fprintf(stderr, "veeam-ha-lab: %s (is the lab's keeper dead? `veeam-ha-lab down` cleans up)\n",
                     r.text.c_str());
        return 1;
    }
    if (!r.ok) {
        std::fprintf(stderr, "veeam-ha-lab: %s\n", r.text.c_str());
        return 1;
    }
    std::fputs(r.text.c_str(), stdout);
    return 0;
}

std::string up_banner(const Lab& lab, const std::string& daemon) {
    std::ostringstream out;
    out << "lab " << lab.run_id() << " is up (run folder " << lab.run_dir() << ")\n";
    for (const auto& h : lab.hosts()) {
        out << "  " << h << ":";
        for (int l = 0; l < 2; ++l)
            if (!lab.address(h, l).empty()) out << "  eth" << l << " " << lab.address(h, l);
        out << "\n      enter: veeam-ha-lab exec " << h << " -- bash\n"
            << "         or: nsenter --target " << lab.init_pid(h) << " --net --mount --uts --pid bash\n";
    }
    out << "  LAN 10.10.0.0/24 (link 0), heartbeat 10.11.0.0/24 (link 1); gateway and ping target " << lab.gateway()
        << "\n";
    if (lab.has_vcenter())
        out << "  vCenter simulator: https://" << lab.gateway() << ":443/sdk (VMs n1, n2; power-off kills the host)\n";
    if (!lab.loop_device().empty())
        out << "  shared disk: " << lab.loop_device() << " (XFS), mounted by veeam-had at " << lab.mountpoint() << "\n";
    out << "  floating IP " << lab.floating_cidr() << " on eth0 (added by veeam-had), repo service on port "
        << lab.repo_port() << "\n"
        << "  config (one file, both nodes): " << lab.config_path() << "\n";
    if (daemon.empty())
        out << "  start the daemons: veeam-ha-lab spawn n1 -- veeam-had --config " << lab.config_path()
            << " --node n1   (same for n2)\n";
    else
        out << "  veeam-had runs on n1 and n2 (logs in " << lab.log_dir() << ")\n";
    out << "  tear down: veeam-ha-lab down\n";
    return out.str();
}

// The keeper: owns the Lab until `down` (or SIGTERM/SIGINT).
int keeper(int report_fd, const std::string& daemon, bool vcenter, bool disk) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread exists
    auto say = [&](const std::string& text) {
        (void)!::write(report_fd, text.data(), text.size());
    };
    // Never keep the caller's terminal or pipe open: output goes to a log (moved into the run
    // folder once it exists).
    std::string boot_log = kRunRoot + "/keeper-" + std::to_string(::getpid()) + ".log";
    int log_fd = ::open(boot_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::close(log_fd);
    }
    std::unique_ptr<Lab> lab;
    std::atomic<bool> down_requested{false};
    std::mutex writer_mu;
    std::unique_ptr<RepoWriter> writer;
    std::unique_ptr<DoubleMountWatcher> watcher;
    try {
        LabOptions o;
        o.run_root = kRunRoot;
        o.disk_root = kDiskRoot;
        o.vcenter = vcenter;
        o.disk = disk;
        Lab* raw = nullptr;
        auto start_daemon = [&raw, daemon](const std::string& host) {
            if (daemon.empty() || !raw) return;
            try {
                raw->spawn_in(host, {daemon, "--config", raw->config_path(), "--node", host}, "veeam-had");
            } catch (const std::exception& e) {
                std::fprintf(stderr, "keeper: starting veeam-had on %s: %s\n", host.c_str(), e.what());
            }
        };
        o.on_power_on = start_daemon;
        lab = std::make_unique<Lab>(o);
        raw = lab.get();
        lab->set_extra_commands([&](const std::vector<std::string>& w, bool* ok) -> std::optional<std::string> {
            if (w[0] == "down") {
                down_requested = true;
                return std::string("tearing down\n");
            }
            if (w[0] == "spawn") {
                if (w.size() < 3) throw std::runtime_error("spawn HOST CMD...");
                std::vector<std::string> argv(w.begin() + 2, w.end());
                auto s = lab->spawn_in(w[1], argv);
                return "pid " + std::to_string(s.pid) + ", log " + s.log + "\n";
            }
            if (w[0] == "config") {
                return "# " + lab->config_path() + "\n" + test::slurp(lab->config_path());
            }
            if (w[0] == "writer" && w.size() == 2 && w[1] == "start") {
                std::lock_guard<std::mutex> lock(writer_mu);
                if (writer) throw std::runtime_error("the writer is already running");
                WriterOptions wo;
                wo.netns = lab->netns(kClient);
                wo.address = lab->floating_ip();
                wo.port = lab->repo_port();
                writer = std::make_unique<RepoWriter>(wo);
                return std::string("writing records to records.log on " + lab->floating_ip() + ":6162\n");
            }
            if (w[0] == "writer" && w.size() == 2 && w[1] == "stop") {
                std::lock_guard<std::mutex> lock(writer_mu);
                if (!writer) throw std::runtime_error("the writer is not running");
                writer->stop();
                auto st = writer->stats();
                auto acked = writer->acked();
                writer.reset();
                std::string error;
                auto data = fetch_through_service(lab->netns(kClient), lab->floating_ip(), lab->repo_port(),
                                                  "records.log", &error);
                std::ostringstream out;
                out << "writer: " << st.acked << " records acknowledged, " << st.failures << " failed attempts, "
                    << st.connects << " connections, longest gap " << st.longest_gap.count() << " ms\n";
                if (!data) {
                    *ok = false;
                    out << "cannot read records.log back through the service: " << error << "\n";
                    return out.str();
                }
                auto v = verify_records(*data, acked);
                *ok = v.ok();
                out << "verify: " << v.summary() << "\n";
                return out.str();
            }
            if (w[0] == "watch" && w.size() == 2 && (w[1] == "start" || w[1] == "stop")) {
                std::lock_guard<std::mutex> lock(writer_mu);
                if (lab->loop_device().empty()) throw std::runtime_error("this lab has no shared disk");
                if (w[1] == "start") {
                    if (watcher) throw std::runtime_error("the watcher is already running");
                    watcher = std::make_unique<DoubleMountWatcher>(*lab, lab->disk_dev());
                    return std::string("watching " + lab->loop_device() + " in n1 and n2 for double mounts\n");
                }
                if (!watcher) throw std::runtime_error("the watcher is not running");
                watcher->stop();
                std::string report = watcher->report() + "\n";
                *ok = watcher->overlap_count() == 0;
                watcher.reset();
                return report;
            }
            return std::nullopt;
        });
        std::error_code ec;
        fs::remove(kCurrent, ec);
        fs::create_directory_symlink(lab->run_dir(), kCurrent, ec);
        if (ec) throw std::runtime_error("cannot link " + kCurrent + ": " + ec.message());
        if (!daemon.empty())
            for (const char* n : {kN1, kN2}) start_daemon(n);
        ::rename(boot_log.c_str(), (lab->log_dir() + "/keeper.log").c_str());
        say("OK\n" + up_banner(*lab, daemon));
    } catch (const std::exception& e) {
        say(std::string("ERR ") + e.what() + "\n");
        ::close(report_fd);
        lab.reset();
        ::unlink(boot_log.c_str());
        return 1;
    }
    ::close(report_fd);
    while (!down_requested) {
        timespec tick{0, 200 * 1000 * 1000};
        if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
    }
    {
        std::lock_guard<std::mutex> lock(writer_mu);
        writer.reset();
        watcher.reset();
    }
    std::error_code ec;
    if (fs::read_symlink(kCurrent, ec) == fs::path(lab->run_dir())) fs::remove(kCurrent, ec);
    lab.reset();  // tears down
    return 0;
}

int cmd_up(int argc, char** argv) {
    std::string daemon;
    bool vcenter = true, disk = true;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--daemon" && i + 1 < argc) daemon = fs::absolute(argv[++i]).string();
        else if (a == "--no-vcenter") vcenter = false;
        else if (a == "--no-disk") disk = false;
        else return usage();
    }
    fs::create_directories(kRunRoot);
    std::error_code ec;
    fs::path current = fs::read_symlink(kCurrent, ec);
    if (!ec) {
        if (keeper_pid(current.string()) > 0) {
            std::fprintf(stderr, "veeam-ha-lab: a lab is already up (%s); `veeam-ha-lab down` first\n",
                         current.c_str());
            return 1;
        }
        for (const auto& l : Lab::cleanup_run(current.filename().string(), kRunRoot, kDiskRoot))
            std::fprintf(stderr, "veeam-ha-lab: previous lab: %s\n", l.c_str());
        fs::remove(kCurrent, ec);
    }
    int report[2];
    // O_CLOEXEC: the lab's own children must not hold the report pipe open.
    if (::pipe2(report, O_CLOEXEC) != 0) return 1;
    pid_t child = ::fork();
    if (child < 0) {
        std::perror("fork");
        return 1;
    }
    if (child == 0) {
        ::close(report[0]);
        ::setsid();
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::close(null);
        // A second fork: the keeper is not our child (nobody waits for it; init reaps it).
        pid_t k = ::fork();
        if (k != 0) ::_exit(k < 0 ? 1 : 0);
        ::_exit(keeper(report[1], daemon, vcenter, disk));
    }
    ::close(report[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    std::string said;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(report[0], buf, sizeof buf)) > 0) said.append(buf, static_cast<size_t>(n));
    if (said.rfind("OK\n", 0) == 0) {
        std::fputs(said.c_str() + 3, stdout);
        return 0;
    }
    std::fprintf(stderr, "veeam-ha-lab: the lab did not come up: %s", said.empty() ? "no answer\n" : said.c_str() + 4);
    return 1;
}

int cmd_down() {
    std::error_code ec;
    fs::path current = fs::read_symlink(kCurrent, ec);
    if (ec) {
        // Nothing current: still remove whatever crashed runs left.
        for (const auto& l : Lab::cleanup_stale(kRunRoot, kDiskRoot)) std::printf("%s\n", l.c_str());
        std::printf("no lab is up\n");
        return 0;
    }
    std::string dir = current.string();
    pid_t keeper = keeper_pid(dir);
    if (keeper > 0) {
        auto r = control_request(dir + "/control.sock", {"down"}, 10);
        auto until = std::chrono::steady_clock::now() + 120s;
        while (keeper_pid(dir) > 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
        if (keeper_pid(dir) > 0) {
            std::fprintf(stderr, "veeam-ha-lab: the keeper (%d) did not finish; killing it\n", keeper);
            ::kill(keeper, SIGKILL);  // verified by its start time above
            std::this_thread::sleep_for(200ms);
        }
        (void)r;
    }
    // Whatever is left (a keeper that crashed, or did not finish).
    for (const auto& l : Lab::cleanup_run(current.filename().string(), kRunRoot, kDiskRoot))
        std::printf("%s\n", l.c_str());
    fs::remove(kCurrent, ec);
    std::printf("lab %s is down\n", current.filename().c_str());
    return 0;
}

int cmd_exec(int argc, char** argv) {
    if (argc < 5 || std::string(argv[3]) != "--") return usage();
    State s;
    std::string error;
    if (!load_state(s, &error)) {
        std::fprintf(stderr, "veeam-ha-lab: %s\n", error.c_str());
        return 1;
    }
    for (const auto& h : s.hosts)
        if (h.name == argv[2]) return run_interactive_in(h, std::vector<std::string>(argv + 4, argv + argc));
    std::fprintf(stderr, "veeam-ha-lab: no host %s (n1, n2, client)\n", argv[2]);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    if (::geteuid() != 0) {
        std::fprintf(stderr, "veeam-ha-lab: needs root (namespaces, loop devices, cgroups)\n");
        return 1;
    }
    std::string cmd = argv[1];
    try {
        if (cmd == "up") return cmd_up(argc, argv);
        if (cmd == "down") return cmd_down();
        if (cmd == "exec") return cmd_exec(argc, argv);
        if (cmd == "spawn") {
            if (argc < 5 || std::string(argv[3]) != "--") return usage();
            std::vector<std::string> words = {"spawn", argv[2]};
            words.insert(words.end(), argv + 4, argv + argc);
            return request(words);
        }
        static const std::vector<std::string> passthrough = {
            "status", "events", "config", "kill", "power-on", "cut", "heal", "isolate", "reconnect",
            "cut-heartbeat", "heal-heartbeat", "loss", "block-vcenter", "writer", "watch"};
        for (const auto& p : passthrough)
            if (cmd == p) return request(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "veeam-ha-lab: %s\n", e.what());
        return 1;
    }
    return usage();
}
