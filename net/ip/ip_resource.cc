// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/ip_resource.h"

// <net/if.h> before <linux/if.h>: the kernel header then only adds what glibc lacks
// (IFF_LOWER_UP, IF_OPER_*).
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>

#include <cerrno>
#include <cstring>

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

struct ProbeOutcome {
    std::string error;      // the probe itself could not run
    std::string duplicate;  // who answered
};

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

std::string IpResource::find_duplicate(const Target& t, base::Deadline deadline) const {
    // Returns "error: ..." when the probe could not run, the answerer's description, or empty.
    const Mac own = *t.link.mac;
    const bool v4 = t.address.family == AF_INET;
    PacketSocket sock;
    std::string err = sock.open(t.ifindex, v4 ? ETH_P_ARP : ETH_P_IPV6);
    if (!err.empty()) return "error: " + err;
    Frame probe = v4 ? arp_probe(own, t.address) : ndp_dad_solicitation(own, t.address);
    std::string found;
    auto check = [&](const uint8_t* frame, size_t len) {
        if (v4) {
            auto arp = parse_arp(frame, len);
            if (!arp || arp->eth_source == own || arp->sender_mac == own) return false;
            if (arp->sender_ip == t.address) {
                found = "MAC " + mac_text(arp->sender_mac) + (arp->op == 2 ? " answered our ARP probe" : " announces it");
                return true;
            }
            IpAddress zero;
            zero.family = AF_INET;
            if (arp->op == 1 && arp->sender_ip == zero && arp->target_ip == t.address) {
                found = "MAC " + mac_text(arp->sender_mac) + " is probing for it at the same time";
                return true;
            }
            return false;
        }
        auto nd = parse_ndp(frame, len);
        if (!nd || nd->eth_source == own || !(nd->target == t.address)) return false;
        Mac who = nd->link_layer.value_or(nd->eth_source);
        if (nd->type == 136) {
            found = "MAC " + mac_text(who) + " answered our duplicate address detection";
            return true;
        }
        IpAddress unspecified;
        unspecified.family = AF_INET6;
        if (nd->source == unspecified) {
            found = "MAC " + mac_text(who) + " is running duplicate address detection for it at the same time";
            return true;
        }
        return false;
    };
    const int probes = std::max(1, tuning_.duplicate_probes);
    const auto start = base::Clock::now();
    const base::Deadline window_end = std::min(deadline, start + tuning_.duplicate_probe_window);
    for (int i = 0; i < probes && found.empty(); ++i) {
        if (int e = sock.send(probe); e != 0) return std::string("error: sending the probe: ") + std::strerror(e);
        base::Deadline slice = std::min(window_end, start + tuning_.duplicate_probe_window * (i + 1) / probes);
        auto got = sock.receive_until(slice, check);
        if (got.matched) break;
        // Silence proves nothing if we could not listen: refuse rather than add blindly.
        if (got.error) return std::string("error: listening for an answer: ") + std::strerror(got.error);
        if (base::Clock::now() >= window_end) break;
    }
    return found;
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

    if (t.link.mac) {
        std::string dup = find_duplicate(t, ctx.deadline);
        if (dup.rfind("error: ", 0) == 0) {
            return base::OpResult::failed("cannot check " + t.address.text() + " for duplicates on " + spec_.interface +
                                    ": " + dup.substr(7));
        }
        if (!dup.empty()) {
            std::string text = "refusing to add " + t.text + ": the address is in use on the network (" + dup +
                               "): another node still holds it (split brain?) or an address conflict";
            base::log::error(text);
            return base::OpResult::failed(text);
        }
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
