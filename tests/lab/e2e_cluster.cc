// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/e2e_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/lab/host_proc.h"

namespace veeamha::lab::e2e {

namespace fs = std::filesystem;

namespace {

Cluster* g_current = nullptr;
std::string g_run_name = "unnamed";

std::string read_whole(const std::string& path, size_t from = 0) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    in.seekg(static_cast<std::streamoff>(from));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string tail_lines(const std::string& text, size_t lines) {
    size_t pos = text.size();
    for (size_t n = 0; n <= lines && pos > 0; ++n) {
        size_t nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) return text;
        if (n < lines) pos = nl;
        else return text.substr(nl + 1);
    }
    return text.substr(pos);
}

std::string safe_name(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    while (out.find("__") != std::string::npos) out.replace(out.find("__"), 2, "_");
    return out.substr(0, 80);
}

}  // namespace

std::string veeam_had_binary() {
    const char* env = std::getenv("VEEAMHA_E2E_HAD");
    return env && *env ? env : VEEAMHA_E2E_HAD;
}

std::string veeam_hactl_binary() {
    const char* env = std::getenv("VEEAMHA_E2E_HACTL");
    return env && *env ? env : VEEAMHA_E2E_HACTL;
}

Cluster* current_cluster() { return g_current; }
void set_run_name(const std::string& name) { g_run_name = name; }

std::string kept_logs_root() {
#ifdef VEEAMHA_E2E_LOGS
    return VEEAMHA_E2E_LOGS;
#else
    return "/var/tmp/veeam-had-e2e-logs";
#endif
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
    LabOptions lo = options_.lab;
    lo.on_power_on = [this](const std::string& host) { on_power_on(host); };
    lab_ = std::make_unique<Lab>(lo);
    try {
        config_path_ = lab_->config_path();
        std::string extra = options_.extra_yaml;
        if (options_.record_alerts) {
            std::string script = lab_->run_dir() + "/record-alert";
            std::ofstream out(script);
            out << "#!/bin/sh\n# e2e: every alert veeam-had raises, one line each, in the host's /run/veeam-ha\n"
                   "echo \"$1 $2\" >> /run/veeam-ha/alerts.log\n";
            out.close();
            fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                        fs::perms::others_read | fs::perms::others_exec);
            extra += "alerts:\n  - exec: " + script + "\n";
        }
        if (options_.hanging_alert) {
            auto executable = [](const std::string& path) {
                fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec);
            };
            std::string hangs = lab_->run_dir() + "/hanging-alert";
            std::ofstream(hangs) << "#!/bin/sh\n# e2e: an alert program that never returns\nexec sleep 100000\n";
            executable(hangs);
            std::string pcmk = lab_->run_dir() + "/alert_file.sh";
            fs::copy_file("/usr/share/pacemaker/alerts/alert_file.sh.sample", pcmk, fs::copy_options::overwrite_existing);
            executable(pcmk);
            if (!options_.record_alerts) extra += "alerts:\n";
            extra += "  - exec: " + hangs + "\n    events: [node, fencing, resource]\n    timeout: 10m\n";
            extra += "  - exec: " + pcmk + "\n    recipient: /run/veeam-ha/pcmk-alerts.log\n    events: [node, fencing]\n";
        }
        if (!extra.empty()) {
            config_path_ = lab_->run_dir() + "/veeam-ha-e2e.yaml";
            std::ofstream out(config_path_);
            out << lab_->config_yaml() << extra;
            if (!out) throw std::runtime_error("cannot write " + config_path_);
        }
        // Made after the lab: watches both hosts' mount tables for the whole test.
        watcher_ = std::make_unique<DoubleMountWatcher>(*lab_, lab_->disk_dev());
        if (options_.start_daemons) {
            start_daemon(kN1);
            start_daemon(kN2);
            if (options_.writer) {
                if (!wait_running_on(options_.first_owner, 30s))
                    throw std::runtime_error("the cold start did not bring the group up on " + options_.first_owner +
                                             "\n" + diagnostics());
                start_writer();
            }
        }
    } catch (...) {
        // No destructor runs for a constructor that throws: keep the logs and tear down here.
        start_on_power_on_ = false;
        try {
            keep_logs();
        } catch (...) {
        }
        writer_.reset();
        watcher_.reset();
        lab_.reset();
        throw;
    }
    g_current = this;
}

Cluster::~Cluster() {
    try {
        if (writer_) writer_->stop();
        if (watcher_) watcher_->stop();
        // Stop the daemons' restarts on power-on while the lab goes down.
        start_on_power_on_ = false;
        keep_logs();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "e2e: teardown: %s\n", e.what());
    }
    g_current = nullptr;
    writer_.reset();
    watcher_.reset();
    lab_.reset();
}

