// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/peer_compare.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace veeamha::runtime {
namespace {

class Items {
public:
    explicit Items(std::vector<wire::PeerCheckItem>& out) : out_(out) {}
    void ok(const std::string& kind, const std::string& item, const std::string& detail) {
        add(kind, item, "ok", detail, "");
    }
    void different(const std::string& kind, const std::string& item, const std::string& detail,
                   const std::string& fix) {
        add(kind, item, "different", detail, fix);
    }
    void unknown(const std::string& kind, const std::string& item, const std::string& detail) {
        add(kind, item, "unknown", detail, "");
    }

private:
    void add(const std::string& kind, const std::string& item, const char* state, const std::string& detail,
             const std::string& fix) {
        wire::PeerCheckItem i;
        i.set_kind(kind);
        i.set_item(item);
        i.set_state(state);
        i.set_detail(detail);
        i.set_fix(fix);
        out_.push_back(std::move(i));
    }
    std::vector<wire::PeerCheckItem>& out_;
};

std::string hex(const std::string& bytes, size_t n = 8) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < bytes.size() && i < n; ++i) {
        s += digits[static_cast<unsigned char>(bytes[i]) >> 4];
        s += digits[static_cast<unsigned char>(bytes[i]) & 15];
    }
    return s;
}

// The reference (whose state the fixes copy) and the other node.
struct Pair {
    const wire::HostFacts& ref;
    const wire::HostFacts& other;
    std::string on_ref() const { return " on " + ref.node(); }
    std::string on_other() const { return " on " + other.node(); }
    // "A on n1, B on n2"
    std::string both(const std::string& r, const std::string& o) const {
        return r + " on " + ref.node() + ", " + o + " on " + other.node();
    }
};

std::string problem(const wire::HostFacts& f, const std::string& item) {
    auto it = f.problems().find(item);
    return it == f.problems().end() ? "" : it->second;
}

void compare_version(const Pair& p, Items& items) {
    auto text = [](const wire::HostFacts& f) {
        return f.version() + " (protocol " + std::to_string(f.protocol_major()) + "." +
               std::to_string(f.protocol_minor()) + ")";
    };
    if (text(p.ref) == text(p.other))
        items.ok("version", "version", "veeam-had " + text(p.ref));
    else
        items.different("version", "version", "veeam-had " + p.both(text(p.ref), text(p.other)),
                        "apt-get install veeam-had=" + p.ref.version() + p.on_other());
}

std::map<std::string, std::string> config_map(const wire::HostFacts& f) {
    std::map<std::string, std::string> m;
    for (const auto& line : f.config_lines()) {
        auto eq = line.find('=');
        m[line.substr(0, eq)] = eq == std::string::npos ? "" : line.substr(eq + 1);
    }
    return m;
}

void compare_config(const Pair& p, Items& items) {
    if (p.ref.config_digest() == p.other.config_digest()) {
        items.ok("config", "config", "the same (" + std::to_string(p.ref.config_lines_size()) + " settings)");
        return;
    }
    // Name the settings that differ (the first few), as key: value here, value there.
    auto a = config_map(p.ref), b = config_map(p.other);
    std::set<std::string> keys;
    for (const auto& [k, v] : a) keys.insert(k);
    for (const auto& [k, v] : b) keys.insert(k);
    std::string detail;
    int n = 0;
    for (const auto& k : keys) {
        auto x = a.find(k), y = b.find(k);
        std::string va = x == a.end() ? "(none)" : x->second, vb = y == b.end() ? "(none)" : y->second;
        if (va == vb) continue;
        if (++n <= 3) detail += (detail.empty() ? "" : "; ") + k + ": " + p.both(va, vb);
    }
    if (n > 3) detail += "; and " + std::to_string(n - 3) + " more";
    if (detail.empty()) detail = "the digests differ";
    items.different("config", "config", detail,
                    "scp -p " + p.ref.config_path() + " " + p.other.node() + ":" + p.other.config_path() +
                        p.on_ref() + ", then systemctl reload veeam-had" + p.on_other());
}

void compare_sync(const Pair& p, Items& items) {
    std::map<std::string, std::pair<const wire::FileFact*, const wire::FileFact*>> files;
    for (const auto& f : p.ref.sync_files()) files[f.path()].first = &f;
    for (const auto& f : p.other.sync_files()) files[f.path()].second = &f;
    for (const auto& [path, ff] : files) {
        const std::string item = "sync " + path;
        auto state = [](const wire::FileFact* f) {
            if (!f) return std::string("not listed");
            return f->error().empty() ? "sha256 " + hex(f->sha256()) : f->error();
        };
        std::string a = state(ff.first), b = state(ff.second);
        bool readable = ff.first && ff.second && ff.first->error().empty() && ff.second->error().empty();
        if (a == b)
            items.ok("sync", item, ff.first && ff.first->error() == "missing" ? "missing on both" : a + " on both");
        else if (!readable && ((ff.first && !ff.first->error().empty() && ff.first->error() != "missing") ||
                               (ff.second && !ff.second->error().empty() && ff.second->error() != "missing")))
            items.unknown("sync", item, p.both(a, b));
        else
            items.different("sync", item, p.both(a, b),
                            "scp -p " + path + " " + p.other.node() + ":" + path + p.on_ref());
    }
}

