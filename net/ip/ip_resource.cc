// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/ip_resource.h"

// <net/if.h> before <linux/if.h>: the kernel header then only adds what glibc lacks
// (IFF_LOWER_UP, IF_OPER_*).
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/log.h"
#include "net/ip/frames.h"
#include "net/ip/packet_socket.h"

namespace veeamha::net::ip {

struct IpResource::Target {
    IpAddress address;
    int prefix = 0;
    int ifindex = 0;
    LinkInfo link;
    std::string text;  // "192.0.2.10/24 on eth0"
};

namespace {

std::string link_problem(const LinkInfo& link, const std::string& name) {
    if (!(link.flags & IFF_UP)) return "interface " + name + " is administratively down";
    if (!(link.flags & IFF_LOWER_UP)) return "interface " + name + " has no carrier (cable, switch port or peer down)";
    if (link.operstate != IF_OPER_UP && link.operstate != IF_OPER_UNKNOWN) {
        return std::string("interface ") + name + " is operationally " + operstate_text(link.operstate);
    }
    return {};
}

const AddressInfo* find_address(const std::vector<AddressInfo>& list, const IpAddress& a) {
    for (const auto& info : list) {
        if (info.address == a) return &info;
    }
    return nullptr;
}

}  // namespace

IpResource::IpResource(config::IpSpec spec, IpTuning tuning) : spec_(std::move(spec)), tuning_(tuning) {}

IpResource::~IpResource() { stop_announcer(); }

int IpResource::announcements_sent() const {
    std::lock_guard lock(announcer_mutex_);
    return announcer_ ? announcer_->rounds_sent() : 0;
}

void IpResource::stop_announcer() {
    std::unique_ptr<Announcer> old;
    {
        std::lock_guard lock(announcer_mutex_);
        old = std::move(announcer_);
    }
    if (old) old->stop();
}

base::OpResult IpResource::resolve(Target& t, NetlinkSocket& nl, base::Deadline deadline) const {
    const auto& a = spec_.address;
    auto parsed = IpAddress::parse(a.family, a.address);
    if (!parsed) return base::OpResult::failed("address '" + a.address + "' is not a valid IPv4/IPv6 address");
    int max_prefix = a.family == AF_INET ? 32 : 128;
    if (a.prefix < 0 || a.prefix > max_prefix) {
        return base::OpResult::failed("prefix /" + std::to_string(a.prefix) + " is out of range for " + a.address);
    }
    t.address = *parsed;
    t.prefix = a.prefix;
    t.text = a.address + "/" + std::to_string(a.prefix) + " on " + spec_.interface;
    if (!spec_.label.empty()) {
        if (a.family != AF_INET) return base::OpResult::failed("label '" + spec_.label + "' given for an IPv6 address: labels are IPv4 only");
        if (spec_.label.size() > IFNAMSIZ - 1) return base::OpResult::failed("label '" + spec_.label + "' is longer than 15 characters");
        if (spec_.label.compare(0, spec_.interface.size(), spec_.interface) != 0) {
            return base::OpResult::failed("label '" + spec_.label + "' must begin with the interface name '" + spec_.interface + "'");
        }
    }
    t.ifindex = static_cast<int>(::if_nametoindex(spec_.interface.c_str()));
    if (t.ifindex == 0) return base::OpResult::failed("interface " + spec_.interface + " not found: " + std::strerror(errno));
    NetlinkStatus s = nl.get_link(t.ifindex, t.link, deadline);
    if (s.error == ETIMEDOUT) return base::OpResult::timed_out("RTM_GETLINK " + spec_.interface + ": " + s.describe());
    if (!s.ok()) return base::OpResult::failed("RTM_GETLINK " + spec_.interface + ": " + s.describe());
    return base::OpResult::ok();
}

WatchSettings IpResource::watch_settings() const {
    WatchSettings w;
    w.window = std::chrono::duration_cast<std::chrono::milliseconds>(spec_.dad_window);
    w.probes = tuning_.duplicate_probes;
    w.life = tuning_.prepared_watch_life;
    return w;
}

std::unique_ptr<DuplicateWatch> IpResource::take_watch() {
    std::lock_guard lock(watch_mutex_);
    ++operations_;
    return std::move(watch_);
}

void IpResource::prepare(const base::OpContext& ctx) {
    if (spec_.dad_window.count() == 0) return;
    uint64_t seen = 0;
    {
        std::lock_guard lock(watch_mutex_);
        if (watch_ && watch_->extend()) return;
        seen = operations_;
    }
    NetlinkSocket nl;
    Target t;
    if (!resolve(t, nl, ctx.deadline).is_ok() || !link_problem(t.link, spec_.interface).empty() || !t.link.mac) return;
    std::vector<AddressInfo> present;
    if (!nl.list_addresses(t.address.family, t.ifindex, present, ctx.deadline).ok() || find_address(present, t.address))
        return;  // the start will say what is wrong, or has nothing to check
    auto watch = std::make_unique<DuplicateWatch>(t.ifindex, *t.link.mac, t.address, watch_settings());
    std::lock_guard lock(watch_mutex_);
    if (operations_ != seen) return;  // a start or stop came meanwhile: this watch is too late
    watch_ = std::move(watch);
}

base::OpResult IpResource::check_duplicate(const Target& t, std::unique_ptr<DuplicateWatch> prepared,
                                           base::Clock::time_point from, base::Deadline deadline) {
    std::optional<DuplicateWatch::Verdict> v;
    if (prepared && prepared->watches(t.ifindex, *t.link.mac, t.address)) {
        v = prepared->verdict(from, deadline);
        if (v->kind == DuplicateWatch::Verdict::Inconclusive) {
            base::log::info("duplicate check of " + t.text + " begun ahead of the start: " + v->text + "; probing again");
            v.reset();
        }
    }
    prepared.reset();
    if (!v) {
        WatchSettings settings = watch_settings();
        settings.life = std::max(settings.life, base::remaining(deadline) + settings.window);
        v = DuplicateWatch(t.ifindex, *t.link.mac, t.address, settings).verdict(from, deadline);
    }
    switch (v->kind) {
        case DuplicateWatch::Verdict::Clear: return base::OpResult::ok();
        case DuplicateWatch::Verdict::Duplicate: {
            std::string text = "refusing to add " + t.text + ": the address is in use on the network (" + v->text +
                               "): another node still holds it (split brain?) or an address conflict";
            base::log::error(text);
            return base::OpResult::failed(text);
        }
        case DuplicateWatch::Verdict::Unfinished:
            return base::OpResult::timed_out("deadline passed during the duplicate address check of " + t.text);
        case DuplicateWatch::Verdict::Error:
        case DuplicateWatch::Verdict::Inconclusive: break;
    }
    return base::OpResult::failed("cannot check " + t.address.text() + " for duplicates on " + spec_.interface + ": " +
                                  v->text);
}

base::OpResult IpResource::announce(const Target& t, const std::string& done_text) {
    stop_announcer();
    if (!t.link.mac) return base::OpResult::ok(done_text + "; the interface has no MAC address, nothing announced");
    PacketSocket sock;
    std::string err = sock.open(t.ifindex, 0);
    if (!err.empty()) {
        base::log::warning("cannot announce " + t.text + ": " + err);
        return base::OpResult::ok(done_text + "; announcement failed: " + err);
    }
    std::vector<Frame> frames;
    std::string kind;
    if (t.address.family == AF_INET) {
        frames.push_back(arp_announce(*t.link.mac, t.address));
        if (tuning_.announce_arp_reply_too) frames.push_back(arp_reply_announce(*t.link.mac, t.address));
        kind = "gratuitous ARP";
    } else {
        frames.push_back(ndp_unsolicited_advertisement(*t.link.mac, t.address));
        kind = "unsolicited neighbour advertisement";
    }
    AnnounceSchedule schedule;
    schedule.count = std::max(1, spec_.garp_count);
    schedule.interval = spec_.garp_interval;
    schedule.repeat_after = spec_.garp_repeat_after;
    auto announcer = std::make_unique<Announcer>(std::move(sock), std::move(frames), schedule, t.text);
    int send_err = announcer->start();
    {
        std::lock_guard lock(announcer_mutex_);
        announcer_ = std::move(announcer);
    }
    std::string text = done_text + "; " + kind + " sent";
    if (send_err) {
        base::log::warning(kind + " for " + t.text + ": " + std::strerror(send_err));
        text += " (first frame failed: " + std::string(std::strerror(send_err)) + ")";
    }
    return base::OpResult::ok(text);
}

base::OpResult IpResource::start(const base::OpContext& ctx) {
    const auto from = base::Clock::now();
    std::unique_ptr<DuplicateWatch> prepared = take_watch();
    NetlinkSocket nl;
    Target t;
    if (base::OpResult r = resolve(t, nl, ctx.deadline); !r.is_ok()) return r;
    if (std::string p = link_problem(t.link, spec_.interface); !p.empty()) return base::OpResult::failed(p);

    std::vector<AddressInfo> present;
    NetlinkStatus s = nl.list_addresses(t.address.family, t.ifindex, present, ctx.deadline);
    if (!s.ok()) return base::OpResult::failed("RTM_GETADDR " + spec_.interface + ": " + s.describe());
    if (const AddressInfo* have = find_address(present, t.address)) {
        if (have->prefix != t.prefix) {
            return base::OpResult::failed(t.address.text() + " is already on " + spec_.interface + " with prefix /" +
                                    std::to_string(have->prefix) + ", configured /" + std::to_string(t.prefix));
        }
        if (have->flags & IFA_F_DADFAILED) {
            return base::OpResult::failed(t.address.text() + " on " + spec_.interface + " failed the kernel's duplicate address detection");
        }
        if (!spec_.label.empty() && have->label != spec_.label) {
            return base::OpResult::failed(t.address.text() + " is already on " + spec_.interface + " with label '" +
                                    have->label + "', configured '" + spec_.label + "'");
        }
        // Idempotent, but a client may still have the old MAC: announce again.
        return announce(t, t.text + " already present");
    }

    if (t.link.mac && spec_.dad_window.count() > 0) {
        if (base::OpResult r = check_duplicate(t, std::move(prepared), from, ctx.deadline); !r.is_ok()) return r;
    }
    if (base::expired(ctx.deadline)) return base::OpResult::timed_out("deadline passed before adding " + t.text);

    AddressRequest req;
    req.ifindex = t.ifindex;
    req.address = t.address;
    req.prefix = t.prefix;
    req.label = spec_.label;
    req.broadcast = ipv4_broadcast(t.address, t.prefix);
    // We did our own duplicate check; the kernel's DAD would keep the address unusable
    // ("tentative") for about a second.
    if (t.address.family == AF_INET6) req.flags = IFA_F_NODAD;
    s = nl.add_address(req, ctx.deadline);
    if (s.error == EEXIST) return announce(t, t.text + " already present");
    if (s.error == ETIMEDOUT) return base::OpResult::timed_out("RTM_NEWADDR " + t.text + ": " + s.describe());
    if (!s.ok()) return base::OpResult::failed("RTM_NEWADDR " + t.text + ": " + s.describe());
    base::log::info("added " + t.text);
    return announce(t, "added " + t.text);
}

base::OpResult IpResource::stop(const base::OpContext& ctx) {
    take_watch();  // a prepared watch has nothing more to watch for
    stop_announcer();
    auto parsed = IpAddress::parse(spec_.address.family, spec_.address.address);
    if (!parsed) return base::OpResult::failed("address '" + spec_.address.address + "' is not a valid IPv4/IPv6 address");
    int ifindex = static_cast<int>(::if_nametoindex(spec_.interface.c_str()));
    if (ifindex == 0) return base::OpResult::ok("interface " + spec_.interface + " not present, so the address is not either");
    NetlinkSocket nl;
    std::vector<AddressInfo> present;
    NetlinkStatus s = nl.list_addresses(parsed->family, ifindex, present, ctx.deadline);
    if (!s.ok()) return base::OpResult::failed("RTM_GETADDR " + spec_.interface + ": " + s.describe());
    const AddressInfo* have = find_address(present, *parsed);
    if (!have) return base::OpResult::ok(parsed->text() + " not on " + spec_.interface);
    AddressRequest req;
    req.ifindex = ifindex;
    req.address = *parsed;
    req.prefix = have->prefix;
    s = nl.delete_address(req, ctx.deadline);
    std::string what = parsed->text() + "/" + std::to_string(have->prefix) + " from " + spec_.interface;
    if (s.ok() || s.error == EADDRNOTAVAIL || s.error == ENODEV) {
        base::log::info("removed " + what);
        return base::OpResult::ok("removed " + what);
    }
    if (s.error == ETIMEDOUT) return base::OpResult::timed_out("RTM_DELADDR " + what + ": " + s.describe());
    return base::OpResult::failed("RTM_DELADDR " + what + ": " + s.describe());
}

base::OpResult IpResource::monitor(const base::OpContext& ctx) {
    NetlinkSocket nl;
    Target t;
    if (base::OpResult r = resolve(t, nl, ctx.deadline); !r.is_ok()) return r;
    std::vector<AddressInfo> present;
    NetlinkStatus s = nl.list_addresses(t.address.family, t.ifindex, present, ctx.deadline);
    if (s.error == ETIMEDOUT) return base::OpResult::timed_out("RTM_GETADDR " + spec_.interface + ": " + s.describe());
    if (!s.ok()) return base::OpResult::failed("RTM_GETADDR " + spec_.interface + ": " + s.describe());
    std::string problem = link_problem(t.link, spec_.interface);
    const AddressInfo* have = find_address(present, t.address);
    if (!have) {
        return base::OpResult::not_running(t.address.text() + " not on " + spec_.interface +
                                     (problem.empty() ? std::string() : " (" + problem + ")"));
    }
    if (!problem.empty()) return base::OpResult::failed(problem + "; " + t.text + " is unreachable");
    if (have->prefix != t.prefix) {
        return base::OpResult::failed(t.address.text() + " on " + spec_.interface + " has prefix /" +
                                std::to_string(have->prefix) + ", configured /" + std::to_string(t.prefix));
    }
    if (have->flags & IFA_F_DADFAILED) {
        return base::OpResult::failed(t.text + " failed the kernel's duplicate address detection: another host uses it");
    }
    return base::OpResult::ok();
}

}  // namespace veeamha::net::ip