void Cluster::keep_logs() {
    fs::path dir = fs::path(kept_logs_root()) / safe_name(g_run_name);
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    for (const auto& entry : fs::directory_iterator(lab_->log_dir(), ec))
        fs::copy_file(entry.path(), dir / entry.path().filename(), fs::copy_options::overwrite_existing, ec);
    std::ofstream out(dir / "lab.txt");
    out << lab_->status_text() << "\nevents:\n";
    auto events = lab_->events();
    auto t0 = events.empty() ? base::Clock::now() : events.front().at;
    for (const auto& e : events)
        out << std::chrono::duration_cast<std::chrono::milliseconds>(e.at - t0).count() << " ms  " << e.text << "\n";
    if (watcher_) out << "\nwatcher: " << watcher_->report() << "\n";
    kept_logs_ = dir.string();
}

void Cluster::on_power_on(const std::string& host) {
    if (!start_on_power_on_) return;
    try {
        start_daemon(host);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "e2e: starting veeam-had on %s after power-on: %s\n", host.c_str(), e.what());
    }
}

// ---- daemons ------------------------------------------------------------------------------

pid_t Cluster::start_daemon(const std::string& host) {
    auto s = lab_->spawn_in(host, {veeam_had_binary(), "--config", config_path_, "--node", host}, "veeam-had");
    std::lock_guard<std::mutex> lock(mu_);
    daemons_[host] = s.pid;
    return s.pid;
}

pid_t Cluster::daemon_pid(const std::string& host) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = daemons_.find(host);
    return it == daemons_.end() ? -1 : it->second;
}

bool Cluster::daemon_running(const std::string& host) {
    pid_t pid = daemon_pid(host);
    return pid > 0 && lab_->running(pid);
}

std::optional<int> Cluster::stop_daemon(const std::string& host, std::chrono::milliseconds budget) {
    pid_t pid = daemon_pid(host);
    if (pid <= 0 || !lab_->signal(pid, SIGTERM)) return std::nullopt;
    return lab_->wait_exit(pid, base::Clock::now() + budget);
}

void Cluster::kill9_daemon(const std::string& host, bool restart) {
    pid_t pid = daemon_pid(host);
    if (pid <= 0 || !lab_->signal(pid, SIGKILL))
        throw std::runtime_error("no running veeam-had on " + host + " to kill");
    if (!lab_->wait_exit(pid, base::Clock::now() + 10s)) throw std::runtime_error("veeam-had on " + host + " survived SIGKILL");
    if (restart) start_daemon(host);
}

// ---- CLI ----------------------------------------------------------------------------------

base::ProcessResult Cluster::hactl(const std::string& host, const std::vector<std::string>& args,
                             std::chrono::milliseconds budget) {
    std::vector<std::string> argv = {veeam_hactl_binary(), "--config", config_path_, "--node", host};
    argv.insert(argv.end(), args.begin(), args.end());
    return lab_->exec_in(host, argv, budget);
}

StatusView Cluster::status(const std::string& host) {
    StatusView v;
    auto r = hactl(host, {"status", "--json"});
    v.raw = r.out;
    if (!r.success()) {
        v.error = "veeam-hactl status --json on " + host + ": " + r.describe() + ": " + r.err;
        return v;
    }
    namespace pt = boost::property_tree;
    pt::ptree t;
    try {
        std::istringstream in(r.out);
        pt::read_json(in, t);
        v.cluster = t.get<std::string>("cluster");
        v.local_node = t.get<std::string>("local_node");
        v.owner = t.get<std::string>("owner", "");  // absent: nobody runs the group
        v.epoch = t.get<uint64_t>("epoch");
        v.maintenance = t.get<std::string>("maintenance") == "true";
        for (const auto& [_, n] : t.get_child("nodes")) {
            if (n.get<std::string>("name") == v.local_node) {
                v.local_state = n.get<bool>("unclean") ? "unclean" : n.get<std::string>("role");
                v.local_group = n.get<std::string>("group");
            } else {
                v.peer_state = n.get<std::string>("state");
                v.peer_role = n.get<std::string>("role", "");
            }
        }
        for (const auto& [_, res] : t.get_child("resources")) {
            v.resources[res.get<std::string>("name")] = res.get<std::string>("state");
            v.fail_counts[res.get<std::string>("name")] = res.get<uint64_t>("fail_count");
        }
        if (auto f = t.get_child_optional("last_failover")) {
            v.has_last_failover = true;
            v.last_failover_node = f->get<std::string>("node", "");
        }
        if (auto f = t.get_child_optional("fencing")) {
            v.fencing = f->get<bool>("ok") ? "ok" : "failing";
            v.fencing_detail = f->get<std::string>("detail");
            v.fencing_at = f->get<std::string>("at");
        }
        if (auto f = t.get_child_optional("last_fence")) {
            v.last_fence = f->get<bool>("confirmed") ? "confirmed" : "failed";
            v.last_fence_detail = f->get<std::string>("detail");
        }
        v.ok = true;
    } catch (const std::exception& e) {
        v.error = std::string("status --json on ") + host + " does not parse: " + e.what() + "\n" + r.out;
    }
    return v;
}

