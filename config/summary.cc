// SPDX-License-Identifier: GPL-2.0-or-later
// summarize(): what the cluster will do with this configuration, on one screen, in the words an
// operator uses (for --check-config and `veeam-hactl check`).
#include <sys/socket.h>

#include <algorithm>
#include <sstream>

#include "config/config.h"

namespace veeamha::config {

namespace {

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
    return out;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string command_line(const std::vector<std::string>& argv) {
    std::vector<std::string> words;
    for (const auto& a : argv)
        words.push_back(a.empty() || a.find_first_of(" \t'\"\\") != std::string::npos
                            ? "'" + a + "'"
                            : a);
    return join(words, " ");
}

std::string what_it_does(const Resource& r) {
    switch (r.kind) {
        case ResourceKind::Lvm: {
            const auto& s = std::get<LvmSpec>(r.spec);
            return "activate volume group " + s.vg + " exclusively (" +
                   (s.mode == LvmSpec::Mode::SystemId ? "system ID" : "tags") +
                   (s.partial_allow ? ", even with a missing PV" : "") + ")";
        }
        case ResourceKind::Filesystem: {
            const auto& s = std::get<FilesystemSpec>(r.spec);
            std::string out = "mount " + s.device + " on " + s.mountpoint + " (" + s.fstype;
            if (!s.options.empty()) out += ", " + s.options;
            out += ")";
            if (s.deep_check) out += ", deep check";
            if (s.on_busy == FilesystemSpec::OnBusy::KillThenLazy) out += ", lazy unmount if busy";
            if (s.on_busy == FilesystemSpec::OnBusy::KillThenForce) out += ", forced unmount if busy";
            return out;
        }
        case ResourceKind::Bind: {
            const auto& s = std::get<BindSpec>(r.spec);
            return "bind " + s.source + " onto " + s.target +
                   (s.allow_nonempty_target ? " (even over a non-empty target)" : "");
        }
        case ResourceKind::Ip: {
            const auto& s = std::get<IpSpec>(r.spec);
            std::string out = "add " + s.address.text() + " on " + s.interface;
            if (!s.label.empty()) out += " as " + s.label;
            const char* announce = s.address.family == AF_INET6 ? "unsolicited NAs" : "gratuitous ARPs";
            if (s.garp_count > 0)
                out += ", " + std::to_string(s.garp_count) + " " + announce + " " +
                       format_duration(s.garp_interval) + " apart";
            else
                out += std::string(", no ") + announce;
            return out;
        }
        case ResourceKind::Service:
            return "start " + std::get<ServiceSpec>(r.spec).unit;
        case ResourceKind::Exec:
            return "run " + command_line(std::get<ExecSpec>(r.spec).start);
    }
    return "";
}

}  // namespace

std::string summarize(const Config& c, int local_node) {
    std::ostringstream out;
    const int preferred = c.preferred_node();
    out << "Cluster " << c.cluster.name << ": " << c.nodes.size() << " nodes, " << c.links()
        << (c.links() == 1 ? " link, " : " links, ") << c.resources.size()
        << (c.resources.size() == 1 ? " resource" : " resources") << " in one group.\n";

    out << "\nNodes\n";
    size_t width = 0;
    for (const auto& n : c.nodes) width = std::max(width, n.name.size());
    for (size_t i = 0; i < c.nodes.size(); ++i) {
        const Node& n = c.nodes[i];
        out << "  " << pad(n.name, width) << "  priority " << n.priority;
        if (!n.vm_uuid.empty()) out << "  VM " << n.vm_uuid;
        if (static_cast<int>(i) == preferred) out << "  [preferred]";
        if (static_cast<int>(i) == local_node) out << "  [this node]";
        out << "\n";
    }
    if (c.nodes.size() == 2 && preferred >= 0) {
        const Node& p = c.nodes[static_cast<size_t>(preferred)];
        const Node& o = c.nodes[static_cast<size_t>(1 - preferred)];
        out << "  " << p.name << " is preferred"
            << (p.priority == o.priority ? " (equal priorities: listed first)" : "")
            << ": it wins a cold start;\n  in a fence race " << o.name << " waits "
            << format_duration(c.fencing.delay) << " first.\n";
    }

    out << "\nHeartbeat every " << format_duration(c.heartbeat.interval) << " on UDP port "
        << c.heartbeat.port << " (peer channel: TCP " << c.heartbeat.port << ").\n"
        << "  The peer is lost after " << format_duration(c.heartbeat.timeout)
        << " of silence on all links:\n";
    for (size_t l = 0; l < c.links() && c.nodes.size() == 2; ++l) {
        if (l >= c.nodes[1].addresses.size()) break;
        out << "  link " << l << ": " << c.nodes[0].addresses[l] << " <-> "
            << c.nodes[1].addresses[l] << "\n";
    }

    const auto& f = c.fencing;
    out << "\nFencing: "
        << (f.action == FenceAction::Off ? "power off" : "power cycle (off, confirmed, then on)")
        << ", all levels within " << format_duration(f.timeout) << ".\n"
        << "  A takeover needs the power-off read back, in this order:\n";
    int level = 1;
    if (f.vsphere) {
        const auto& v = *f.vsphere;
        out << "  " << level++ << ". vSphere " << v.host << ":" << v.port << " as " << v.username
            << ", VM by " << (v.uuid_kind == UuidKind::Bios ? "BIOS" : "instance") << " UUID, "
            << format_duration(v.call_timeout) << " per call,\n     ";
        if (!v.ca_file.empty())
            out << "certificate checked against " << v.ca_file;
        else if (!v.thumbprint.empty())
            out << "certificate pinned to " << v.thumbprint.substr(0, 23) << "...";
        else
            out << "certificate NOT checked (insecure)";
        out << "\n";
    }
    for (const auto& l : f.levels) {
        std::vector<std::string> args;
        for (const auto& [k, val] : l.args) args.push_back(k + "=" + val);
        out << "  " << level++ << ". " << l.agent;
        if (!args.empty()) out << " " << join(args, " ");
        out << ", for " << (l.nodes.empty() ? std::string("both nodes") : join(l.nodes)) << "\n";
    }
    if (c.policy.ping_targets.empty())
        out << "  No ping_targets: a node cut off from the network cannot tell, and may fence\n"
               "  a healthy peer.\n";
    else
        out << "  A node fences only if " << join(c.policy.ping_targets, " or ")
            << " answers a ping within " << format_duration(c.policy.ping_timeout)
            << ";\n  otherwise it is the isolated one and waits.\n";

    out << "\nResource group (start top to bottom, stop bottom to top)\n";
    width = 0;
    for (const auto& r : c.resources) width = std::max(width, r.name.size());
    const Resource defaults;
    for (size_t i = 0; i < c.resources.size(); ++i) {
        const Resource& r = c.resources[i];
        std::string line = "  " + std::to_string(i + 1) + ". " + pad(r.name, width) + "  " +
                           pad(to_string(r.kind), 10) + "  " + what_it_does(r);
        out << line;
        std::vector<std::string> own;
        if (r.start_timeout != defaults.start_timeout) own.push_back("start " + format_duration(r.start_timeout));
        if (r.stop_timeout != defaults.stop_timeout) own.push_back("stop " + format_duration(r.stop_timeout));
        if (r.monitor_interval != defaults.monitor_interval)
            own.push_back("monitor every " + format_duration(r.monitor_interval));
        if (r.monitor_timeout != defaults.monitor_timeout)
            own.push_back("monitor timeout " + format_duration(r.monitor_timeout));
        if (!own.empty()) {
            std::string extra = "[" + join(own) + "]";
            // Keep lines short enough for a terminal.
            if (line.size() + 1 + extra.size() > 100)
                out << "\n     " << std::string(width + 14, ' ') << extra;
            else
                out << " " << extra;
        }
        out << "\n";
    }
    out << "  Timeouts unless shown: start " << format_duration(defaults.start_timeout) << ", stop "
        << format_duration(defaults.stop_timeout) << ", monitor every "
        << format_duration(defaults.monitor_interval) << " (timeout "
        << format_duration(defaults.monitor_timeout) << ").\n";

    const auto& p = c.policy;
    out << "\nPolicy\n";
    out << (p.startup_fencing
                ? "  At boot, a node that cannot see its peer fences it before starting the group alone.\n"
                : "  At boot, a node that cannot see its peer starts the group alone WITHOUT fencing it.\n");
    out << (p.failback ? "  After a failover the group moves back to the preferred node when it returns.\n"
                       : "  After a failover the group stays where it is (no failback).\n");
    // Pacemaker's migration-threshold: N failures within failure_timeout move the group.
    if (p.migration_threshold == 0)
        out << "  A failed resource is always restarted here (migration_threshold 0: never moved\n"
               "  because of failures).\n";
    else if (p.migration_threshold == 1)
        out << "  A failed resource moves the group to the peer at once (migration_threshold 1).\n";
    else
        out << "  A failed resource restarts the group from that resource; at "
            << p.migration_threshold << " failures in " << format_duration(p.failure_timeout)
            << "\n  the group moves to the peer.\n";
    out << "  A stop that fails or times out leaves the node unclean: the peer fences it first.\n";

    out << "\n";
    if (!c.alerts.empty()) {
        std::vector<std::string> programs;
        for (const auto& a : c.alerts) programs.push_back(a.exec);
        out << "Alerts: " << join(programs) << "\n";
    }
    if (!c.sync.empty()) {
        std::vector<std::string> synced = c.sync.paths;
        if (c.sync.ssh_host_keys) synced.push_back("the SSH host keys (/etc/ssh/ssh_host_*)");
        std::string line = "Kept identical on the passive node:";
        for (size_t i = 0; i < synced.size(); ++i) {  // wrapped to fit a terminal
            const std::string item = " " + synced[i] + (i + 1 < synced.size() ? "," : "");
            if (line.size() + item.size() > 100) {
                out << line << "\n";
                line = " ";
            }
            line += item;
        }
        out << line << "\n";
    }
    out << "Key " << c.cluster.key_file << "; state " << c.cluster.state_dir << "; admin socket "
        << c.cluster.admin_socket << "\n";
    if (c.cluster.http_listen) {
        const auto& h = *c.cluster.http_listen;
        bool v6 = h.host.find(':') != std::string::npos;
        out << "HTTP status and metrics on " << (v6 ? "[" + h.host + "]" : h.host) << ":" << h.port
            << " (/status, /metrics)\n";
    }
    return out.str();
}

}  // namespace veeamha::config
