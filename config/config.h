// SPDX-License-Identifier: GPL-2.0-or-later
// The typed configuration of veeam-had: /etc/veeam-ha.yaml (DESIGN.md §9) after loading and
// validation. Every field has the default the design documents; key names are the user's
// interface and must not change.
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
};

struct Endpoint {
    std::string host;  // literal IPv4/IPv6 address
    uint16_t port = 0;
};

// An address with a prefix length, parsed from "192.168.22.208/24" or "fd00::8/64".
struct Cidr {
    int family = 0;             // AF_INET or AF_INET6
    std::string address;        // canonical text form, without the prefix
    int prefix = 0;
    std::string text() const;   // "address/prefix"
};

struct ClusterSection {
    std::string name;
    std::string key_file = "/etc/veeam-ha/authkey";
    std::string state_dir = "/var/lib/veeam-ha";
    std::string admin_socket = "/run/veeam-ha/admin.sock";
    std::optional<Endpoint> http_listen;  // unset = no HTTP server
};

struct Node {
    std::string name;
    std::vector<std::string> addresses;  // one per link; index = link number
    std::string vm_uuid;                 // lower-case canonical form; empty if not given
    int priority = 100;
    Location where;
};

struct HeartbeatSection {
    uint16_t port = 5409;
    Duration interval = 200ms;
    Duration timeout = 1000ms;
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
};

struct FenceLevel {
    std::string agent;  // e.g. fence_ipmilan; looked up in PATH and /usr/sbin
    // key=value arguments in the order written; `password_file` is read at fence time and sent
    // as `password`, never logged.
    std::vector<std::pair<std::string, std::string>> args;
    std::vector<std::string> nodes;  // nodes this level can fence; empty = both
    Location where;
};

struct FencingSection {
    FenceAction action = FenceAction::Off;
    Duration timeout = 60000ms;
    Duration delay = 5000ms;
    std::optional<VSphere> vsphere;
    std::vector<FenceLevel> levels;
};

struct PolicySection {
    bool failback = false;
    int migration_threshold = 3;
    Duration failure_timeout = 600000ms;
    bool startup_fencing = true;
    std::vector<std::string> ping_targets;  // literal addresses
    Duration ping_timeout = 500ms;
};

enum class ResourceKind { Lvm, Filesystem, Ip, Service, Exec };
const char* to_string(ResourceKind);

struct LvmSpec {
    enum class Mode { SystemId, Tag };
    std::string vg;
    Mode mode = Mode::SystemId;
    bool partial_allow = false;  // `partial: allow`; default refuses a VG with a missing PV
};

struct FilesystemSpec {
    enum class OnBusy { Kill, KillThenLazy, KillThenForce };
    std::string device;
    std::string mountpoint;
    std::string fstype = "xfs";
    std::string options;
    bool deep_check = false;
    OnBusy on_busy = OnBusy::Kill;  // `force_unmount: kill | lazy | force` [kill]
};

struct IpSpec {
    Cidr address;
    std::string interface;
    std::string label;  // optional IFA_LABEL (IPv4 only, must start with the interface name)
    int garp_count = 5;
    Duration garp_interval = 200ms;
    Duration garp_repeat_after = 5000ms;  // the burst is sent once more after this; 0 = never
};

struct ServiceSpec {
    std::string unit;
};

struct ExecSpec {
    std::vector<std::string> start;    // argv; argv[0] absolute
    std::vector<std::string> stop;
    std::vector<std::string> monitor;  // exit 0 = running, 7 = stopped, other = failed
};

struct Resource {
    std::string name;
    ResourceKind kind = ResourceKind::Exec;
    std::variant<LvmSpec, FilesystemSpec, IpSpec, ServiceSpec, ExecSpec> spec;
    Duration start_timeout = 60000ms;
    Duration stop_timeout = 60000ms;
    Duration monitor_interval = 10000ms;
    Duration monitor_timeout = 20000ms;
    Location where;
};

struct Alert {
    std::string exec;  // absolute path; receives the event as arguments and environment
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
    std::vector<std::string> sync;

    size_t links() const { return nodes.empty() ? 0 : nodes[0].addresses.size(); }
    // Index of the node with this name, or -1.
    int node_index(const std::string& name) const;
    // The node that wins a cold start and fence races (rule 4): the higher priority; on equal
    // priorities the first node in the file. -1 without nodes.
    int preferred_node() const;
};

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

// A one-screen, human summary of what the cluster will do with this config (for --check-config).
std::string summarize(const Config& config, int local_node /* -1 if unknown */);

}  // namespace veeamha::config
