// SPDX-License-Identifier: GPL-2.0-or-later
// Bring-up, tear-down, hosts, processes and power of the lab. The network is in lab_net.cc,
// the generated config in lab_config.cc, crash leftovers in lab_stale.cc, the control socket
// in control.cc.
#include "tests/common/read_file.h"
#include "tests/lab/lab.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/fencing/vcsim_fixture.h"
#include "tests/lab/control.h"
#include "tests/lab/holdable_disk.h"
#include "tests/lab/mount_watch.h"
#include "tests/lab/repo_client.h"

namespace veeamha::lab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The BIOS UUIDs of the hosts' VMs (lower case: the simulator matches exactly).
constexpr const char* kUuidN1 = "42356049-6020-2ea0-0bd9-11362ef785e7";
constexpr const char* kUuidN2 = "423576b3-f216-b7e7-aba6-9419bcb72a24";

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
        out << content;
        if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    ::chmod(tmp.c_str(), mode);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error("rename " + tmp + ": " + std::strerror(errno));
}

std::string random_bytes(size_t n) {
    std::ifstream in("/dev/urandom", std::ios::binary);
    std::string out(n, '\0');
    in.read(out.data(), static_cast<std::streamsize>(n));
    if (!in) throw std::runtime_error("cannot read /dev/urandom");
    return out;
}

std::string base26(unsigned n) {
    std::string s;
    do {
        s.insert(s.begin(), static_cast<char>('a' + n % 26));
        n /= 26;
    } while (n > 0);
    return s;
}

}  // namespace

std::string default_run_id() {
    static std::atomic<unsigned> counter{0};
    return "vhl" + std::to_string(::getpid()) + base26(counter++);
}

Lab::Lab(LabOptions options) : options_(std::move(options)) {
    if (::geteuid() != 0) throw std::runtime_error("the lab needs root (namespaces, loop devices, cgroups)");
    for (const auto& line : cleanup_stale(options_.run_root, options_.disk_root))
        std::fprintf(stderr, "lab: removed a crashed run's leftovers: %s\n", line.c_str());
    run_id_ = default_run_id();
    run_dir_ = options_.run_root + "/" + run_id_;
    disk_dir_ = options_.disk_root + "/" + run_id_;
    switch_ns_ = run_id_ + "-sw";
    cgroup_root_ = cgroup_v2_root() + "/veeam-ha-lab/" + run_id_;
    config_path_ = run_dir_ + "/veeam-ha.yaml";
    auto make = [&](const char* name, std::vector<std::string> addresses) {
        auto h = std::make_unique<Host>();
        h->name = name;
        h->netns = run_id_ + "-" + name;
        h->cgroup = cgroup_root_ + "/" + name;
        h->addresses = std::move(addresses);
        hosts_.push_back(std::move(h));
    };
    make(kN1, {"10.10.0.11", "10.11.0.11"});
    make(kN2, {"10.10.0.12", "10.11.0.12"});
    make(kClient, {"10.10.0.100"});
    try {
        up();
    } catch (...) {
        auto left = down();
        for (const auto& l : left) std::fprintf(stderr, "lab: after a failed start, left: %s\n", l.c_str());
        throw;
    }
}

Lab::~Lab() {
    for (const auto& l : down()) std::fprintf(stderr, "lab %s: teardown left: %s\n", run_id_.c_str(), l.c_str());
}

void Lab::up() {
    fs::create_directories(run_dir_);
    ::chmod(run_dir_.c_str(), 0700);
    fs::create_directories(log_dir());
    fs::create_directories(mountpoint());
    // Who owns this run, as a process instance: cleanup_stale() of a later run checks it.
    write_file(run_dir_ + "/owner", std::to_string(::getpid()) + " " + std::to_string(process_start_time(::getpid())) + "\n",
               0644);
    worker_ = std::make_unique<Worker>();
    reaper_ = std::make_unique<Reaper>();
    make_host_folders();
    std::string error;
    for (auto& h : hosts_)
        if (!cgroup_create(h->cgroup, &error)) throw std::runtime_error("cgroup: " + error);
    make_network();
    if (options_.disk) make_disk();
    control_ = std::make_unique<ControlServer>(control_socket(), [this](const std::vector<std::string>& w, bool* ok) {
        return handle_command(w, ok);
    });
    if (options_.vcenter) start_vcenter();
    write_config();
    {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        for (auto& h : hosts_) boot(*h, "lab up");
    }
    write_state_file();
    event("lab " + run_id_ + " up");
}

