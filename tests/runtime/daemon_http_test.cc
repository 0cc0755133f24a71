// SPDX-License-Identifier: GPL-2.0-or-later
// A real veeam-had, alone in a network namespace this test makes (its peer never answers, its
// fence agent fails), scraped with the real curl: /metrics passes the real promtool and shows
// the failing fencing check; /healthz and HEAD answer; a SIGHUP with a broken file shows as a
// failed reload, a good one as a successful one. Root only (unshare --net).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "base/process.h"
#include "tests/common/skip.h"
#include "tests/common/temp_dir.h"
#include "tests/runtime/exposition.h"

using namespace veeamha;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool installed(const std::string& program) {
    base::ProcessSpec spec;
    spec.argv = {"sh", "-c", "command -v " + program};
    spec.deadline = base::Clock::now() + 10s;
    return base::run_process(spec).success();
}

// The configuration: one link on a veth in the namespace, a fence agent that cannot read the
// peer's power (/bin/false), an exec resource that is stopped, one sync file.
std::string config_text(const test::TempDir& dir) {
    return "cluster: {name: metrics-lab, key_file: " + (dir / "authkey") + ", admin_socket: " + (dir / "admin.sock") +
           ", state_dir: " + (dir / "state") + ", http_listen: \"127.0.0.1:9668\"}\n"
           "nodes:\n"
           "  - {name: alpha, addresses: [10.77.0.1]}\n"
           "  - {name: beta, addresses: [10.77.0.2]}\n"
           "fencing: {levels: [{agent: /bin/false}]}\n"
           "policy: {ping_targets: [10.77.0.254]}\n"
           "resources: [{name: app, exec: {start: [/bin/true], stop: [/bin/true], monitor: [/bin/sh, -c, 'exit 7']}}]\n"
           "sync: [" + (dir / "synced.conf") + "]\n";
}

void write(const std::string& path, const std::string& text, mode_t mode = 0600) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
}

// The daemon as its own process: `unshare --net` makes the namespace and execs the shell,
// which brings up lo and a veth pair and execs veeam-had, all in the one pid.
class Daemon {
public:
    explicit Daemon(const test::TempDir& dir) {
        base::SpawnSpec spec;
        spec.argv = {"unshare", "--net", "--", "sh", "-c",
                     "set -e; ip link set lo up; ip link add v0 type veth peer name v1; "
                     "ip addr add 10.77.0.1/24 dev v0; ip link set v1 up; ip link set v0 up; "
                     "exec \"$0\" --config \"$1\" --node alpha >\"$2\" 2>&1",
                     VEEAM_HAD_BIN, dir / "veeam-ha.yaml", dir / "daemon.log"};
        std::string error;
        pid_ = base::spawn(spec, error);
        REQUIRE(pid_ > 0);
        log_ = dir / "daemon.log";
    }
    ~Daemon() { stop(); }

    int stop() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        int status = 0;
        auto give_up = std::chrono::steady_clock::now() + 10s;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > give_up) {
                ::kill(-pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(20ms);  // polling a child's exit: no fd to wait on here
        }
        pid_ = -1;
        return status;
    }
    void signal(int signo) const { ::kill(pid_, signo); }
    std::string log() const {
        std::ifstream in(log_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    // curl inside the daemon's namespace: its status line and body ("" and 0 when none).
    base::ProcessResult curl(std::vector<std::string> args) const {
        base::ProcessSpec spec;
        spec.argv = {"nsenter", "--net=/proc/" + std::to_string(pid_) + "/ns/net", "curl", "-sS", "--max-time", "10"};
        spec.argv.insert(spec.argv.end(), args.begin(), args.end());
        spec.deadline = base::Clock::now() + 20s;
        return base::run_process(spec);
    }
    std::string get(const std::string& path) const { return curl({"http://127.0.0.1:9668" + path}).out; }

    // Waits until `ok` holds for what GET `path` returns (the daemon works at its own pace).
    std::string wait_for(const std::string& path, const std::function<bool(const std::string&)>& ok,
                         std::chrono::seconds budget) const {
        auto until = std::chrono::steady_clock::now() + budget;
        std::string body;
        do {
            body = get(path);
            if (ok(body)) return body;
            std::this_thread::sleep_for(100ms);  // the daemon's state changes on its own timers
        } while (std::chrono::steady_clock::now() < until);
        FAIL("GET " << path << " did not get there within " << budget.count() << " s; last answer:\n"
                    << body << "\ndaemon log:\n" << log());
        return body;
    }

private:
    pid_t pid_ = -1;
    std::string log_;
};

}  // namespace

