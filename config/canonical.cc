// SPDX-License-Identifier: GPL-2.0-or-later
// The configuration as canonical "key.path=value" lines, and its digest (config.h). Written
// from the typed Config, so what the loader normalises (durations, UUIDs, thumbprints,
// defaults) compares equal however the file spells it. Every struct field is named here; the
// resource kinds are visited so that a new kind does not compile until it is added.
#include <type_traits>

#include "config/config.h"

namespace veeamha::config {
namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

class Lines {
public:
    void add(const std::string& key, const std::string& value) { out_.push_back(key + "=" + quote(value)); }
    void add(const std::string& key, const char* value) { add(key, std::string(value)); }
    void add(const std::string& key, bool value) { out_.push_back(key + "=" + (value ? "true" : "false")); }
    void add(const std::string& key, int value) { out_.push_back(key + "=" + std::to_string(value)); }
    void add(const std::string& key, uint16_t value) { add(key, static_cast<int>(value)); }
    void add(const std::string& key, Duration value) { out_.push_back(key + "=" + std::to_string(value.count()) + "ms"); }
    void add(const std::string& key, const std::vector<std::string>& values) {
        out_.push_back(key + "#=" + std::to_string(values.size()));
        for (size_t i = 0; i < values.size(); ++i) add(key + "[" + std::to_string(i) + "]", values[i]);
    }
    std::vector<std::string> take() { return std::move(out_); }

private:
    // Values are text the loader accepted (no control characters); quoting keeps "a=b" and
    // lists of one item apart from anything else.
    static std::string quote(const std::string& v) {
        std::string q = "\"";
        for (char c : v) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
        return q + "\"";
    }
    std::vector<std::string> out_;
};

std::string idx(const std::string& list, size_t i) { return list + "[" + std::to_string(i) + "]"; }

void add_resource(Lines& l, const std::string& p, const Resource& r) {
    l.add(p + ".name", r.name);
    l.add(p + ".kind", to_string(r.kind));
    l.add(p + ".start_timeout", r.start_timeout);
    l.add(p + ".stop_timeout", r.stop_timeout);
    l.add(p + ".monitor_interval", r.monitor_interval);
    l.add(p + ".monitor_timeout", r.monitor_timeout);
    std::visit(Overloaded{
                   [&](const LvmSpec& s) {
                       l.add(p + ".lvm.vg", s.vg);
                       l.add(p + ".lvm.mode", s.mode == LvmSpec::Mode::SystemId ? "system_id" : "tag");
                       l.add(p + ".lvm.partial", s.partial_allow ? "allow" : "refuse");
                   },
                   [&](const FilesystemSpec& s) {
                       l.add(p + ".filesystem.device", s.device);
                       l.add(p + ".filesystem.mountpoint", s.mountpoint);
                       l.add(p + ".filesystem.fstype", s.fstype);
                       l.add(p + ".filesystem.options", s.options);
                       l.add(p + ".filesystem.deep_check", s.deep_check);
                       l.add(p + ".filesystem.force_unmount",
                             s.on_busy == FilesystemSpec::OnBusy::Kill           ? "kill"
                             : s.on_busy == FilesystemSpec::OnBusy::KillThenLazy ? "lazy"
                                                                                 : "force");
                   },
                   [&](const IpSpec& s) {
                       l.add(p + ".ip.address", s.address.text());
                       l.add(p + ".ip.interface", s.interface);
                       l.add(p + ".ip.label", s.label);
                       l.add(p + ".ip.garp_count", s.garp_count);
                       l.add(p + ".ip.garp_interval", s.garp_interval);
                       l.add(p + ".ip.garp_repeat_after", s.garp_repeat_after);
                       l.add(p + ".ip.dad_window", s.dad_window);
                   },
                   [&](const ServiceSpec& s) { l.add(p + ".service.unit", s.unit); },
                   [&](const BindSpec& s) {
                       l.add(p + ".bind.source", s.source);
                       l.add(p + ".bind.target", s.target);
                       l.add(p + ".bind.allow_nonempty_target", s.allow_nonempty_target);
                   },
                   [&](const ExecSpec& s) {
                       l.add(p + ".exec.start", s.start);
                       l.add(p + ".exec.stop", s.stop);
                       l.add(p + ".exec.monitor", s.monitor);
                   },
               },
               r.spec);
}

}  // namespace