void Lab::make_host_folders() {
    // The daemon's default paths must exist on the machine to bind over them (inside a host
    // only; the machine's own folders are never written).
    for (const char* target : {"/etc/veeam-ha", "/var/lib/veeam-ha", "/run/veeam-ha"}) fs::create_directories(target);
    std::string key = random_bytes(32);  // one cluster key, copied to both hosts
    for (auto& h : hosts_) {
        for (const auto& dir : {host_etc(h->name), host_state(h->name), host_run(h->name)}) {
            fs::create_directories(dir);
            ::chmod(dir.c_str(), 0700);
        }
        if (h->name != kClient) write_file(host_etc(h->name) + "/authkey", key, 0600);
        if (options_.private_ssh && h->name != kClient) {
            for (const auto& dir : {host_ssh(h->name), host_synced(h->name)}) fs::create_directories(dir);
            ::chmod(host_ssh(h->name).c_str(), 0755);
        }
    }
    if (options_.private_ssh)  // bind targets; /run/sshd is sshd's privilege separation folder
        for (const char* target : {"/etc/ssh", kSyncedFolder, "/run/sshd"}) fs::create_directories(target);
    make_host_identity();
}

void Lab::make_disk() {
    fs::create_directories(disk_dir_);
    std::string image = disk_dir_ + "/disk.img";
    const std::string backing = image;
    {
        int fd = ::open(image.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(options_.disk_bytes)) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("cannot create the disk image " + image + ": " + std::strerror(errno));
        }
        ::close(fd);
    }
    if (options_.disk_over_fuse) {
        // The loop device goes on the FUSE server's copy of the image: every block it reads or
        // writes passes through the server, which can hold it.
        std::string dir = disk_dir_ + "/fuse";
        fs::create_directories(dir);
        held_disk_ = std::make_unique<HoldableDisk>(backing, dir, log_dir() + "/holdfs.log");
        image = held_disk_->image();
        event("disk image served through FUSE at " + dir + " (server " + std::to_string(held_disk_->server_pid()) + ")");
    }
    std::vector<std::string> argv = {"losetup", "--find", "--show", image};
    auto r = run_cmd(argv, 30s);
    must(r, argv);
    loop_device_ = r.out.substr(0, r.out.find_first_of(" \n"));
    struct stat st{};
    if (::stat(loop_device_.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
        throw std::runtime_error("losetup gave " + loop_device_ + ", which is not a block device");
    disk_dev_ = st.st_rdev;
    argv = {"mkfs.xfs", "-q", "-f", "-K", loop_device_};  // -K: no discard, faster on a sparse file
    must(run_cmd(argv, 60s), argv);
    event("disk " + loop_device_ + " (" + std::to_string(major(disk_dev_)) + ":" + std::to_string(minor(disk_dev_)) +
          ") with XFS");
}

void Lab::start_vcenter() {
    std::string hooks = run_dir_ + "/hooks";
    fs::create_directories(hooks);
    for (const char* verb : {"power-off", "power-on"}) {
        write_file(hooks + "/" + verb,
                   "#!/bin/sh\n# The vCenter simulator runs this (VM_NAME BIOS_UUID) inside every " + std::string(verb) +
                       " task: the lab powers the host off/on before the task completes.\nexec '" + lab_init_binary() +
                       "' hook '" + control_socket() + "' vm-" + (std::string(verb) == "power-off" ? "powered-off" : "powered-on") +
                       " \"$@\"\n",
                   0755);
    }
    test::VcsimOptions o;
    o.listen = gateway() + ":443";
    o.alt_names = "IP:" + gateway();
    o.vms = vm_uuids();
    o.on_power_off = hooks + "/power-off";
    o.on_power_on = hooks + "/power-on";
    o.work_parent = run_dir_;  // its key and password go with the run folder, also after a crash
    o.login_delay_ms = options_.vcenter_login_delay_ms;
    o.call_delay_ms = options_.vcenter_call_delay_ms;
    o.task_ms = options_.vcenter_task_ms;
    // Started from a thread inside the switch namespace: the simulator lives there, on the
    // gateway address of the LAN.
    vcsim_ = in_netns(switch_ns_, [&] { return std::make_unique<test::Vcsim>(o); });
    const std::string password = test::slurp(vcsim_->password_file());
    const std::string ca = test::slurp(vcsim_->certificate().cert);
    for (auto& h : hosts_) {
        if (h->name == kClient) continue;
        write_file(host_etc(h->name) + "/vcenter.pass", password, 0600);
        write_file(host_etc(h->name) + "/vcenter-ca.pem", ca, 0644);
    }
    event("vCenter simulator on " + gateway() + ":443");
}

std::vector<std::pair<std::string, std::string>> Lab::vm_uuids() const { return {{kN1, kUuidN1}, {kN2, kUuidN2}}; }

int Lab::vcenter_sessions() {
    if (!vcsim_) throw std::runtime_error("this lab has no vCenter");
    return vcsim_->counts().sessions;
}

std::string Lab::vm_uuid(const std::string& h) const {
    for (const auto& [name, uuid] : vm_uuids())
        if (name == h) return uuid;
    throw std::runtime_error("no VM for host " + h);
}

config::VSphere Lab::vsphere() const {
    if (!vcsim_) throw std::runtime_error("this lab has no vCenter simulator");
    config::VSphere v;
    v.host = gateway();
    v.port = 443;
    v.username = test::kUser;
    v.password_file = vcsim_->password_file();
    v.ca_file = vcsim_->certificate().cert;
    v.call_timeout = 5000ms;
    return v;
}

std::vector<std::string> Lab::down() {
    std::vector<std::string> left;
    if (down_) return left;
    down_ = true;
    auto attempt = [&](const std::string& what, auto f) {
        try {
            f();
        } catch (const std::exception& e) {
            left.push_back(what + ": " + e.what());
        }
    };
    // No more commands or hooks; then every host off (processes gone, mount tables gone).
    attempt("control socket", [&] { control_.reset(); });
    // A host with a mount(2) waiting for held disk I/O cannot die until the I/O is served.
    if (held_disk_) attempt("release the disk's I/O", [&] { held_disk_->hold(false); });
    {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        for (auto& h : hosts_) attempt("power off " + h->name, [&] { power_off_locked(*h, "lab down"); });
    }
    if (reaper_) {
        for (pid_t pid : spawned_)
            if (reaper_->running(pid) && !reaper_->wait(pid, base::Clock::now() + 5s))
                left.push_back("process " + std::to_string(pid) + " did not end");
    }
    attempt("vCenter simulator", [&] { vcsim_.reset(); });
    worker_.reset();
    reaper_.reset();
    for (auto& h : hosts_) run_cmd({"ip", "netns", "del", h->netns});
    if (!switch_ns_.empty()) run_cmd({"ip", "netns", "del", switch_ns_});
    if (!loop_device_.empty()) {
        auto r = run_cmd({"losetup", "-d", loop_device_}, 30s);
        if (!r.success()) left.push_back("losetup -d " + loop_device_ + ": " + r.describe());
    }
    // After the loop device: it was the FUSE file system's last user.
    if (held_disk_) {
        for (const auto& l : held_disk_->stop()) left.push_back(l);
        held_disk_.reset();
    }
    if (!cgroup_root_.empty() && !cgroup_remove_tree(cgroup_root_)) left.push_back("cgroup " + cgroup_root_);
    // The lab's cgroup parent, when no other run uses it.
    ::rmdir((cgroup_v2_root() + "/veeam-ha-lab").c_str());
    std::error_code ec;
    if (!disk_dir_.empty()) fs::remove_all(disk_dir_, ec);
    if (ec) left.push_back("remove " + disk_dir_ + ": " + ec.message());
    ec.clear();
    if (!run_dir_.empty()) fs::remove_all(run_dir_, ec);
    if (ec) left.push_back("remove " + run_dir_ + ": " + ec.message());
    return left;
}

Lab::Host& Lab::host(const std::string& name) {
    for (auto& h : hosts_)
        if (h->name == name) return *h;
    throw std::runtime_error("no host named '" + name + "' (hosts: n1, n2, client)");
}

const Lab::Host& Lab::host(const std::string& name) const { return const_cast<Lab*>(this)->host(name); }

std::string Lab::netns(const std::string& h) const { return host(h).netns; }
std::string Lab::cgroup(const std::string& h) const { return host(h).cgroup; }

std::string Lab::address(const std::string& h, int link) const {
    const Host& x = host(h);
    return link >= 0 && static_cast<size_t>(link) < x.addresses.size() ? x.addresses[static_cast<size_t>(link)] : "";
}

HostRef Lab::ref(const std::string& name) const {
    const Host& h = host(name);
    return HostRef{h.name, h.netns, h.init_pid.load(), h.cgroup};
}

pid_t Lab::init_pid(const std::string& h) const { return host(h).init_pid.load(); }

base::ProcessResult Lab::exec_in(const std::string& h, const std::vector<std::string>& argv, std::chrono::milliseconds budget,
                           const std::string& stdin_data) {
    return lab::exec_in(ref(h), argv, budget, stdin_data);
}

Spawned Lab::spawn_in(const std::string& h, const std::vector<std::string>& argv, const std::string& label,
                      const std::vector<std::string>& extra_env) {
    if (argv.empty()) throw std::runtime_error("spawn_in: empty command");
    std::string name = label.empty() ? fs::path(argv[0]).filename().string() : label;
    Spawned s;
    s.log = log_dir() + "/" + h + "-" + name + ".log";
    std::string error;
    std::lock_guard<std::recursive_mutex> lock(mu_);  // not while the host powers off
    s.pid = lab::spawn_in(ref(h), argv, s.log, extra_env, &error);
    if (s.pid < 0) throw std::runtime_error("spawn in " + h + ": " + error);
    reaper_->watch(s.pid);
    spawned_.push_back(s.pid);
    if (spawned_.size() > 4096) spawned_.erase(spawned_.begin());
    return s;
}

bool Lab::signal(pid_t pid, int sig) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    bool ours = false;
    for (pid_t p : spawned_) ours = ours || p == pid;
    // Only a child of ours that is not reaped yet: its PID cannot belong to anyone else.
    return ours && reaper_ && reaper_->running(pid) && ::kill(pid, sig) == 0;
}

