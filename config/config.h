// SPDX-License-Identifier: GPL-2.0-or-later
// The typed configuration of veeam-had: /etc/veeam-ha.yaml (README "Configuration reference")
// after loading and validation. Every field has the default the README documents; key names are
// the user's interface and must not change. Every struct compares by value (operator==), so a
// new field is compared wherever configurations are (a reload, the engine's reconfigure).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace veeamha::config {

using Duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

// Where a value came from, for error messages and `check` output.
struct Location {
    std::string file;
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based
    // Where a value came from is not part of the value: two configurations that differ only in
    // line numbers (a comment added above a key) are equal.
    bool operator==(const Location&) const { return true; }
};

struct Endpoint {
    std::string host;  // literal IPv4/IPv6 address
    uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
};

// An address with a prefix length, parsed from "192.168.22.208/24" or "fd00::8/64".
struct Cidr {
    int family = 0;             // AF_INET or AF_INET6
    std::string address;        // canonical text form, without the prefix
    int prefix = 0;
    std::string text() const;   // "address/prefix"
    bool operator==(const Cidr&) const = default;
};

struct ClusterSection {
    std::string name;
    std::string key_file = "/etc/veeam-ha/authkey";
    std::string state_dir = "/var/lib/veeam-ha";
    std::string admin_socket = "/run/veeam-ha/admin.sock";
    std::optional<Endpoint> http_listen;  // unset = no HTTP server
    bool operator==(const ClusterSection&) const = default;
};

struct Node {
    std::string name;
    std::vector<std::string> addresses;  // one per link; index = link number
    std::string vm_uuid;                 // lower-case canonical form; empty if not given
    int priority = 100;
    Location where;
    bool operator==(const Node&) const = default;
};

struct HeartbeatSection {
    uint16_t port = 5409;
    Duration interval = 200ms;
    Duration timeout = 1000ms;
    bool operator==(const HeartbeatSection&) const = default;
};

enum class FenceAction { Off, Reboot };
enum class UuidKind { Bios, Instance };

struct VSphere {
    std::string host;
    uint16_t port = 443;
    std::string username;
    std::string password_file;
    std::string ca_file;      // exactly one of ca_file, thumbprint, insecure
    std::string thumbprint;   // normalised "SHA256:AB:CD:..." (upper-case hex, colon-separated)
    bool insecure = false;
    UuidKind uuid_kind = UuidKind::Bios;
    Duration call_timeout = 10000ms;
    bool operator==(const VSphere&) const = default;
};

struct FenceLevel {
    std::string agent;  // e.g. fence_ipmilan; looked up in PATH and /usr/sbin
    // key=value arguments in the order written; `password_file` is read at fence time and sent
    // as `password`, never logged.
    std::vector<std::pair<std::string, std::string>> args;
    std::vector<std::string> nodes;  // nodes this level can fence; empty = both
    Location where;
    bool operator==(const FenceLevel&) const = default;
};

struct FencingSection {
    FenceAction action = FenceAction::Off;
    Duration timeout = 60000ms;
    Duration delay = 5000ms;
    std::optional<VSphere> vsphere;
    std::vector<FenceLevel> levels;
    bool operator==(const FencingSection&) const = default;
};

struct PolicySection {
    bool failback = false;
    int migration_threshold = 3;
    Duration failure_timeout = 600000ms;
    bool startup_fencing = true;
    std::vector<std::string> ping_targets;  // literal addresses
    Duration ping_timeout = 500ms;
    bool operator==(const PolicySection&) const = default;
};

enum class ResourceKind { Lvm, Filesystem, Ip, Service, Exec, Bind };
const char* to_string(ResourceKind);

struct LvmSpec {
    enum class Mode { SystemId, Tag };
    std::string vg;
    Mode mode = Mode::SystemId;
    bool partial_allow = false;  // `partial: allow`; default refuses a VG with a missing PV
    bool operator==(const LvmSpec&) const = default;
};

struct FilesystemSpec {
    enum class OnBusy { Kill, KillThenLazy, KillThenForce };
    std::string device;
    std::string mountpoint;
    std::string fstype = "xfs";
    std::string options;
    bool deep_check = false;
    OnBusy on_busy = OnBusy::Kill;  // `force_unmount: kill | lazy | force` [kill]
    bool operator==(const FilesystemSpec&) const = default;
};