std::vector<std::string> canonical_lines(const Config& c) {
    Lines l;
    l.add("cluster.name", c.cluster.name);
    l.add("cluster.key_file", c.cluster.key_file);
    l.add("cluster.state_dir", c.cluster.state_dir);
    l.add("cluster.admin_socket", c.cluster.admin_socket);
    l.add("cluster.http_listen",
          c.cluster.http_listen ? c.cluster.http_listen->host + " port " + std::to_string(c.cluster.http_listen->port)
                                : std::string("none"));
    l.add("nodes#", static_cast<int>(c.nodes.size()));
    for (size_t i = 0; i < c.nodes.size(); ++i) {
        const Node& n = c.nodes[i];
        const std::string p = idx("nodes", i);
        l.add(p + ".name", n.name);
        l.add(p + ".addresses", n.addresses);
        l.add(p + ".vm_uuid", n.vm_uuid);
        l.add(p + ".priority", n.priority);
    }
    l.add("heartbeat.port", c.heartbeat.port);
    l.add("heartbeat.interval", c.heartbeat.interval);
    l.add("heartbeat.timeout", c.heartbeat.timeout);

    const FencingSection& f = c.fencing;
    l.add("fencing.action", f.action == FenceAction::Off ? "off" : "reboot");
    l.add("fencing.timeout", f.timeout);
    l.add("fencing.delay", f.delay);
    l.add("fencing.vsphere", f.vsphere.has_value());
    if (const auto& v = f.vsphere) {
        l.add("fencing.vsphere.host", v->host);
        l.add("fencing.vsphere.port", v->port);
        l.add("fencing.vsphere.username", v->username);
        l.add("fencing.vsphere.password_file", v->password_file);
        l.add("fencing.vsphere.ca_file", v->ca_file);
        l.add("fencing.vsphere.thumbprint", v->thumbprint);
        l.add("fencing.vsphere.insecure", v->insecure);
        l.add("fencing.vsphere.uuid_kind", v->uuid_kind == UuidKind::Bios ? "bios" : "instance");
        l.add("fencing.vsphere.call_timeout", v->call_timeout);
    }
    l.add("fencing.levels#", static_cast<int>(f.levels.size()));
    for (size_t i = 0; i < f.levels.size(); ++i) {
        const FenceLevel& lv = f.levels[i];
        const std::string p = idx("fencing.levels", i);
        l.add(p + ".agent", lv.agent);
        l.add(p + ".args#", static_cast<int>(lv.args.size()));
        for (const auto& [k, v] : lv.args) l.add(p + ".args." + k, v);  // in the order written
        l.add(p + ".nodes", lv.nodes);
    }

    const PolicySection& pol = c.policy;
    l.add("policy.failback", pol.failback);
    l.add("policy.migration_threshold", pol.migration_threshold);
    l.add("policy.failure_timeout", pol.failure_timeout);
    l.add("policy.startup_fencing", pol.startup_fencing);
    l.add("policy.ping_targets", pol.ping_targets);
    l.add("policy.ping_timeout", pol.ping_timeout);

    l.add("resources#", static_cast<int>(c.resources.size()));
    for (size_t i = 0; i < c.resources.size(); ++i) add_resource(l, idx("resources", i), c.resources[i]);

    l.add("alerts#", static_cast<int>(c.alerts.size()));
    for (size_t i = 0; i < c.alerts.size(); ++i) {
        const Alert& a = c.alerts[i];
        const std::string p = idx("alerts", i);
        l.add(p + ".exec", a.exec);
        l.add(p + ".recipient", a.recipient);
        l.add(p + ".events", a.events);
        l.add(p + ".timeout", a.timeout);
    }
    l.add("sync.paths", c.sync.paths);
    l.add("sync.ssh_host_keys", c.sync.ssh_host_keys);
    l.add("sync.ssh_reload", c.sync.ssh_reload);
    l.add("sync.max_file_size", std::to_string(c.sync.max_file_size));
    l.add("sync.max_files", std::to_string(c.sync.max_files));
    l.add("sync.max_total_size", std::to_string(c.sync.max_total_size));
    l.add("peer_check.users", c.peer_check.users ? std::string("listed") : std::string("default (veeam*)"));
    if (c.peer_check.users) l.add("peer_check.users", *c.peer_check.users);
    l.add("peer_check.groups", c.peer_check.groups ? std::string("listed") : std::string("default (veeam*)"));
    if (c.peer_check.groups) l.add("peer_check.groups", *c.peer_check.groups);
    return l.take();
}

uint64_t digest(const Config& c) {
    uint64_t h = 1469598103934665603ULL;
    for (const auto& line : canonical_lines(c)) {
        for (unsigned char ch : line) h = (h ^ ch) * 1099511628211ULL;
        h = (h ^ '\n') * 1099511628211ULL;
    }
    return h ? h : 1;
}

}  // namespace veeamha::config