std::optional<int> Lab::wait_exit(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    return reaper_ ? reaper_->wait(pid, deadline) : std::nullopt;
}

bool Lab::running(pid_t pid) { return reaper_ && reaper_->running(pid); }

std::optional<std::string> Lab::read_file_in(const std::string& h, const std::string& path, size_t limit) const {
    pid_t pid = init_pid(h);
    if (pid <= 0) return std::nullopt;
    std::ifstream in("/proc/" + std::to_string(pid) + "/root" + path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string data;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        data.append(buf, static_cast<size_t>(in.gcount()));
        if (data.size() > limit) return std::nullopt;
    }
    return data;
}

void Lab::hold_disk_io(bool held) {
    if (!held_disk_) throw std::runtime_error("hold_disk_io: this lab's disk is not served through FUSE (disk_over_fuse)");
    held_disk_->hold(held);
    event(held ? "disk I/O held" : "disk I/O released");
}

int Lab::disk_io_waiting() {
    if (!held_disk_) throw std::runtime_error("disk_io_waiting: this lab's disk is not served through FUSE (disk_over_fuse)");
    return held_disk_->waiting();
}

pid_t Lab::disk_server_pid() const { return held_disk_ ? held_disk_->server_pid() : -1; }

std::string Lab::disk_fuse_mountpoint() const { return held_disk_ ? held_disk_->mountpoint() : ""; }

