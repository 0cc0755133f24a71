// SPDX-License-Identifier: GPL-2.0-or-later
// The lab (docs/design.md §7, tier 3): two "hosts" n1 and n2 and a "client" on one machine, each a
// network + mount + UTS + PID namespace with its own cgroup v2 kill domain; two links (bridges
// in a "switch" namespace): link 0 = the LAN (both hosts' eth0, the client, the gateway
// 10.10.0.1 that answers ping and where the vCenter simulator listens on :443), link 1 = the
// heartbeat/replication network (the hosts' eth1 only); one shared disk (a loop device with
// XFS, seen by both hosts); the vCenter simulator whose power-off kills a host synchronously,
// before the task reports success, as a hypervisor does. One config file serves both nodes:
// each host has its own /etc/veeam-ha, /var/lib/veeam-ha and /run/veeam-ha (bind mounts).
//
// Everything is named per run (the PID is in every name), torn down by the destructor (also
// after a failed test), and what a crashed earlier run left is removed at the next start when
// that run's process is gone. If the process dies without unwinding, the hosts' processes die
// with it (their inits have PR_SET_PDEATHSIG), the vCenter simulator too (its stdin closes).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "base/process.h"
#include "tests/lab/host_proc.h"

namespace veeamha::test {
class Vcsim;
}

namespace veeamha::lab {

class ControlServer;
class HoldableDisk;

inline constexpr int kLan = 0;        // link 0: hosts' eth0, the client, gateway, vCenter
inline constexpr int kHeartbeat = 1;  // link 1: hosts' eth1 only
inline constexpr const char* kN1 = "n1";
inline constexpr const char* kN2 = "n2";
inline constexpr const char* kClient = "client";

struct LabOptions {
    std::string run_root = "/run/veeam-ha-lab";     // run folders: config, per-host folders, logs
    std::string disk_root = "/var/tmp/veeam-ha-lab";  // the shared disk's image
    bool vcenter = true;                             // start the vCenter simulator
    // A realistic vCenter (tests/fencing/vcsim_fixture.h): Login takes this long, every call
    // this long, and a power task runs this long before the power changes. 0 = at once.
    int vcenter_login_delay_ms = 0;
    int vcenter_call_delay_ms = 0;
    int vcenter_task_ms = 0;
    bool disk = true;                                // the shared loop device with XFS
    uint64_t disk_bytes = 400ull << 20;              // XFS needs >= 300 MB
    // The disk's image served through FUSE (tests/lab/holdable_disk.h), so that a test can
    // stop its I/O (hold_disk_io) and make a mount(2) block in the kernel. Slower; off unless
    // a test needs it.
    bool disk_over_fuse = false;
    // Each host gets a private /etc/ssh and a private /srv/veeam-ha-sync (bind mounts of
    // host_ssh() and host_synced()), for `sync:` tests with sshd running inside the hosts.
    bool private_ssh = false;
    // Called (on the lab's control thread or the caller's) after a host powered on, e.g. to
    // start its daemon again. Not called for the client.
    std::function<void(const std::string& host)> on_power_on;
    // The generated config.
    std::string cluster_name = "veeam-ha-lab";
    uint16_t heartbeat_port = 5409;
    // The product's default.
    std::string heartbeat_interval = std::to_string(config::HeartbeatSection{}.interval.count()) + "ms";
    std::string heartbeat_timeout = "1s";
    std::string fence_delay = "2s";
    std::string fence_action = "off";
    int n1_priority = 100;
    int n2_priority = 50;
    std::string monitor_interval = "2s";
    // fs_repo's own timeouts (a test of a start that outlives its deadline wants them short).
    std::string fs_start_timeout = "20s";
    std::string fs_stop_timeout = "20s";
};

struct LabEvent {
    std::chrono::steady_clock::time_point at;
    std::string text;  // "power-off n1 (vCenter)", "cut link 1", ...
};

struct Spawned {
    pid_t pid = -1;
    std::string log;  // stdout+stderr
};

class Lab {
public:
    explicit Lab(LabOptions options = {});  // brings everything up; throws with the reason
    ~Lab();                                 // down(); never throws
    Lab(const Lab&) = delete;
    Lab& operator=(const Lab&) = delete;

