// SPDX-License-Identifier: GPL-2.0-or-later
// The resource group: one entry per resource, in start order, each with exactly one kind key.
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include "config/schema.h"
#include "config/sections.h"
#include "config/syntax.h"

namespace veeamha::config::detail {

namespace {

void parse_lvm(const Value& v, LvmSpec& out) {
    Mapping m(v, "resources[].lvm");
    if (!m.ok()) return;
    const char* what = "a volume group name (letters, digits, '+', '_', '.', '-')";
    if (auto x = m.require("vg", "the volume group's name, e.g. vg_repo")) {
        std::string vg;
        if (read_string(*x, vg, what)) {
            if (valid_vg_name(vg))
                out.vg = vg;
            else
                x->expected(what);
        }
    }
    if (auto x = m.get("mode"))
        read_choice<LvmSpec::Mode>(
            *x, {{"system_id", LvmSpec::Mode::SystemId}, {"tag", LvmSpec::Mode::Tag}}, out.mode);
    if (auto x = m.get("partial")) read_choice<bool>(*x, {{"refuse", false}, {"allow", true}}, out.partial_allow);
}

void parse_filesystem(const Value& v, FilesystemSpec& out) {
    Mapping m(v, "resources[].filesystem");
    if (!m.ok()) return;
    const char* device_what = "an absolute device path, e.g. /dev/vg_repo/lv_repo";
    if (auto x = m.require("device", device_what)) {
        std::string device;
        if (read_string(*x, device, device_what)) {
            if (device.rfind("UUID=", 0) == 0 || device.rfind("LABEL=", 0) == 0)
                x->expected("a device path (for a filesystem UUID use /dev/disk/by-uuid/UUID)");
            else if (device[0] != '/')
                x->expected(device_what);
            else
                out.device = device;
        }
    }
    if (auto x = m.require("mountpoint", "the absolute directory to mount on, e.g. /veeam/repo")) {
        std::string text, why;
        if (read_string(*x, text, "an absolute directory path, e.g. /veeam/repo")) {
            if (auto path = normalize_mountpoint(text, why))
                out.mountpoint = *path;
            else
                x->expected(why);
        }
    }
    if (auto x = m.get("fstype")) {
        std::string type;
        const char* what = "a filesystem type, e.g. xfs";
        if (read_string(*x, type, what)) {
            bool ok = type.size() <= 32 && std::all_of(type.begin(), type.end(), [](char c) {
                return std::islower(static_cast<unsigned char>(c)) ||
                       std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_';
            });
            if (ok)
                out.fstype = type;
            else
                x->expected(what);
        }
    }
    if (auto x = m.get("options")) {
        std::string options;
        const char* what = "comma-separated mount options without spaces, e.g. noatime,nodiratime";
        if (read_text(*x, options, what)) {
            if (options.find_first_of(" \t") != std::string::npos)
                x->expected(what);
            else
                out.options = options;
        }
    }
    if (auto x = m.get("deep_check")) read_bool(*x, out.deep_check);
    if (auto x = m.get("force_unmount"))
        read_choice<FilesystemSpec::OnBusy>(*x,
                                            {{"kill", FilesystemSpec::OnBusy::Kill},
                                             {"lazy", FilesystemSpec::OnBusy::KillThenLazy},
                                             {"force", FilesystemSpec::OnBusy::KillThenForce}},
                                            out.on_busy);
}

void parse_bind(const Value& v, BindSpec& out) {
    Mapping m(v, "resources[].bind");
    if (!m.ok()) return;
    auto folder = [](const Value& x, const char* example, std::string& out_path) {
        std::string text, why;
        if (!read_string(x, text, std::string("an absolute directory path, e.g. ") + example)) return;
        if (auto path = normalize_mountpoint(text, why))
            out_path = *path;
        else
            x.expected(why);
    };
    if (auto x = m.require("source", "the folder on a filesystem of this group, e.g. /veeam/repo/.ha/etc-veeam"))
        folder(*x, "/veeam/repo/.ha/etc-veeam", out.source);
    if (auto x = m.require("target", "the host path to bind it on, e.g. /etc/veeam"))
        folder(*x, "/etc/veeam", out.target);
    if (auto x = m.get("allow_nonempty_target")) read_bool(*x, out.allow_nonempty_target);
}

void parse_ip_spec(const Value& v, IpSpec& out) {
    Mapping m(v, "resources[].ip");
    if (!m.ok()) return;
    bool have_address = false;
    if (auto x = m.require("address", "the floating address with its prefix, e.g. 192.168.22.208/24")) {
        std::string text, why;
        if (read_string(*x, text, "an address with a prefix length, e.g. 192.168.22.208/24")) {
            if (auto cidr = parse_cidr(text, why)) {
                out.address = *cidr;
                have_address = true;
            } else {
                x->expected(why);
            }
        }
    }
    bool have_interface = false;
    if (auto x = m.require("interface", "the network interface to add it to, e.g. ens192")) {
        std::string name;
        if (read_text(*x, name, "an interface name, e.g. ens192")) {
            if (auto problem = interface_name_problem(name))
                x->expected(*problem);
            else
                out.interface = name, have_interface = true;
        }
    }
    if (auto x = m.get("label")) {
        std::string label;
        if (read_string(*x, label, "an address label, e.g. ens192:ha")) {
            if (have_address && out.address.family != AF_INET) {
                x->error("address labels exist only for IPv4 addresses; remove the label");
            } else if (have_interface) {
                bool prefixed = label == out.interface ||
                                label.rfind(out.interface + ":", 0) == 0;
                if (!prefixed || label.size() > 15)
                    x->expected("a label of at most 15 characters that is " + out.interface +
                                " or starts with " + out.interface + ":");
                else
                    out.label = label;
            }
        }
    }
    if (auto x = m.get("garp_count")) read_int(*x, 0, 100, out.garp_count);
    if (auto x = m.get("garp_interval")) read_duration(*x, 10ms, 10000ms, out.garp_interval);
    if (auto x = m.get("garp_repeat_after"))
        read_duration(*x, 0ms, 3600000ms, out.garp_repeat_after);
    if (auto x = m.get("dad_window")) read_duration(*x, 0ms, 10000ms, out.dad_window);
}

void parse_service(const Value& v, ServiceSpec& out) {
    Mapping m(v, "resources[].service");
    if (!m.ok()) return;
    if (auto x = m.require("unit", "the systemd unit, e.g. veeamtransport.service")) {
        std::string text, why;
        if (read_string(*x, text, "a systemd unit name, e.g. veeamtransport.service")) {
            auto unit = normalize_unit(text, why);
            if (!unit)
                x->expected(why);
            else if (*unit == "veeam-had.service")
                x->expected("a unit other than veeam-had.service (the daemon cannot manage itself)");
            else
                out.unit = *unit;
        }
    }
}

void parse_argv(const Value& v, std::vector<std::string>& out) {
    const char* what = "a list of the program and its arguments, e.g. [/usr/local/bin/x, start] "
                       "(run without a shell)";
    auto items = v.items(what, 256);
    if (!items) return;
    if (items->empty()) {
        v.expected(what);
        return;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (const auto& item : *items) {
        std::string arg;
        if (!read_text(item, arg, "an argument (text)")) {
            ok = false;
            continue;
        }
        if (argv.empty() && (arg.empty() || arg[0] != '/')) {
            item.expected("an absolute path to the program (no shell or PATH lookup)");
            ok = false;
        }
        argv.push_back(arg);
    }
    if (ok) out = std::move(argv);
}

void parse_exec(const Value& v, ExecSpec& out) {
    Mapping m(v, "resources[].exec");
    if (!m.ok()) return;
    if (auto x = m.require("start", "the command that starts it, e.g. [/usr/local/bin/x, start]"))
        parse_argv(*x, out.start);
    if (auto x = m.require("stop", "the command that stops it, e.g. [/usr/local/bin/x, stop]"))
        parse_argv(*x, out.stop);
    if (auto x = m.require("monitor", "the command that checks it (exit 0 running, 7 stopped)"))
        parse_argv(*x, out.monitor);
}

void parse_resource(const Value& v, size_t index, Resource& r) {
    r.where = v.where();
    Mapping m(v, "resources[]");
    if (!m.ok()) return;
    std::vector<std::string> kinds;
    for (const auto& kind : resource_kinds())
        if (m.has(kind)) kinds.push_back(kind);
    if (kinds.empty() && !m.had_unknown_keys())
        v.error("expected one of the keys " + one_of(resource_kinds()) +
                " (the resource's kind), found none");
    if (kinds.size() > 1)
        v.error("expected exactly one of the keys " + one_of(resource_kinds()) + ", found " +
                one_of(kinds, " and "));
    if (kinds.size() == 1) {
        const std::string& kind = kinds.front();
        Value spec = *m.get(kind);
        if (kind == "lvm") {
            r.kind = ResourceKind::Lvm;
            parse_lvm(spec, r.spec.emplace<LvmSpec>());
        } else if (kind == "filesystem") {
            r.kind = ResourceKind::Filesystem;
            parse_filesystem(spec, r.spec.emplace<FilesystemSpec>());
        } else if (kind == "bind") {
            r.kind = ResourceKind::Bind;
            parse_bind(spec, r.spec.emplace<BindSpec>());
        } else if (kind == "ip") {
            r.kind = ResourceKind::Ip;
            parse_ip_spec(spec, r.spec.emplace<IpSpec>());
        } else if (kind == "service") {
            r.kind = ResourceKind::Service;
            parse_service(spec, r.spec.emplace<ServiceSpec>());
        } else {
            r.kind = ResourceKind::Exec;
            parse_exec(spec, r.spec.emplace<ExecSpec>());
        }
        r.name = std::string(to_string(r.kind)) + std::to_string(index);  // the default
    }
    if (auto x = m.get("name")) {
        std::string name;
        const char* what = "a name of letters, digits, '_', '-' or '.' (at most 64)";
        if (read_string(*x, name, what)) {
            if (valid_object_name(name))
                r.name = name;
            else
                x->expected(what);
        }
    }
    const Duration day = 24h;
    if (auto x = m.get("start_timeout")) read_duration(*x, 1000ms, day, r.start_timeout);
    if (auto x = m.get("stop_timeout")) read_duration(*x, 1000ms, day, r.stop_timeout);
    if (auto x = m.get("monitor_interval")) read_duration(*x, 1000ms, day, r.monitor_interval);
    if (auto x = m.get("monitor_timeout")) read_duration(*x, 1000ms, day, r.monitor_timeout);
}

}  // namespace

void parse_resources(const Value& v, std::vector<Resource>& out) {
    const char* what = "a list of resources, in start order";
    auto items = v.items(what, 64);
    if (!items) return;
    if (items->empty()) {
        v.expected("at least one resource");
        return;
    }
    for (size_t i = 0; i < items->size(); ++i) {
        Resource r;
        parse_resource((*items)[i], i, r);
        out.push_back(std::move(r));
    }
}

}  // namespace veeamha::config::detail