bool Lab::disk_mounted_in(const std::string& h) const {
    return disk_dev_ != 0 && !DoubleMountWatcher::mount_line(init_pid(h), disk_dev_).empty();
}

std::vector<std::string> Lab::hosts_with_floating_ip() const {
    std::vector<std::string> out;
    for (const char* h : {kN1, kN2}) {
        auto r = run_cmd({"ip", "-n", netns(h), "-o", "-4", "address", "show", "dev", "eth0"});
        if (r.out.find(" " + floating_cidr() + " ") != std::string::npos) out.push_back(h);
    }
    return out;
}

bool Lab::service_answers(std::chrono::milliseconds budget) const {
    try {
        return in_netns(netns(kClient), [&] {
            RepoConnection c;
            auto deadline = base::Clock::now() + budget;
            return c.connect(floating_ip(), repo_port(), deadline) && c.ping(deadline);
        });
    } catch (const std::exception&) {
        return false;
    }
}

// ---- power -----------------------------------------------------------------------------------

void Lab::boot(Host& h, const std::string& why) {
    if (h.powered) return;
    // What a reboot leaves: the static addresses only (the floating IP is gone), no ARP cache.
    std::string batch = "neigh flush all\n";
    for (size_t link = 0; link < h.addresses.size(); ++link) {
        std::string dev = "eth" + std::to_string(link);
        batch += "address flush dev " + dev + "\n";
        batch += "address add " + h.addresses[link] + "/24 dev " + dev + "\n";
        batch += "link set " + dev + " up\n";
    }
    batch += "route replace default via " + gateway() + " dev eth0\n";
    ip_batch(h.netns, batch);
    std::vector<std::pair<std::string, std::string>> binds;
    if (h.name != kClient)
        binds = {{host_etc(h.name), "/etc/veeam-ha"},
                 {host_state(h.name), "/var/lib/veeam-ha"},
                 {host_run(h.name), "/run/veeam-ha"}};
    if (options_.private_ssh && h.name != kClient) {
        binds.emplace_back(host_ssh(h.name), "/etc/ssh");
        binds.emplace_back(host_synced(h.name), kSyncedFolder);
    }
    for (auto& b : identity_binds(h.name)) binds.push_back(std::move(b));
    std::string error;
    std::string log = log_dir() + "/" + h.name + "-init.log";
    // Every power-on is a new boot, as on a real machine (the hosts share one kernel, so the
    // init gives each boot an id of its own; see lab_init.cc).
    std::string boot_id = boot_id_file(h.name);
    pid_t pid = worker_->run([&] { return start_host_init(h.netns, h.cgroup, h.name, binds, boot_id, log, &error); });
    if (pid <= 0) throw std::runtime_error(error);
    reaper_->watch(pid);
    h.init_pid = pid;
    h.powered = true;
    ++h.generation;
    apply_ports();
    event("power-on " + h.name + " (" + why + ", init " + std::to_string(pid) + ")");
    write_state_file();
}