// A folder of a group filesystem bind-mounted onto a host path (state that must travel with
// the data, such as /etc/veeam).
struct BindSpec {
    std::string source;  // absolute; under the mountpoint of an earlier filesystem resource
    std::string target;  // absolute; created when missing
    bool allow_nonempty_target = false;  // else a target with entries is refused at start
    bool operator==(const BindSpec&) const = default;
};

struct IpSpec {
    Cidr address;
    std::string interface;
    std::string label;  // optional IFA_LABEL (IPv4 only, must start with the interface name)
    int garp_count = 5;
    Duration garp_interval = 200ms;
    Duration garp_repeat_after = 5000ms;  // the burst is sent once more after this; 0 = never
    // Duplicate address check before the add: 3 probes in this window, answers awaited until
    // its end (begun ahead of the address's turn when possible). 0 = no check.
    Duration dad_window = 50ms;
    bool operator==(const IpSpec&) const = default;
};

struct ServiceSpec {
    std::string unit;
    bool operator==(const ServiceSpec&) const = default;
};

struct ExecSpec {
    std::vector<std::string> start;    // argv; argv[0] absolute
    std::vector<std::string> stop;
    std::vector<std::string> monitor;  // exit 0 = running, 7 = stopped, other = failed
    bool operator==(const ExecSpec&) const = default;
};

struct Resource {
    std::string name;
    ResourceKind kind = ResourceKind::Exec;
    std::variant<LvmSpec, FilesystemSpec, BindSpec, IpSpec, ServiceSpec, ExecSpec> spec;
    Duration start_timeout = 60000ms;
    Duration stop_timeout = 60000ms;
    Duration monitor_interval = 10000ms;
    Duration monitor_timeout = 20000ms;
    Location where;
    bool operator==(const Resource&) const = default;
};

struct Alert {
    std::string exec;  // absolute path; receives the event as arguments and environment
    // CRM_alert_recipient for Pacemaker's alert agents (a file for alert_file.sh, an address).
    std::string recipient;
    // Event kinds (config/event_kinds.h) and classes (node, fencing, resource) to run it for;
    // empty: every warning and error, and the takeover, fence and group-started notices.
    std::vector<std::string> events;
    Duration timeout = 30000ms;  // then the program is killed
    bool operator==(const Alert&) const = default;
};

// `sync:` (README, Configuration reference): what the node that runs the group keeps identical
// on its peer. The list form of earlier versions is `paths` alone.
struct SyncSection {
    std::vector<std::string> paths;  // absolute; a file, or a folder whose whole tree is synced
    bool ssh_host_keys = false;      // every /etc/ssh/ssh_host_* key; sshd reloaded after a change
    // Run after host keys changed here; empty: `systemctl try-reload-or-restart ssh` under
    // systemd, else SIGHUP to the pid in /run/sshd.pid.
    std::vector<std::string> ssh_reload;
    uint64_t max_file_size = 64ull << 20;    // a larger file is refused (status says so)
    uint32_t max_files = 1000;               // per entry; an entry with more is refused whole
    uint64_t max_total_size = 256ull << 20;  // all entries together; files past it are refused
    bool empty() const { return paths.empty() && !ssh_host_keys; }
    bool operator==(const SyncSection&) const = default;
};

// `peer_check`: what `veeam-hactl check --peer` compares beyond the configuration itself.
struct PeerCheckSection {
    // Accounts and groups whose UID/GID must be the same on both nodes; unset = every one whose
    // name starts with "veeam" in /etc/passwd and /etc/group.
    std::optional<std::vector<std::string>> users;
    std::optional<std::vector<std::string>> groups;
    bool operator==(const PeerCheckSection&) const = default;
};

struct Config {
    std::string source_file;
    ClusterSection cluster;
    std::vector<Node> nodes;  // exactly two after validation
    HeartbeatSection heartbeat;
    FencingSection fencing;
    PolicySection policy;
    std::vector<Resource> resources;  // start order
    std::vector<Alert> alerts;
    SyncSection sync;
    PeerCheckSection peer_check;

    size_t links() const { return nodes.empty() ? 0 : nodes[0].addresses.size(); }
    // Index of the node with this name, or -1.
    int node_index(const std::string& name) const;
    // The node that wins a cold start and fence races (rule 4): the higher priority; on equal
    // priorities the first node in the file. -1 without nodes.
    int preferred_node() const;
};

