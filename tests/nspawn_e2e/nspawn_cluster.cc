// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/nspawn_e2e/nspawn_cluster.h"

#include <dirent.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace veeamha::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kNetnsPrefix = "vhe2e";

base::ProcessResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout = 30s) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = base::Clock::now() + timeout;
    return base::run_process(spec);
}

void must(const std::vector<std::string>& argv) {
    base::ProcessResult r = run(argv);
    if (!r.success()) throw std::runtime_error(base::format_command(argv) + ": " + r.describe());
}

bool have_program(const std::string& name) {
    for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"})
        if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
    return false;
}

// The PID in "<prefix><PID><separator>..." ('\0': the PID ends the name), or 0.
long pid_in_name(const std::string& name, const std::string& prefix, char separator) {
    if (name.rfind(prefix, 0) != 0) return 0;
    std::string rest = name.substr(prefix.size());
    size_t end = separator ? rest.find(separator) : rest.size();
    if (end == std::string::npos || end == 0) return 0;
    char* stop = nullptr;
    long pid = std::strtol(rest.substr(0, end).c_str(), &stop, 10);
    return stop && *stop == '\0' ? pid : 0;
}

bool process_gone(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) out.push_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

// What earlier runs left when their test process was killed (a CTest timeout): their
// containers got SIGTERM from the parent-death signal and halted, but the namespaces
// (/run/netns/vhe2ePID-nN), the run folder (/tmp/vhe2e-PID) and the containers' logs
// (/tmp/vhe2ePIDxN.log) stay. Only our names, and only when that PID no longer exists.
void remove_stale_runs() {
    for (const auto& name : entries("/run/netns"))
        if (process_gone(pid_in_name(name, kNetnsPrefix, '-'))) run({"ip", "netns", "delete", name});
    for (const auto& name : entries("/tmp")) {
        std::error_code ec;
        if (process_gone(pid_in_name(name, std::string(kNetnsPrefix) + "-", '\0')) ||
            (name.ends_with(".log") && process_gone(pid_in_name(name, kNetnsPrefix, 'x'))))
            fs::remove_all("/tmp/" + name, ec);
    }
}

std::string key_bytes() {
    std::string key(32, '\0');
    if (::getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size()))
        throw std::runtime_error("getrandom failed");
    return key;
}

// The container's /etc is an empty tmpfs, so systemd takes every boot for a first boot and
// enables every installed unit by its presets (those no preset names are enabled).
constexpr const char* kPreset =
    "# veeam-had nspawn test: the package does not enable veeam-had; the test starts it by hand.\n"
    "disable veeam-had.service\n"
    "# The test sets the addresses from outside (as ifupdown would on a Debian host): networkd\n"
    "# manages no link here, and its wait-online would hold network-online.target (which\n"
    "# veeam-had.service wants) for 2 minutes.\n"
    "disable systemd-networkd.service\n"
    "disable systemd-networkd-wait-online.service\n";

// Shorter than the package's 10 s so that the watchdog test waits 3 s for systemd's kill, not
// 10; the daemon pets every 1.5 s (half of it) from its event loop, which stays far above any
// scheduling delay seen on a loaded 2-core machine.
constexpr const char* kDropIn =
    "# veeam-had nspawn test (like `systemctl edit veeam-had`)\n"
    "[Service]\n"
    "WatchdogSec=3s\n";

constexpr const char* kAppUnitText =
    "[Unit]\n"
    "Description=veeam-had test: the group's service (started and stopped by veeam-had)\n"
    "[Service]\n"
    "ExecStart=/usr/bin/sleep infinity\n"
    // Installable but not enabled (veeam-had starts it): `check --peer` says so, and says
    // which node to disable it on once a test enables it.
    "[Install]\n"
    "WantedBy=multi-user.target\n";