void Lab::power_off_locked(Host& h, const std::string& why) {
    if (!h.powered) return;
    h.powered = false;
    apply_ports();  // the network first: a dying host sends nothing more
    pid_t pid = h.init_pid.load();
    bool emptied = cgroup_kill_and_wait(h.cgroup, 10s);
    // The init is reaped only after every process of its PID namespace is (the kernel waits
    // for that), so this is "everything of the host is gone", zombies included.
    bool reaped = pid <= 0 || reaper_->wait(pid, base::Clock::now() + 10s).has_value();
    if (reaper_ && pid > 0) reaper_->forget(pid);
    h.init_pid = 0;
    event("power-off " + h.name + " (" + why + ")");
    write_state_file();
    if (!emptied || !reaped)
        throw std::runtime_error("host " + h.name + " did not die within 10 s (cgroup " + h.cgroup +
                                 (emptied ? " empty" : " still populated") + ", init " + std::to_string(pid) +
                                 (reaped ? " reaped)" : " not reaped)"));
}

void Lab::kill(const std::string& name) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    power_off_locked(host(name), "crash");
}

void Lab::power_on(const std::string& name) {
    bool through_vcenter = false;
    {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        Host& h = host(name);
        if (h.powered) return;
        through_vcenter = h.vm_off && vcsim_;
        if (!through_vcenter) boot(h, "lab");
    }
    if (through_vcenter) {
        // The simulator's power-on hook comes back to us over the control socket and boots
        // the host before the task completes; no lock is held meanwhile.
        fencing::VSphereFencer fencer(vsphere(), vm_uuids());
        auto r = in_netns(switch_ns_, [&] { return fencer.on(name, base::Clock::now() + 30s); });
        if (!r.confirmed) throw std::runtime_error("power-on of " + name + " through vCenter failed: " + r.detail);
        if (!powered(name)) throw std::runtime_error("vCenter powered " + name + " on but its hook did not boot it");
        return;  // the hook ran on_power_on
    }
    if (options_.on_power_on && name != kClient) options_.on_power_on(name);
}