std::string Cluster::alerts(const std::string& host) const {
    return read_whole(lab_->host_run(host) + "/alerts.log");
}

std::string Cluster::pcmk_alerts(const std::string& host) const {
    return read_whole(lab_->host_run(host) + "/pcmk-alerts.log");
}

std::optional<std::string> Cluster::http_get(const std::string& host, const std::string& path) {
    return in_netns(lab_->netns(host), [&]() -> std::optional<std::string> {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return std::nullopt;
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(9668);
        ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        std::string response;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            char buf[4096];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0 && response.size() < (1u << 20);)
                response.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        size_t body = response.find("\r\n\r\n");
        if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return std::nullopt;
        return response.substr(body + 4);
    });
}

// ---- logs ---------------------------------------------------------------------------------

std::string Cluster::log_path(const std::string& host) const { return lab_->log_dir() + "/" + host + "-veeam-had.log"; }

std::string Cluster::log(const std::string& host) const { return read_whole(log_path(host)); }

size_t Cluster::log_mark(const std::string& host) const {
    std::error_code ec;
    auto size = fs::file_size(log_path(host), ec);
    return ec ? 0 : static_cast<size_t>(size);
}

std::string Cluster::log_since(const std::string& host, size_t mark) const { return read_whole(log_path(host), mark); }

bool Cluster::wait_log(const std::string& host, const std::string& text, std::chrono::milliseconds budget,
                       size_t mark) const {
    return eventually(budget, [&] { return log_since(host, mark).find(text) != std::string::npos; });
}

int Cluster::count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + needle.size()))
        ++n;
    return n;
}

// ---- the world ----------------------------------------------------------------------------

pid_t Cluster::service_pid(const std::string& host) {
    pid_t init = lab_->init_pid(host);
    if (init <= 0) return 0;
    auto text = lab_->read_file_in(host, "/run/veeam-ha/repo-server.pid", 64);
    if (!text) return 0;
    pid_t pid = static_cast<pid_t>(std::strtol(text->c_str(), nullptr, 10));
    if (pid <= 0) return 0;
    // The host's own /proc (its PID namespace): a live repo server with that PID?
    std::string proc = "/proc/" + std::to_string(init) + "/root/proc/" + std::to_string(pid);
    std::string comm = read_whole(proc + "/comm");
    std::string stat = read_whole(proc + "/stat");
    size_t paren = stat.rfind(')');
    bool zombie = paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
    return comm.rfind("veeam-ha-lab-re", 0) == 0 && !zombie ? pid : 0;
}

HostTruth Cluster::truth(const std::string& host) {
    HostTruth t;
    t.powered = lab_->powered(host);
    // A powered-off host keeps its network namespace with the addresses it had (cables out):
    // that is the lab's corpse, not a running group.
    if (!t.powered) return t;
    t.mounted = lab_->disk_mounted_in(host);
    auto ips = lab_->hosts_with_floating_ip();
    t.floating_ip = std::find(ips.begin(), ips.end(), host) != ips.end();
    t.service = service_pid(host) > 0;
    return t;
}

std::string Cluster::running_on() {
    HostTruth a = truth(kN1), b = truth(kN2);
    std::string who;
    if (a.everything() && !b.anything()) who = kN1;
    else if (b.everything() && !a.anything()) who = kN2;
    else return "";
    return lab_->service_answers(500ms) ? who : "";
}

bool Cluster::wait_running_on(const std::string& host, std::chrono::milliseconds budget) {
    return eventually(budget, [&] { return running_on() == host; }, 50ms);
}

std::string Cluster::vcenter_power(const std::string& host) {
    try {
        fencing::VSphereFencer fencer(lab_->vsphere(), lab_->vm_uuids());
        auto r = in_netns(lab_->switch_netns(), [&] { return fencer.status(host, base::Clock::now() + 10s); });
        if (r.state == fencing::PowerState::On) return "on";
        if (r.state == fencing::PowerState::Off) return "off";
        return std::string("unknown: ") + r.detail;
    } catch (const std::exception& e) {
        return std::string("error: ") + e.what();
    }
}