void compare_ssh(const Pair& p, Items& items) {
    std::map<std::string, std::pair<std::string, std::string>> keys;
    for (const auto& k : p.ref.ssh_host_keys()) keys[k.type()].first = k.fingerprint();
    for (const auto& k : p.other.ssh_host_keys()) keys[k.type()].second = k.fingerprint();
    if (keys.empty()) {
        items.unknown("ssh-host-key", "ssh-host-key", "no /etc/ssh/ssh_host_*_key.pub on either node");
        return;
    }
    for (const auto& [type, fp] : keys) {
        const std::string item = "ssh-host-key " + type;
        if (fp.first == fp.second) {
            items.ok("ssh-host-key", item, fp.first);
            continue;
        }
        const std::string key = "/etc/ssh/ssh_host_" + type + "_key";
        if (fp.first.empty())  // only the other node has it: remove it there
            items.different("ssh-host-key", item, p.both("none", fp.second),
                            "rm " + key + " " + key + ".pub" + p.on_other() + ", then systemctl reload ssh" + p.on_other());
        else
            items.different("ssh-host-key", item, p.both(fp.first, fp.second.empty() ? "none" : fp.second),
                            "scp -p " + key + " " + key + ".pub " + p.other.node() + ":/etc/ssh/" + p.on_ref() +
                                ", then systemctl reload ssh" + p.on_other());
    }
}

void compare_accounts(const Pair& p, Items& items, bool users) {
    const char* kind = users ? "user" : "group";
    std::map<std::string, std::pair<const wire::AccountFact*, const wire::AccountFact*>> all;
    for (const auto& a : users ? p.ref.users() : p.ref.groups()) all[a.name()].first = &a;
    for (const auto& a : users ? p.other.users() : p.other.groups()) all[a.name()].second = &a;
    std::string trouble = problem(p.ref, kind) + problem(p.other, kind);
    if (!trouble.empty()) {
        items.unknown(kind, kind, trouble);
        return;
    }
    auto ids = [users](const wire::AccountFact* a) {
        if (!a || !a->exists()) return std::string("absent");
        return (users ? "uid " : "gid ") + std::to_string(a->id()) +
               (users ? " gid " + std::to_string(a->gid()) : std::string());
    };
    for (const auto& [name, pr] : all) {
        const std::string item = std::string(kind) + " " + name;
        std::string a = ids(pr.first), b = ids(pr.second);
        if (a == b) {
            items.ok(kind, item, a == "absent" ? "absent on both" : a);
            continue;
        }
        // Create it where it is missing, with the other node's numbers; else renumber the other.
        bool ref_has = pr.first && pr.first->exists(), other_has = pr.second && pr.second->exists();
        const wire::AccountFact& src = ref_has ? *pr.first : *pr.second;
        const std::string where = ref_has ? p.on_other() : p.on_ref();
        std::string fix;
        if (!ref_has || !other_has)
            fix = users ? "useradd -u " + std::to_string(src.id()) + " -g " + std::to_string(src.gid()) + " " + name + where
                        : "groupadd -g " + std::to_string(src.id()) + " " + name + where;
        else if (users)
            fix = "usermod" + (src.id() != pr.second->id() ? " -u " + std::to_string(src.id()) : std::string()) +
                  (src.gid() != pr.second->gid() ? " -g " + std::to_string(src.gid()) : std::string()) + " " + name + where;
        else
            fix = "groupmod -g " + std::to_string(src.id()) + " " + name + where;
        items.different(kind, item, p.both(a, b), fix);
    }
}

bool disabled_at_boot(const std::string& state) { return state == "disabled" || state == "static"; }