constexpr const char* kFenceAgent =
    "#!/bin/sh\n"
    "# veeam-had nspawn test: a fence agent that answers `status` (the peer container runs, so\n"
    "# it is on: the daemon's periodic fencing check), records every other call and never\n"
    "# confirms one. `-o metadata` (veeam-had --check-config, before each reload) lists its options.\n"
    "if [ \"$1 $2\" = '-o metadata' ]; then\n"
    "  echo '<?xml version=\"1.0\" ?><resource-agent name=\"fence_vhtest\"><parameters>"
    "<parameter name=\"action\"/><parameter name=\"plug\"/></parameters></resource-agent>'; exit 0\n"
    "fi\n"
    "input=$(cat)\n"
    "case \"$input\" in *action=status*) echo 'Status: ON'; exit 0 ;; esac\n"
    "{ date '+%s.%N'; printf '%s\\n\\n' \"$input\"; } >> /run/vhtest-fence-attempts\n"
    "echo 'fence_vhtest: this test agent never fences' >&2\n"
    "exit 1\n";

}  // namespace

bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds limit) {
    auto until = base::Clock::now() + limit;
    while (base::Clock::now() < until) {
        if (probe()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return probe();
}

std::string NspawnCluster::cannot_run_reason() {
    std::string why = NspawnContainer::cannot_run_reason();
    if (!why.empty()) return why;
    for (const char* p : {"ip", "nsenter", "systemctl", "journalctl"})
        if (!have_program(p)) return std::string(p) + " is not installed";
    if (::access("/usr/bin/sleep", X_OK) != 0) return "/usr/bin/sleep is missing";
    return {};
}

NspawnCluster::NspawnCluster(std::string veeam_had, std::string veeam_hactl, std::string unit_file)
    : veeam_had_(std::move(veeam_had)), veeam_hactl_(std::move(veeam_hactl)), unit_file_(std::move(unit_file)) {
    for (const auto* p : {&veeam_had_, &veeam_hactl_, &unit_file_})
        if (::access(p->c_str(), R_OK) != 0) throw std::runtime_error(*p + " is missing (build it first)");
    const std::string pid = std::to_string(::getpid());
    // n1 finds itself by its host name (the part before the first dot); n2's host name is not
    // a node name, so it is told with --node in /etc/default/veeam-had (see install()).
    hosts_[kN1] = Host{"n1", "n1.vhtest.lab", kNetnsPrefix + pid + "-n1", nullptr};
    hosts_[kN2] = Host{"n2", "backup-b", kNetnsPrefix + pid + "-n2", nullptr};
    key_ = key_bytes();
    try {
        remove_stale_runs();
        make_run_folder();
        make_network();
        boot(kN1);
        boot(kN2);
        install(kN1);
        install(kN2);
    } catch (...) {
        teardown();
        throw;
    }
}

NspawnCluster::~NspawnCluster() { teardown(); }

void NspawnCluster::teardown() {
    for (auto& h : hosts_) h.container.reset();  // orderly halt (bounded), then kill
    for (auto it = netns_made_.rbegin(); it != netns_made_.rend(); ++it) run({"ip", "netns", "delete", *it});
    netns_made_.clear();
    if (!run_dir_.empty()) {
        std::error_code ec;
        fs::remove_all(run_dir_, ec);
        run_dir_.clear();
    }
}

void NspawnCluster::make_run_folder() {
    run_dir_ = "/tmp/vhe2e-" + std::to_string(::getpid());
    fs::remove_all(run_dir_);
    fs::create_directories(run_dir_ + "/sbin");
    fs::create_directories(run_dir_ + "/unit");
    fs::create_directories(run_dir_ + "/preset");
    // Empty files: mount points for the binds over the read-only overlays.
    for (const char* f : {"/sbin/veeam-had", "/sbin/veeam-hactl", "/unit/veeam-had.service"})
        std::ofstream(run_dir_ + f).flush();
    std::ofstream(run_dir_ + "/preset/10-veeamha-test.preset") << kPreset;
}

void NspawnCluster::make_network() {
    const std::string& a = hosts_[kN1].netns;
    const std::string& b = hosts_[kN2].netns;
    for (const auto* ns : {&a, &b}) {
        must({"ip", "netns", "add", *ns});
        netns_made_.push_back(*ns);
        must({"ip", "-n", *ns, "link", "set", "lo", "up"});
    }
    // Made inside the namespaces: no interface name ever exists on the machine itself.
    for (int link = 0; link < 2; ++link) {
        std::string ifname = "eth" + std::to_string(link);
        must({"ip", "-n", a, "link", "add", ifname, "type", "veth", "peer", "name", ifname, "netns", b});
        for (int i = 0; i < 2; ++i) {
            const std::string& ns = i == 0 ? a : b;
            must({"ip", "-n", ns, "addr", "add", "10.7" + std::to_string(link) + ".0." + std::to_string(i + 1) + "/24",
                  "dev", ifname});
            must({"ip", "-n", ns, "link", "set", ifname, "up"});
        }
    }
}

void NspawnCluster::boot(int i) {
    NspawnOptions o;
    o.network_namespace_path = "/run/netns/" + hosts_[i].netns;
    o.hostname = hosts_[i].hostname;
    o.name_prefix = "vhe2e";
    o.stop_with_parent = true;
    o.extra_args = {
        // The daemon adds and removes the floating address (the ip resource).
        "--capability=CAP_NET_ADMIN",
        // The package's paths: /usr/sbin/veeam-had{,ctl}, /lib/systemd/system/veeam-had.service.
        "--overlay-ro=/usr/sbin:" + run_dir_ + "/sbin:/usr/sbin",
        "--overlay-ro=/usr/lib/systemd/system:" + run_dir_ + "/unit:/usr/lib/systemd/system",
        "--bind-ro=" + veeam_had_ + ":/usr/sbin/veeam-had",
        "--bind-ro=" + veeam_hactl_ + ":/usr/sbin/veeam-hactl",
        "--bind-ro=" + unit_file_ + ":/usr/lib/systemd/system/veeam-had.service",
        "--bind-ro=" + run_dir_ + "/preset/10-veeamha-test.preset:/etc/systemd/system-preset/10-veeamha-test.preset",
    };
    hosts_[i].container = std::make_unique<NspawnContainer>(o);
}

void NspawnCluster::install(int i) {
    write_file(i, "/etc/veeam-ha.yaml", config_yaml(false), 0644);
    fs::create_directories(container(i).host_path("/etc/veeam-ha"));
    ::chmod(container(i).host_path("/etc/veeam-ha").c_str(), 0700);
    write_file(i, "/etc/veeam-ha/authkey", key_, 0600);
    write_file(i, "/etc/veeam-ha/fence_vhtest", kFenceAgent, 0755);
    write_file(i, std::string("/etc/systemd/system/") + kAppUnit, kAppUnitText, 0644);
    write_file(i, "/etc/systemd/system/veeam-had.service.d/50-test.conf", kDropIn, 0644);
    if (hosts_[i].hostname.rfind(hosts_[i].node, 0) != 0)
        write_file(i, "/etc/default/veeam-had", "VEEAM_HAD_ARGS=\"--node " + hosts_[i].node + "\"\n", 0644);
    container(i).daemon_reload();
}

std::string NspawnCluster::config_yaml(bool failback) const {
    std::ostringstream y;
    y << "# veeam-had nspawn end-to-end test: the same file on both nodes.\n"
      << "cluster:\n"
      << "  name: vhtest\n"
      << "nodes:\n"
      << "  - name: n1\n"
      << "    addresses: [10.70.0.1, 10.71.0.1]\n"
      << "    priority: 100\n"
      << "  - name: n2\n"
      << "    addresses: [10.70.0.2, 10.71.0.2]\n"
      << "    priority: 50\n"
      << "heartbeat:\n"
      << "  interval: 200ms\n"
      << "  timeout: 1s\n"
      << "fencing:\n"
      << "  action: off\n"
      << "  timeout: 10s\n"
      << "  delay: 2s\n"
      << "  levels:\n"
      << "    - agent: /etc/veeam-ha/fence_vhtest\n"
      << "policy:\n"
      << "  failback: " << (failback ? "true" : "false") << "\n"
      << "resources:\n"
      << "  - name: ip_app\n"
      << "    ip: {address: " << kFloatingIp << "/24, interface: eth0, garp_count: 2, garp_interval: 50ms,"
      << " garp_repeat_after: 0}\n"
      << "    start_timeout: 20s\n"
      << "    stop_timeout: 20s\n"
      << "  - name: svc_app\n"
      << "    service: {unit: " << kAppUnit << "}\n"
      << "    start_timeout: 20s\n"
      << "    stop_timeout: 20s\n"
      << "    monitor_interval: 2s\n"
      << "sync:\n"
      << "  paths: [/etc/systemd/system/" << kSyncedUnit << "]\n";
    return y.str();
}

void NspawnCluster::write_file(int i, const std::string& path, const std::string& text, mode_t mode) {
    std::string host = container(i).host_path(path);
    fs::create_directories(fs::path(host).parent_path());
    std::string tmp = host + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << text;
        if (!f.flush()) throw std::runtime_error("cannot write " + host);
    }
    if (::chmod(tmp.c_str(), mode) != 0 || ::rename(tmp.c_str(), host.c_str()) != 0)
        throw std::runtime_error("cannot install " + host + ": " + std::strerror(errno));
}

bool NspawnCluster::file_exists(int i, const std::string& path) const {
    struct stat st {};
    return ::stat(hosts_[i].container->host_path(path).c_str(), &st) == 0;
}

std::string NspawnCluster::read_file(int i, const std::string& path) const {
    std::ifstream f(hosts_[i].container->host_path(path), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void NspawnCluster::chmod(int i, const std::string& path, mode_t mode) {
    if (::chmod(container(i).host_path(path).c_str(), mode) != 0)
        throw std::runtime_error("chmod " + path + ": " + std::strerror(errno));
}

base::ProcessResult NspawnCluster::exec(int i, const std::vector<std::string>& argv, std::chrono::seconds timeout) {
    std::vector<std::string> full = {"nsenter", "-t", std::to_string(container(i).leader()), "-a"};
    full.insert(full.end(), argv.begin(), argv.end());
    return run(full, timeout);
}

base::ProcessResult NspawnCluster::systemctl(int i, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"systemctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return exec(i, argv);
}

std::map<std::string, std::string> NspawnCluster::show(int i, const std::string& unit,
                                                         const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
    base::ProcessResult r = systemctl(i, {"show", "-p", list, unit});
    if (!r.success()) throw std::runtime_error("systemctl show " + unit + " in " + node(i) + ": " + r.describe());
    std::map<std::string, std::string> out;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        size_t eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

std::string NspawnCluster::property(int i, const std::string& unit, const std::string& name) {
    return show(i, unit, {name})[name];
}

std::string NspawnCluster::journal(int i, const std::string& unit) {
    base::ProcessResult r = exec(i, {"journalctl", "--no-pager", "-o", "cat", "-n", "600", "-u", unit});
    return r.out;
}

std::vector<std::string> NspawnCluster::addresses(int i, const std::string& interface) {
    base::ProcessResult r = run({"ip", "-n", hosts_[i].netns, "-o", "-4", "addr", "show", "dev", interface});
    std::vector<std::string> out;
    std::istringstream words(r.out);
    std::string w;
    while (words >> w)
        if (w == "inet" && words >> w) out.push_back(w);
    return out;
}

bool NspawnCluster::has_floating_ip(int i) {
    for (const auto& a : addresses(i, "eth0"))
        if (a == std::string(kFloatingIp) + "/24") return true;
    return false;
}

bool NspawnCluster::power_off(int i, std::chrono::seconds limit) {
    systemctl(i, {"poweroff", "--no-block"});
    return container(i).wait_stopped(limit);
}

std::string NspawnCluster::diagnostics() {
    std::ostringstream o;
    for (int i = 0; i < 2; ++i) {
        o << "===== " << node(i) << " =====\n";
        if (!hosts_[i].container || !container(i).running()) {
            o << "(container stopped)\n";
            continue;
        }
        try {
            for (const char* unit : {"veeam-had.service", kAppUnit}) {
                o << unit << ":";
                for (auto& [k, v] : show(i, unit, {"ActiveState", "SubState", "Result", "MainPID", "NRestarts",
                                                   "ExecMainStatus", "StatusText"}))
                    o << " " << k << "=" << v;
                o << "\n";
            }
            o << "fence attempts: " << (file_exists(i, kFenceLog) ? read_file(i, kFenceLog) : "none") << "\n";
            std::string j = journal(i, "veeam-had.service");
            o << "journal (veeam-had):\n" << (j.size() > 12000 ? j.substr(j.size() - 12000) : j);
        } catch (const std::exception& e) {
            o << "(" << e.what() << ")\n";
        }
    }
    return o.str();
}

}  // namespace veeamha::test