// What a reload (SIGHUP) may change while the daemon runs, said once for the daemon's reload and
// the engine's reconfigure: the policy, the fencing chain and its timings, the nodes' VM UUIDs,
// alerts, and each resource's timeouts and monitor interval (when the group is otherwise the
// same). Copies those from `next` into `running` and returns the names of the settings that
// differ but need a restart; those are left as they were.
inline std::vector<std::string> apply_live_settings(Config& running, const Config& next) {
    std::vector<std::string> restart;
    const ClusterSection &a = running.cluster, &b = next.cluster;
    if (a.name != b.name) restart.push_back("cluster.name");
    if (a.key_file != b.key_file) restart.push_back("cluster.key_file");
    if (a.state_dir != b.state_dir) restart.push_back("cluster.state_dir");
    if (a.admin_socket != b.admin_socket) restart.push_back("cluster.admin_socket");
    if (a.http_listen != b.http_listen) restart.push_back("cluster.http_listen");
    for (size_t i = 0; i < running.nodes.size() && i < next.nodes.size(); ++i) {
        Node n = next.nodes[i];
        n.vm_uuid = running.nodes[i].vm_uuid;
        if (!(n == running.nodes[i])) restart.push_back("nodes[" + std::to_string(i) + "]");
        running.nodes[i].vm_uuid = next.nodes[i].vm_uuid;
    }
    if (!(running.heartbeat == next.heartbeat)) restart.push_back("heartbeat");
    // Same group: same names, kinds and options in the same order; timings may differ.
    bool same_group = running.resources.size() == next.resources.size();
    for (size_t i = 0; same_group && i < running.resources.size(); ++i) {
        Resource r = next.resources[i];
        r.start_timeout = running.resources[i].start_timeout;
        r.stop_timeout = running.resources[i].stop_timeout;
        r.monitor_interval = running.resources[i].monitor_interval;
        r.monitor_timeout = running.resources[i].monitor_timeout;
        same_group = r == running.resources[i];
    }
    if (!same_group) restart.push_back("resources (names, kinds or options)");
    if (running.sync != next.sync) restart.push_back("sync");

    running.policy = next.policy;
    running.fencing = next.fencing;
    running.alerts = next.alerts;
    if (same_group) running.resources = next.resources;
    return restart;
}

struct ConfigError {
    Location where;
    std::string key_path;  // e.g. "resources[3].ip.address"; empty for whole-file errors
    std::string message;   // what was expected and what was found
    // "FILE:LINE:COL: KEY: MESSAGE"
    std::string to_string() const;
};

struct LoadOptions {
    // Check that key_file / password files exist with safe modes. Off for fuzzing and for
    // unit tests that do not create the files.
    bool check_files = true;
};

struct LoadResult {
    std::optional<Config> config;     // set only when errors is empty
    std::vector<ConfigError> errors;  // every error found, in file order
    std::vector<ConfigError> warnings;
};

LoadResult load_file(const std::string& path, const LoadOptions& options = {});
LoadResult load_string(const std::string& text, const std::string& file_name,
                       const LoadOptions& options = {});

// Parses "200ms", "2s", "1m", "1h"; nullopt on anything else.
std::optional<Duration> parse_duration(const std::string& text);
// "1.5s", "200ms", "10m": the shortest exact rendering, for summaries and logs.
std::string format_duration(Duration d);

// Which configured node this host is: `override_name` if not empty, else the host name
// (full, then the part before the first dot). Returns the index or an error message.
std::variant<int, std::string> resolve_local_node(const Config& config,
                                                  const std::string& override_name);

// Every field of the configuration as "key.path=value" lines in a fixed order (defaults
// filled in), so comments, whitespace, key order and spelling (1m / 60s) do not matter. Nothing
// in it differs per node: the same file runs on both (which node is which comes from the host
// name or --node); `source_file` and line numbers are not part of the configuration.
std::vector<std::string> canonical_lines(const Config& config);
// FNV-1a over canonical_lines; never 0 (0 means "not known" on the wire).
uint64_t digest(const Config& config);

// A one-screen, human summary of what the cluster will do with this config (for --check-config).
std::string summarize(const Config& config, int local_node /* -1 if unknown */);

}  // namespace veeamha::config