bool Lab::powered(const std::string& name) const {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return host(name).powered;
}

bool Lab::vm_off(const std::string& name) const {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    return host(name).vm_off;
}

// ---- events and state ------------------------------------------------------------------------

void Lab::event(const std::string& text) {
    std::lock_guard<std::mutex> lock(events_mu_);
    events_.push_back({base::Clock::now(), text});
    if (events_.size() > 2000) events_.erase(events_.begin(), events_.begin() + 1000);
}

std::vector<LabEvent> Lab::events() const {
    std::lock_guard<std::mutex> lock(events_mu_);
    return events_;
}

void Lab::must(const base::ProcessResult& r, const std::vector<std::string>& argv) const {
    if (!r.success()) throw std::runtime_error(base::format_command(argv) + ": " + r.describe() + (r.err.empty() ? "" : "\n" + r.err));
}

std::string Lab::status_text() const {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::ostringstream out;
    out << "lab " << run_id_ << "  (run folder " << run_dir_ << ")\n";
    for (const auto& h : hosts_) {
        out << "  " << h->name << ": " << (h->powered ? "on " : "off") << "  init " << h->init_pid.load()
            << (h->vm_off ? "  VM poweredOff in vCenter" : "") << (h->isolated ? "  ISOLATED" : "") << "\n";
        for (size_t l = 0; l < h->addresses.size(); ++l) {
            auto it = port_up_.find({h->name, static_cast<int>(l)});
            bool up = it != port_up_.end() && it->second;
            out << "      eth" << l << " " << h->addresses[l] << "  cable " << (up ? "connected" : "DISCONNECTED") << "\n";
        }
    }
    for (int l = 0; l < 2; ++l)
        out << "  link " << l << (l == kLan ? " (LAN)" : " (heartbeat)") << ": " << (cut_[l] ? "CUT" : "ok")
            << (loss_[l] ? "  loss " + std::to_string(loss_[l]) + "%" : "") << "\n";
    out << "  cluster traffic (port " << options_.heartbeat_port << "): " << (heartbeat_cut_ ? "DROPPED" : "ok") << "\n";
    if (vcsim_) out << "  vCenter: https://" << gateway() << ":443/sdk" << (vcenter_blocked_ ? "  BLOCKED" : "") << "\n";
    if (!loop_device_.empty()) out << "  shared disk: " << loop_device_ << " (XFS), mountpoint " << mountpoint() << "\n";
    out << "  config: " << config_path_ << "\n";
    return out.str();
}

void Lab::write_state_file() const {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::ostringstream s;
    s << "run_id " << run_id_ << "\nrun_dir " << run_dir_ << "\nconfig " << config_path_ << "\ncontrol "
      << control_socket() << "\nswitch_netns " << switch_ns_ << "\nloop_device " << loop_device_ << "\nmountpoint "
      << mountpoint() << "\n";
    for (const auto& h : hosts_)
        s << "host " << h->name << " " << h->netns << " " << h->init_pid.load() << " " << h->cgroup << "\n";
    try {
        write_file(run_dir_ + "/state", s.str(), 0644);
    } catch (const std::exception&) {
        // during teardown the run folder may be gone already
    }
}

void Lab::set_extra_commands(CommandHandler handler) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    extra_commands_ = std::move(handler);
}

}  // namespace veeamha::lab