void compare_units(const Pair& p, Items& items) {
    std::map<std::string, std::pair<const wire::UnitFact*, const wire::UnitFact*>> units;
    for (const auto& u : p.ref.units()) units[u.unit()].first = &u;
    for (const auto& u : p.other.units()) units[u.unit()].second = &u;
    if (!p.ref.systemd() || !p.other.systemd()) {
        std::string where = !p.ref.systemd() && !p.other.systemd() ? "" : " on " + (!p.ref.systemd() ? p.ref.node() : p.other.node());
        if (units.empty()) items.unknown("unit", "unit", "no systemd" + where);
        for (const auto& [name, u] : units) items.unknown("unit", "unit " + name, "no systemd" + where);
        return;
    }
    for (const auto& [name, u] : units) {
        const std::string item = "unit " + name;
        const wire::UnitFact *a = u.first, *b = u.second;
        if (!a || !b || !a->error().empty() || !b->error().empty()) {
            items.unknown("unit", item, !a || !b ? "not in both configurations" : a->error() + b->error());
            continue;
        }
        if (!a->exists() && !b->exists())
            items.different("unit", item, "missing on both", "install the unit on " + p.ref.node() + " and " + p.other.node());
        else if (a->exists() && b->exists() && a->sha256() == b->sha256())
            items.ok("unit", item, "the same " + a->files());
        else {
            // Copy the files from where the unit is (the reference when both have it) to the other.
            const wire::UnitFact& from = a->exists() ? *a : *b;
            const std::string& from_node = a->exists() ? p.ref.node() : p.other.node();
            const std::string& to_node = a->exists() ? p.other.node() : p.ref.node();
            std::string fix, files = from.files();
            for (size_t at = 0; at < files.size();) {
                size_t end = files.find(' ', at);
                std::string f = files.substr(at, end == std::string::npos ? std::string::npos : end - at);
                fix += (fix.empty() ? "" : " && ") + ("scp -p " + f + " " + to_node + ":" + f);
                at = end == std::string::npos ? files.size() : end + 1;
            }
            auto shown = [](const wire::UnitFact* unit) {
                return unit->exists() ? unit->files() + " sha256 " + hex(unit->sha256()) : std::string("missing");
            };
            items.different("unit", item, p.both(shown(a), shown(b)),
                            fix + " on " + from_node + ", then systemctl daemon-reload on " + to_node);
        }
        // At boot: veeam-had starts the unit on the active node only.
        std::string fix, detail;
        for (const auto* f : {a, b}) {
            const std::string& node = f == a ? p.ref.node() : p.other.node();
            if (!f->exists()) continue;
            detail += (detail.empty() ? "" : ", ") + f->enabled() + " on " + node;
            if (disabled_at_boot(f->enabled())) continue;
            std::string verb = f->enabled() == "masked" || f->enabled() == "masked-runtime" ? "unmask" : "disable";
            fix += (fix.empty() ? "" : "; ") + ("systemctl " + verb + " " + name + " on " + node);
        }
        if (fix.empty()) items.ok("unit-boot", item + " at boot", detail);
        else items.different("unit-boot", item + " at boot", detail, fix);
    }
}

void compare_packages(const Pair& p, Items& items) {
    if (!p.ref.dpkg() || !p.other.dpkg()) {
        items.unknown("package", "package veeam*",
                      "no dpkg database on " + (!p.ref.dpkg() ? p.ref.node() : p.other.node()) +
                          (problem(p.ref, "package").empty() ? "" : ": " + problem(p.ref, "package")));
        return;
    }
    std::map<std::string, std::pair<std::string, std::string>> all;
    for (const auto& x : p.ref.packages()) all[x.name()].first = x.version();
    for (const auto& x : p.other.packages()) all[x.name()].second = x.version();
    if (all.empty()) items.ok("package", "package veeam*", "none installed on either node");
    for (const auto& [name, v] : all) {
        const std::string item = "package " + name;
        if (v.first == v.second) {
            items.ok("package", item, v.first);
            continue;
        }
        auto shown = [](const std::string& s) { return s.empty() ? std::string("not installed") : s; };
        std::string fix = v.first.empty() ? "apt-get install " + name + "=" + v.second + p.on_ref()
                                          : "apt-get install " + name + "=" + v.first + p.on_other();
        items.different("package", item, p.both(shown(v.first), shown(v.second)), fix);
    }
}

void compare_lvm(const Pair& p, Items& items) {
    const std::string item = "lvm system_id_source";
    if (!p.ref.has_lvm_system_id_source() || !p.other.has_lvm_system_id_source()) {
        const wire::HostFacts& f = p.ref.has_lvm_system_id_source() ? p.other : p.ref;
        items.unknown("lvm", item, "cannot read it on " + f.node() + ": " + problem(f, "lvm"));
    } else if (p.ref.lvm_system_id_source() == p.other.lvm_system_id_source()) {
        items.ok("lvm", item, p.ref.lvm_system_id_source());
    } else {
        items.different("lvm", item, p.both(p.ref.lvm_system_id_source(), p.other.lvm_system_id_source()),
                        "set system_id_source = \"" + p.ref.lvm_system_id_source() +
                            "\" in the global section of /etc/lvm/lvm.conf" + p.on_other());
    }
}