bool Cluster::wait_settled(const std::string& owner, std::chrono::milliseconds budget) {
    const std::string other = owner == kN1 ? kN2 : kN1;
    return eventually(budget, [&] {
        StatusView a = status(owner), b = status(other);
        return a.ok && b.ok && a.owner == owner && b.owner == owner && a.epoch == b.epoch && a.local_state == "active" &&
               a.local_group == "started" && b.local_state == "passive" && b.local_group == "stopped" &&
               a.peer_state.rfind("up", 0) == 0 && b.peer_state.rfind("up", 0) == 0;
    }, 100ms);
}

// ---- writer -------------------------------------------------------------------------------

void Cluster::start_writer() {
    WriterOptions wo;
    wo.netns = lab_->netns(kClient);
    wo.address = lab_->floating_ip();
    wo.port = lab_->repo_port();
    writer_ = std::make_unique<RepoWriter>(wo);
}

bool Cluster::wait_more_acks(uint64_t count, std::chrono::milliseconds budget) {
    if (!writer_) return false;
    return writer_->wait_acked(writer_->stats().acked + count, base::Clock::now() + budget);
}

std::string Cluster::stop_writer_and_verify() {
    if (!writer_) return "no writer";
    writer_->stop();
    auto acked = writer_->acked();
    auto stats = writer_->stats();
    std::ostringstream problems;
    if (acked.empty()) problems << "the writer got no acknowledgement at all (" << stats.last_error << ")\n";
    std::string host = lab_->disk_mounted_in(kN1) ? kN1 : lab_->disk_mounted_in(kN2) ? kN2 : "";
    if (host.empty()) {
        problems << "no host has the disk mounted: cannot read the records back\n";
        return problems.str();
    }
    auto direct = lab_->read_file_in(host, lab_->mountpoint() + "/records.log");
    if (!direct) {
        problems << "cannot read records.log on " << host << "'s mount\n";
        return problems.str();
    }
    auto v = verify_records(*direct, acked);
    if (!v.ok() || v.intact != acked.size()) problems << "on the disk (" << host << "): " << v.summary() << "\n";
    if (lab_->service_answers(2s)) {
        std::string error;
        auto through = fetch_through_service(lab_->netns(kClient), lab_->floating_ip(), lab_->repo_port(),
                                             "records.log", &error);
        if (!through) problems << "read through the service failed: " << error << "\n";
        else if (*through != *direct) problems << "the service serves other bytes than the disk holds\n";
    }
    return problems.str();
}

// ---- diagnostics --------------------------------------------------------------------------

std::string Cluster::diagnostics(size_t log_lines) {
    std::ostringstream o;
    o << lab_->status_text();
    auto events = lab_->events();
    auto t0 = events.empty() ? base::Clock::now() : events.front().at;
    o << "lab events:\n";
    for (const auto& e : events)
        o << "  " << std::chrono::duration_cast<std::chrono::milliseconds>(e.at - t0).count() << " ms  " << e.text
          << "\n";
    for (const char* h : {kN1, kN2}) {
        HostTruth t = truth(h);
        o << h << ": powered " << t.powered << ", mounted " << t.mounted << ", floating IP " << t.floating_ip
          << ", service " << t.service << "\n";
        o << "---- " << h << " veeam-had log (last " << log_lines << " lines) ----\n"
          << tail_lines(log(h), log_lines) << "\n";
    }
    if (writer_) {
        auto s = writer_->stats();
        o << "writer: " << s.acked << " acked, " << s.failures << " failures, " << s.connects
          << " connects, longest gap " << s.longest_gap.count() << " ms, last error: " << s.last_error << "\n";
    }
    if (watcher_) o << "watcher: " << watcher_->report() << "\n";
    return o.str();
}

bool Cluster::eventually(std::chrono::milliseconds budget, const std::function<bool()>& condition,
                         std::chrono::milliseconds period) {
    auto until = base::Clock::now() + budget;
    for (;;) {
        auto started = base::Clock::now();
        if (condition()) return true;
        if (base::Clock::now() >= until) return false;
        std::this_thread::sleep_until(std::min(until, started + period));
    }
}

bool Cluster::holds_for(std::chrono::milliseconds duration, const std::function<bool()>& condition,
                        std::chrono::milliseconds period) {
    auto until = base::Clock::now() + duration;
    for (;;) {
        auto started = base::Clock::now();
        if (!condition()) return false;
        if (base::Clock::now() >= until) return true;
        std::this_thread::sleep_until(std::min(until, started + period));
    }
}

}  // namespace veeamha::lab::e2e
