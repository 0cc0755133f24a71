// SPDX-License-Identifier: GPL-2.0-or-later
// The end-to-end fixture: a lab (tests/lab/lab.h) with two REAL veeam-had daemons, the
// double-mount watcher running for the whole test, and the client's record writer. Every test
// brings its own Cluster up and the destructor tears everything down (also after a failed
// REQUIRE); the daemons' logs of the last run of each test are kept under
// build/tests/lab/e2e-logs/<test>/ for a post-mortem.
//
// Checks look at the world's truth first (what is mounted where, who has the floating IP,
// whether the repo service answers from the client, what the vCenter simulator says about
// power, the writer's acknowledged records), and at logs, history and status for the reasons.
// Every wait polls a condition with a bound; nothing sleeps for a fixed time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/lab/lab.h"
#include "tests/lab/mount_watch.h"
#include "tests/lab/writer.h"

namespace veeamha::lab::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Paths of the programs under test (built with the tests; the environment variables
// VEEAMHA_E2E_HAD and VEEAMHA_E2E_HACTL override them).
std::string veeam_had_binary();
std::string veeam_hactl_binary();

// Where each run's logs are kept (<root>/<run name>/), and the name of the run in progress
// (the test's name; the failure listener sets it).
std::string kept_logs_root();
void set_run_name(const std::string& name);

// What `veeam-hactl status --json` says (the fields the tests use).
struct StatusView {
    bool ok = false;          // the command succeeded and its output parsed as JSON
    std::string error;        // why not
    std::string raw;
    std::string cluster, local_node;
    std::string owner;        // "" = null
    uint64_t epoch = 0;
    bool maintenance = false;
    std::string local_state;  // nodes[local]: "unclean" if unclean, else its role (active / passive)
    std::string peer_state;   // nodes[peer].state: membership ("up", "lost", "fenced", ...)
    std::string peer_role;    // nodes[peer].role: active / passive, "" while it is not heard
    std::string local_group;  // nodes[local].group
    std::map<std::string, std::string> resources;     // name -> state
    std::map<std::string, uint64_t> fail_counts;      // name -> fail_count
    bool has_last_failover = false;
    std::string last_failover_node;  // the node that took the group (and recorded it)
    std::string fencing;         // the last fencing check: "ok", "failing", "" = not checked yet
    std::string fencing_detail;
    std::string fencing_at;      // when it was checked
    std::string last_fence;      // the last fence this daemon carried out: "confirmed", "failed", "" = none
    std::string last_fence_detail;
};

// What the world looks like for one host right now.
struct HostTruth {
    bool powered = false;
    bool mounted = false;      // the shared disk is in its mount table
    bool floating_ip = false;  // 10.10.0.208/24 on its eth0
    bool service = false;      // the repo server runs there (its pid file names a live server)
    bool anything() const { return mounted || floating_ip || service; }
    bool everything() const { return mounted && floating_ip && service; }
};

struct ClusterOptions {
    LabOptions lab;
    bool start_daemons = true;  // both daemons at once (a cold start)
    bool writer = true;         // the client's writer from the moment the service answers
    // The writer starts once the group runs here (the cold start's expected owner).
    std::string first_owner = kN1;
    // Appended to the lab's generated config (e.g. an `alerts:` section); the daemons and
    // veeam-hactl then use the result, written next to it (config_path()).
    std::string extra_yaml;
    // An alert program (docs/design.md §9 `alerts`) that appends "EVENT TEXT" lines to
    // /run/veeam-ha/alerts.log of the host it runs on (read them with alerts(host)).
    bool record_alerts = false;
    // Two more alert programs: one that hangs forever at every event, and Pacemaker's own
    // alert_file.sh sample (Debian's pacemaker package) writing to /run/veeam-ha/pcmk-alerts.log
    // of its host (read with pcmk_alerts(host)).
    bool hanging_alert = false;
};

class Cluster {
public:
    explicit Cluster(ClusterOptions options = {});
    ~Cluster();  // writer and watcher stopped, logs kept, lab torn down
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    Lab& lab() { return *lab_; }
    DoubleMountWatcher& watcher() { return *watcher_; }
    const std::string& kept_logs() const { return kept_logs_; }

    // ---- daemons ----
    // Starts veeam-had on the host (as systemd would at boot). Throws if it cannot.
    pid_t start_daemon(const std::string& host);
    pid_t daemon_pid(const std::string& host) const;  // -1 = none started / it exited
    bool daemon_running(const std::string& host);
    // SIGTERM (what `systemctl stop` does); wait status once it exited, nullopt at the deadline.
    std::optional<int> stop_daemon(const std::string& host, std::chrono::milliseconds budget = 20s);
    // kill -9 and wait until it is reaped; then (if restart) start it again at once.
    void kill9_daemon(const std::string& host, bool restart);
    // Restart the daemon whenever the lab powers a host on (default on).
    void set_start_on_power_on(bool on) { start_on_power_on_ = on; }

    // The config file both daemons and veeam-hactl use (the lab's, or the lab's + extra_yaml).
    const std::string& config_path() const { return config_path_; }
    // What the recording alert program saw on the host ("" if nothing).
    std::string alerts(const std::string& host) const;
    // What Pacemaker's alert_file.sh sample wrote on the host (hanging_alert).
    std::string pcmk_alerts(const std::string& host) const;

    // ---- CLI ----
    base::ProcessResult hactl(const std::string& host, const std::vector<std::string>& args,
                        std::chrono::milliseconds budget = 15s);
    StatusView status(const std::string& host);
    // GET `path` from the daemon's HTTP endpoint (cluster.http_listen, 127.0.0.1:9668 in the
    // host's network namespace): the body, or nullopt.
    std::optional<std::string> http_get(const std::string& host, const std::string& path);

    // ---- logs ----
    std::string log_path(const std::string& host) const;
    std::string log(const std::string& host) const;  // the whole log of every daemon run there
    size_t log_mark(const std::string& host) const;  // current size: log_since(host, mark)
    std::string log_since(const std::string& host, size_t mark) const;
    // Polls until the host's log (from `mark` on) contains `text`.
    bool wait_log(const std::string& host, const std::string& text, std::chrono::milliseconds budget,
                  size_t mark = 0) const;
    static int count(const std::string& haystack, const std::string& needle);

    // ---- the world ----
    HostTruth truth(const std::string& host);
    // The one host that runs the whole group while the other runs nothing of it, and the
    // service answers on the floating IP from the client; "" otherwise.
    std::string running_on();
    // Polls until the group runs entirely on `host`, nothing of it on the other host, and the
    // service answers from the client.
    bool wait_running_on(const std::string& host, std::chrono::milliseconds budget);
    // The repo server's PID in the host's own PID namespace (its pid file), 0 if none.
    pid_t service_pid(const std::string& host);
    // The VM's power state as the vCenter simulator reports it ("on", "off", or an error).
    std::string vcenter_power(const std::string& host);
    // Polls until both daemons report the same owner and epoch, `owner` runs the group
    // (status active, group started) and the other is passive with the peer up.
    bool wait_settled(const std::string& owner, std::chrono::milliseconds budget);

    // ---- writer ----
    void start_writer();
    RepoWriter* writer() { return writer_.get(); }
    // Waits for `count` more acknowledged records than now.
    bool wait_more_acks(uint64_t count, std::chrono::milliseconds budget);
    // Stops the writer and verifies every acknowledged record on the disk, as the host that
    // has it mounted sees it, and through the service. Returns "" or the problems.
    std::string stop_writer_and_verify();

    // Everything for a failure message: lab status and events, both daemons' log tails.
    std::string diagnostics(size_t log_lines = 60);

    // Polls `condition` until true or the budget.
    static bool eventually(std::chrono::milliseconds budget, const std::function<bool()>& condition,
                           std::chrono::milliseconds period = 20ms);
    // True if `condition` holds at every poll for the whole duration (false at the first miss).
    static bool holds_for(std::chrono::milliseconds duration, const std::function<bool()>& condition,
                          std::chrono::milliseconds period = 50ms);

private:
    void on_power_on(const std::string& host);
    void keep_logs();

    ClusterOptions options_;
    std::unique_ptr<Lab> lab_;
    std::unique_ptr<DoubleMountWatcher> watcher_;
    std::unique_ptr<RepoWriter> writer_;
    mutable std::mutex mu_;
    std::map<std::string, pid_t> daemons_;
    bool start_on_power_on_ = true;
    std::string kept_logs_;
    std::string config_path_;
};

// The cluster whose test is running (for the failure listener that prints its diagnostics).
Cluster* current_cluster();

}  // namespace veeamha::lab::e2e