TEST_CASE("a running daemon's /metrics passes promtool and shows the failing fencing check and the reloads") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root for a network namespace");
    for (const char* tool : {"curl", "promtool", "unshare", "nsenter", "ip"})
        if (!installed(tool)) VEEAMHA_SKIP_TEST(std::string(tool) + " not installed (scripts/install-deps)");
    test::TempDir dir{"veeamha-daemon-http"};
    write(dir / "authkey", std::string(32, 'k'));
    write(dir / "veeam-ha.yaml", config_text(dir), 0644);
    write(dir / "synced.conf", "x\n", 0644);
    Daemon d(dir);

    const std::string id = "cluster=\"metrics-lab\",node=\"alpha\"";
    // The fencing check runs at start; /bin/false cannot read beta's power: FAILING.
    std::string m = d.wait_for("/metrics", [&](const std::string& t) {
        return has(t, "veeamha_fencing_check_ok{" + id + "} ");
    }, 30s);
    INFO(m);
    CHECK(test::check_grouping(m) == "");
    CHECK(test::promtool_check_metrics(m) == "");
    CHECK(has(m, "veeamha_fencing_check_ok{" + id + "} 0\n"));
    CHECK(has(m, "veeamha_events_total{" + id + ",kind=\"fencing-check\"} 1\n"));
    CHECK(has(m, "veeamha_events_total{" + id + ",kind=\"takeover\"} 0\n"));
    CHECK(has(m, "veeamha_node_state{" + id + ",state=\"passive\"} 1\n"));
    CHECK(has(m, "veeamha_resource_state{" + id + ",resource=\"app\",state=\"stopped\"} 1\n"));
    CHECK(has(m, "veeamha_build_info{" + id + ",version=\""));
    CHECK(has(m, "veeamha_last_reload_success{" + id + "} 1\n"));
    CHECK(has(m, "process_start_time_seconds{" + id + "} 1"));
    CHECK_FALSE(has(m, "veeamha_last_failover_timestamp_seconds{"));

    // The other endpoints of the same daemon.
    base::ProcessResult health = d.curl({"-w", " %{http_code}", "http://127.0.0.1:9668/healthz?probe=1"});
    CHECK(health.out == "ok\n 200");
    base::ProcessResult head = d.curl({"-I", "http://127.0.0.1:9668/metrics"});
    CHECK(has(head.out, "HTTP/1.1 200 OK\r\n"));
    CHECK(has(head.out, "Content-Length: "));
    CHECK(has(d.get("/status"), "\"fencing\":{\"ok\":false"));

    // A SIGHUP with a broken file: still running with the old one, and /metrics says so.
    write(dir / "veeam-ha.yaml", config_text(dir) + "bogus_key: 1\n", 0644);
    d.signal(SIGHUP);
    m = d.wait_for("/metrics", [&](const std::string& t) { return has(t, "veeamha_last_reload_success{" + id + "} 0\n"); },
                   20s);
    CHECK(test::promtool_check_metrics(m) == "");
    write(dir / "veeam-ha.yaml", config_text(dir), 0644);
    d.signal(SIGHUP);
    d.wait_for("/metrics", [&](const std::string& t) { return has(t, "veeamha_last_reload_success{" + id + "} 1\n"); },
               20s);

    int status = d.stop();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