    // Tears everything down (idempotent). Returns what could not be removed (empty = clean).
    std::vector<std::string> down();

    // Removes what crashed earlier runs (their process is gone) left under these roots, in
    // /run/netns and in the lab's cgroup folder, and their loop devices. Returns what it did.
    static std::vector<std::string> cleanup_stale(const std::string& run_root = "/run/veeam-ha-lab",
                                                  const std::string& disk_root = "/var/tmp/veeam-ha-lab");
    // Same for one run, alive or not (for `veeam-ha-lab down` after its keeper crashed).
    static std::vector<std::string> cleanup_run(const std::string& run_id, const std::string& run_root,
                                                const std::string& disk_root);

    // ---- names and places ----
    const std::string& run_id() const { return run_id_; }
    const std::string& run_dir() const { return run_dir_; }
    std::vector<std::string> hosts() const { return {kN1, kN2, kClient}; }
    std::string netns(const std::string& host) const;  // throws on an unknown host
    const std::string& switch_netns() const { return switch_ns_; }
    std::string cgroup(const std::string& host) const;
    // Address of a host on a link ("" if it has none there): n1 10.10.0.11 / 10.11.0.11,
    // n2 10.10.0.12 / 10.11.0.12, client 10.10.0.100.
    std::string address(const std::string& host, int link) const;
    std::string gateway() const { return "10.10.0.1"; }
    std::string floating_ip() const { return "10.10.0.208"; }
    std::string floating_cidr() const { return "10.10.0.208/24"; }
    uint16_t repo_port() const { return 6162; }
    // The shared disk.
    const std::string& loop_device() const { return loop_device_; }
    dev_t disk_dev() const { return disk_dev_; }
    // With disk_over_fuse: hold (or release) every I/O of the disk at its "SAN"; returns once
    // in effect. While held, anything that reads or writes the disk (a mount(2)) waits in the
    // kernel, uninterruptibly. down() releases it first. Throws without disk_over_fuse.
    void hold_disk_io(bool held);
    int disk_io_waiting();        // requests of the disk held right now
    pid_t disk_server_pid() const;  // the FUSE server (our child), -1 without disk_over_fuse
    std::string disk_fuse_mountpoint() const;  // where it serves the image, "" without
    // Where the filesystem resource mounts it (same path on both hosts; each host's mount
    // table is its own).
    std::string mountpoint() const { return run_dir_ + "/repo"; }
    // Per-host folders behind /etc/veeam-ha, /var/lib/veeam-ha, /run/veeam-ha, as the lab
    // process sees them.
    std::string host_etc(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/etc"; }
    std::string host_state(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/state"; }
    std::string host_run(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/run"; }
    std::string log_dir() const { return run_dir_ + "/logs"; }
    // With private_ssh: what the host sees as /etc/ssh and /srv/veeam-ha-sync.
    std::string host_ssh(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/ssh"; }
    std::string host_synced(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/synced"; }
    static constexpr const char* kSyncedFolder = "/srv/veeam-ha-sync";
    // Per-host copies of what `veeam-hactl check --peer` compares (lab_identity.cc), bound over
    // the machine's files inside each host, so a test can make the two hosts differ:
    // ssh/ (over /etc/ssh: one ed25519 host key, the same on both), passwd and group (the
    // machine's, plus user veeam-usr-1 uid 990 and group veeam gid 990) and dpkg-status (the
    // machine's /var/lib/dpkg/status plus veeamtransport 12.1.0.2131). Write files in place
    // (the binds hold the inode).
    std::string host_identity(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/identity"; }
    static constexpr const char* kVeeamTransportVersion = "12.1.0.2131";
    // The file the host's init shows as its /proc/sys/kernel/random/boot_id: a fresh UUID at
    // every power-on, the same for every process of one power-on (a daemon restart).
    std::string boot_id_file(const std::string& host) const { return run_dir_ + "/hosts/" + host + "/boot_id"; }

    // ---- the generated config ----
    const std::string& config_path() const { return config_path_; }  // one file for both nodes
    std::string config_yaml() const;
    config::Config config() const;  // the same, typed (paths as the hosts see them)
    std::string repo_service() const;  // absolute path of the exec resource script
    std::string vm_uuid(const std::string& host) const;
    // Settings to reach the simulator from a thread in a lab namespace, with the CA and
    // password files as the lab process sees them.
    config::VSphere vsphere() const;
    std::vector<std::pair<std::string, std::string>> vm_uuids() const;  // (node, BIOS UUID)
    bool has_vcenter() const { return static_cast<bool>(vcsim_); }
    int vcenter_sessions();  // sessions live on the simulator now (logged in, not logged out)

    // ---- processes ----
    HostRef ref(const std::string& host) const;
    pid_t init_pid(const std::string& host) const;  // the host's PID 1 (our numbering); 0 = off
    base::ProcessResult exec_in(const std::string& host, const std::vector<std::string>& argv,
                          std::chrono::milliseconds budget = std::chrono::seconds(10),
                          const std::string& stdin_data = {});
    // Long-running (the daemon): own session, output appended to log_dir()/HOST-NAME.log
    // (NAME = `label`, or the program's base name). Throws if it cannot start.
    Spawned spawn_in(const std::string& host, const std::vector<std::string>& argv, const std::string& label = {},
                     const std::vector<std::string>& extra_env = {});
    bool signal(pid_t pid, int sig);  // only PIDs spawn_in returned
    // Wait status once it exited, nullopt if still running at the deadline.
    std::optional<int> wait_exit(pid_t pid, std::chrono::steady_clock::time_point deadline);
    bool running(pid_t pid);
    // A file as the host sees it (through /proc/<init>/root: its own mounts), e.g. what is
    // on the shared disk while the host has it mounted. nullopt if off or unreadable.
    std::optional<std::string> read_file_in(const std::string& host, const std::string& path,
                                            size_t limit = 256u << 20) const;

    // ---- what the cluster did (for end-to-end checks) ----
    // The host has the shared disk mounted (its mount table, now).
    bool disk_mounted_in(const std::string& host) const;
    // Hosts that have the floating IP on eth0 (0, 1 or, wrongly, 2).
    std::vector<std::string> hosts_with_floating_ip() const;
    // The repo service answers PING on the floating IP, seen from the client, within budget.
    bool service_answers(std::chrono::milliseconds budget = std::chrono::milliseconds(1000)) const;

    // ---- power ----
    // Crash: every process of the host killed (and gone when this returns), its NICs
    // disconnected, its mount table gone. The simulator still says poweredOn (a crashed guest).
    void kill(const std::string& host);
    // Boots a host that is off: fresh addresses on its NICs (what a reboot does: the floating
    // IP is gone), a fresh mount table, NICs connected unless cut/isolated; then on_power_on.
    // If the simulator has its VM poweredOff, this powers it on THROUGH the simulator (whose
    // power-on hook boots the host), so the simulator and the lab never disagree.
    void power_on(const std::string& host);
    bool powered(const std::string& host) const;
    // True while the simulator has this host's VM off (fenced).
    bool vm_off(const std::string& host) const;

    // ---- network ----
    void cut(int link);   // both hosts' ends of the link disconnected (no carrier)
    void heal(int link);
    void heal_all();      // every link and host reconnected, heartbeat and loss rules removed
    // "Both cluster links cut, both alive, LAN fine": UDP and TCP to/from the heartbeat port
    // dropped inside both hosts (iptables), on every link.
    void cut_heartbeat();
    void heal_heartbeat();
    // "Cable pulled": every NIC of the host disconnected, its processes alive; it reaches
    // neither its peer, nor the gateway (ping target), nor vCenter.
    void isolate(const std::string& host);
    void reconnect(const std::string& host);
    // Random loss of `percent` of the packets each host receives on `link` (iptables
    // statistic in the hosts; netem is not available here). 0 removes it.
    void loss(int link, int percent);
    // vCenter unreachable (TCP to it dropped in the switch) while ping to the gateway works.
    void block_vcenter(bool blocked);
    bool link_cut(int link) const;
    bool isolated(const std::string& host) const;

    // ---- what happened ----
    std::vector<LabEvent> events() const;
    std::string status_text() const;  // hosts, power, init PIDs, link states, addresses
    // Writes run_dir()/state (read by `veeam-ha-lab exec` and `status`).
    void write_state_file() const;

    // The control socket (power hooks, `veeam-ha-lab`): path and an extension point for
    // commands the lab itself does not know (the CLI's keeper adds `down`, `spawn`, ...).
    std::string control_socket() const { return run_dir_ + "/control.sock"; }
    using CommandHandler = std::function<std::optional<std::string>(const std::vector<std::string>& words,
                                                                    bool* ok)>;
    void set_extra_commands(CommandHandler handler);
    // Runs one control command ("kill n1", "cut 1", "power-off n1 UUID", ...); returns the
    // reply text; *ok false on errors.
    std::string handle_command(const std::vector<std::string>& words, bool* ok);

private:
    struct Host {
        std::string name;
        std::string netns;
        std::string cgroup;
        std::vector<std::string> addresses;  // per link; empty = no NIC on that link
        std::atomic<pid_t> init_pid{0};
        bool powered = false;
        bool isolated = false;
        bool vm_off = false;  // the simulator powered it off and has not powered it on
        int generation = 0;
    };
    Host& host(const std::string& name);
    const Host& host(const std::string& name) const;

    void up();
    void make_network();
    void make_disk();
    void make_host_folders();
    void make_host_identity();  // lab_identity.cc
    std::vector<std::pair<std::string, std::string>> identity_binds(const std::string& host) const;
    void start_vcenter();
    void write_config();
    void boot(Host& h, const std::string& why);  // NIC config + init; lock held
    void power_off_locked(Host& h, const std::string& why);
    void apply_ports();                       // switch-side ports up/down from the state
    void set_loss_rules();
    void event(const std::string& text);
    void must(const base::ProcessResult& r, const std::vector<std::string>& argv) const;
    void ip_batch(const std::string& netns, const std::string& commands) const;
    void iptables(const std::string& netns, const std::vector<std::string>& args) const;

    LabOptions options_;
    std::string run_id_, run_dir_, disk_dir_, switch_ns_, cgroup_root_, config_path_;
    std::string loop_device_;
    dev_t disk_dev_ = 0;
    std::vector<std::unique_ptr<Host>> hosts_;
    bool cut_[2] = {false, false};
    int loss_[2] = {0, 0};
    bool heartbeat_cut_ = false;
    bool vcenter_blocked_ = false;
    std::map<std::pair<std::string, int>, bool> port_up_;  // (host, link) -> switch port up

    mutable std::recursive_mutex mu_;
    mutable std::mutex events_mu_;
    std::vector<LabEvent> events_;
    std::unique_ptr<Worker> worker_;   // creates host inits; lives until down()
    std::unique_ptr<Reaper> reaper_;
    std::unique_ptr<HoldableDisk> held_disk_;  // disk_over_fuse: the disk's image behind FUSE
    std::unique_ptr<test::Vcsim> vcsim_;
    std::unique_ptr<ControlServer> control_;
    CommandHandler extra_commands_;
    std::vector<pid_t> spawned_;
    bool down_ = false;
};

// The lab's run folders and the keeper behind `veeam-ha-lab`.
std::string default_run_id();  // "vhl<PID><letter>", unique within the process

}  // namespace veeamha::lab