void compare_time(const Pair& p, Items& items, std::optional<double> offset_ms, const std::string& local,
                  const std::string& peer) {
    if (!p.ref.has_time_synchronised() || !p.other.has_time_synchronised()) {
        std::string detail;
        for (const auto* f : {&p.ref, &p.other})
            if (!f->has_time_synchronised())
                detail += (detail.empty() ? "" : "; ") + problem(*f, "time-sync") + " on " + f->node();
        items.unknown("time-sync", "time-sync", detail);
    } else {
        std::string fix, detail;
        for (const auto* f : {&p.ref, &p.other}) {
            detail += (detail.empty() ? "" : ", ") + std::string(f->time_synchronised() ? "synchronised" : "not synchronised") +
                      " on " + f->node();
            if (!f->time_synchronised())
                fix += (fix.empty() ? "" : "; ") + ("timedatectl set-ntp true on " + f->node() +
                                                    " (or start chrony there)");
        }
        if (fix.empty()) items.ok("time-sync", "time-sync", detail);
        else items.different("time-sync", "time-sync", detail, fix);
    }
    if (!offset_ms) {
        items.unknown("clock-offset", "clock-offset", "not measured");
        return;
    }
    char text[96];
    std::snprintf(text, sizeof text, "%.1f ms", std::fabs(*offset_ms));
    // The offset is the peer's clock minus the local one.
    std::string detail = peer + " is " + text + (*offset_ms >= 0 ? " ahead of " : " behind ") + local;
    if (std::fabs(*offset_ms) <= kMaxClockOffsetMs)
        items.ok("clock-offset", "clock-offset", detail);
    else
        items.different("clock-offset", "clock-offset", detail,
                        "use the same NTP servers on " + p.ref.node() + " and " + p.other.node() +
                            " (chronyc tracking shows what each follows)");
}

void compare_xfs(const Pair& p, Items& items) {
    // The repository's filesystems are on the shared disks: mounted on one node (the active),
    // so their flags are read where they are mounted.
    struct Seen {
        const wire::XfsFact* fact = nullptr;
        std::string node, errors;
    };
    std::map<std::string, Seen> all;
    for (const auto* f : {&p.ref, &p.other})
        for (const auto& x : f->xfs()) {
            Seen& s = all[x.mountpoint()];
            if (!x.error().empty()) s.errors += (s.errors.empty() ? "" : "; ") + x.error() + " on " + f->node();
            if (x.mounted() && !s.fact) {
                s.fact = &x;
                s.node = f->node();
            }
        }
    for (const auto& [mp, s] : all) {
        const std::string item = "xfs " + mp;
        if (!s.errors.empty()) {
            items.unknown("xfs", item, s.errors);
        } else if (!s.fact) {
            items.unknown("xfs", item, "not mounted on either node");
        } else {
            std::string flags = std::string("reflink=") + (s.fact->reflink() ? "1" : "0") +
                                " crc=" + (s.fact->crc() ? "1" : "0") + " (mounted on " + s.node + ")";
            if (s.fact->reflink() && s.fact->crc())
                items.ok("xfs", item, flags);
            else
                items.different("xfs", item, flags + "; Veeam's fast clone needs both",
                                "mkfs.xfs -m crc=1,reflink=1 on a new volume, copy the repository over, and mount it at " + mp);
        }
    }
}

}  // namespace

std::vector<wire::PeerCheckItem> compare_hosts(const wire::HostFacts& local, const wire::HostFacts& peer,
                                               std::optional<double> offset_ms) {
    std::vector<wire::PeerCheckItem> out;
    Items items(out);
    const bool peer_is_ref = peer.holding() && !local.holding();
    Pair p{peer_is_ref ? peer : local, peer_is_ref ? local : peer};
    compare_version(p, items);
    compare_config(p, items);
    compare_sync(p, items);
    compare_ssh(p, items);
    compare_accounts(p, items, true);
    compare_accounts(p, items, false);
    compare_units(p, items);
    compare_packages(p, items);
    compare_lvm(p, items);
    compare_time(p, items, offset_ms, local.node(), peer.node());
    compare_xfs(p, items);
    return out;
}

std::string format_item(const wire::PeerCheckItem& i) {
    if (i.state() == "different") return i.item() + ": different: " + i.detail() + "; fix: " + i.fix();
    return i.item() + ": " + i.state() + (i.detail().empty() ? "" : " (" + i.detail() + ")");
}

std::string format_peer_check(const wire::PeerCheck& c) {
    std::string out;
    if (c.has_error()) out += "peer " + c.peer() + ": " + c.error() + "\n";
    for (const auto& i : c.items()) out += format_item(i) + "\n";
    return out;
}

int peer_check_exit_code(const wire::PeerCheck& c) {
    if (c.has_error()) return 3;
    for (const auto& i : c.items())
        if (i.state() == "different") return 1;
    return 0;
}

}  // namespace veeamha::runtime
