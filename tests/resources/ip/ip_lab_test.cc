// SPDX-License-Identifier: GPL-2.0-or-later
// IpResource on real interfaces: three network namespaces on a bridge; the floating address
// moves from A to B and client C must follow it thanks to the announcements.
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <catch2/catch.hpp>

#include "net/ip/frames.h"
#include "net/ip/ip_resource.h"
#include "net/ip/packet_socket.h"
#include "tests/resources/ip/ip_lab_util.h"
#include "tests/resources/ip/netns_lab.h"

using namespace veeamha;
using namespace veeamha::net::ip;
using namespace std::chrono_literals;
using lab::in_netns;
using test::ArpCounter;
using test::gratuitous_arp;

namespace {

using test::kVip4;
using test::kVip6;
using test::vip_spec;

base::OpContext ctx(std::chrono::milliseconds budget = 5s) { return test::op_context(budget); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

struct NeighCtx {
    IpAddress want;
    std::optional<Mac> mac;
};

// The link-layer address the current namespace's neighbour table has for `ip` (any state
// with an address: reachable, stale, delay, probe, permanent).
std::optional<Mac> neighbour_mac(const IpAddress& ip) {
    NetlinkSocket nl;
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    nlh->nlmsg_flags = NLM_F_DUMP;
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = static_cast<uint8_t>(ip.family);
    NeighCtx st{ip, std::nullopt};
    NetlinkStatus s = nl.transact(
        nlh,
        [&](const nlmsghdr* m) {
            if (m->nlmsg_type != RTM_NEWNEIGH) return;
            const auto* n = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(m));
            if (n->ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP)) return;
            struct Found {
                std::optional<IpAddress> dst;
                std::optional<Mac> lladdr;
                int family;
            } f{std::nullopt, std::nullopt, n->ndm_family};
            mnl_attr_parse(m, sizeof(ndmsg), [](const nlattr* a, void* data) -> int {
                auto* found = static_cast<Found*>(data);
                size_t len = mnl_attr_get_payload_len(a);
                if (mnl_attr_get_type(a) == NDA_DST && (len == 4 || len == 16)) {
                    IpAddress d;
                    d.family = found->family;
                    std::memcpy(d.bytes.data(), mnl_attr_get_payload(a), len);
                    found->dst = d;
                }
                if (mnl_attr_get_type(a) == NDA_LLADDR && len == 6) {
                    Mac mac;
                    std::memcpy(mac.data(), mnl_attr_get_payload(a), 6);
                    found->lladdr = mac;
                }
                return MNL_CB_OK;
            }, &f);
            if (f.dst && *f.dst == st.want && f.lladdr) st.mac = f.lladdr;
        },
        base::Clock::now() + 2s);
    REQUIRE(s.ok());
    return st.mac;
}

std::string neighbour_text(const std::string& ns, const IpAddress& ip) {
    auto mac = in_netns(ns, [&] { return neighbour_mac(ip); });
    return mac ? mac_text(*mac) : "(none)";
}

void ping_from(const std::string& ns, const std::string& address) {
    lab::run_ok({"ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", address});
}

std::vector<AddressInfo> addresses_in(const std::string& ns, int family) {
    return in_netns(ns, [family] {
        NetlinkSocket nl;
        std::vector<AddressInfo> out;
        REQUIRE(nl.list_addresses(family, static_cast<int>(::if_nametoindex("eth0")), out, base::Clock::now() + 2s).ok());
        return out;
    });
}

const AddressInfo* find(const std::vector<AddressInfo>& list, const std::string& text) {
    for (const auto& a : list) {
        if (a.address.text() == text) return &a;
    }
    return nullptr;
}

// Moves the VIP from A to B and returns how long after B's start() returned C's neighbour
// entry showed B's MAC (or nullopt if not within 2 s).
void move_and_check(lab::Lab& net, int family) {
    const auto spec = vip_spec(family);
    const IpAddress vip = *IpAddress::parse(family, spec.address.address);
    IpResource on_a(spec), on_b(spec);

    base::OpResult a_start = in_netns(net.A().ns, [&] { return on_a.start(ctx()); });
    INFO("A start: " << a_start.reason);
    REQUIRE(a_start.outcome == base::Outcome::Ok);
    ping_from(net.C().ns, spec.address.address);
    REQUIRE(neighbour_text(net.C().ns, vip) == mac_text(net.A().mac));

    base::OpResult a_stop = in_netns(net.A().ns, [&] { return on_a.stop(ctx()); });
    REQUIRE(a_stop.outcome == base::Outcome::Ok);
    auto t0 = base::Clock::now();
    base::OpResult b_start = in_netns(net.B().ns, [&] { return on_b.start(ctx()); });
    auto t1 = base::Clock::now();
    INFO("B start: " << b_start.reason);
    REQUIRE(b_start.outcome == base::Outcome::Ok);

    // Poll C's neighbour table (bounded) until it has B's MAC.
    std::optional<base::Clock::time_point> seen;
    in_netns(net.C().ns, [&] {
        for (auto until = t1 + 2s; base::Clock::now() < until;) {
            auto mac = neighbour_mac(vip);
            if (mac && *mac == net.B().mac) {
                seen = base::Clock::now();
                break;
            }
            std::this_thread::sleep_for(1ms);
        }
        return 0;
    });
    INFO("C's entry now: " << neighbour_text(net.C().ns, vip) << ", B is " << mac_text(net.B().mac));
    REQUIRE(seen.has_value());
    auto after_start = std::chrono::duration_cast<std::chrono::milliseconds>(*seen - t1);
    auto from_call = std::chrono::duration_cast<std::chrono::milliseconds>(*seen - t0);
    WARN("C switched to B's MAC " << after_start.count() << " ms after B's start() returned ("
                                  << from_call.count() << " ms after it was called, including the "
                                  << "duplicate-address probe window)");
    CHECK(after_start <= 100ms);
    // And C really reaches the address at B now.
    ping_from(net.C().ns, spec.address.address);
    CHECK(in_netns(net.B().ns, [&] { return on_b.monitor(ctx()).outcome; }) == base::Outcome::Ok);
    CHECK(in_netns(net.A().ns, [&] { return on_a.monitor(ctx()).outcome; }) == base::Outcome::NotRunning);
    CHECK(in_netns(net.B().ns, [&] { return on_b.stop(ctx()).outcome; }) == base::Outcome::Ok);
}

void duplicate_refused(lab::Lab& net, int family) {
    const auto spec = vip_spec(family);
    IpResource on_a(spec), on_b(spec);
    REQUIRE(in_netns(net.A().ns, [&] { return on_a.start(ctx()).outcome; }) == base::Outcome::Ok);
    base::OpResult b = in_netns(net.B().ns, [&] { return on_b.start(ctx()); });
    INFO(b.reason);
    CHECK(b.outcome == base::Outcome::Failed);
    CHECK(contains(b.reason, mac_text(net.A().mac)));
    CHECK(contains(b.reason, "refusing"));
    CHECK(find(addresses_in(net.B().ns, family), spec.address.address) == nullptr);
    CHECK(in_netns(net.B().ns, [&] { return on_b.monitor(ctx()).outcome; }) == base::Outcome::NotRunning);
    // Once A let go, B may take it.
    REQUIRE(in_netns(net.A().ns, [&] { return on_a.stop(ctx()).outcome; }) == base::Outcome::Ok);
    base::OpResult b2 = in_netns(net.B().ns, [&] { return on_b.start(ctx()); });
    INFO(b2.reason);
    CHECK(b2.outcome == base::Outcome::Ok);
    in_netns(net.B().ns, [&] { return on_b.stop(ctx()); });
}

}  // namespace

TEST_CASE("ip: IPv4 move A -> B, gratuitous ARP updates C's cache", "[lab]") {
    lab::Lab net;
    move_and_check(net, AF_INET);
}

TEST_CASE("ip: IPv6 move A -> B, unsolicited NA updates C's cache", "[lab]") {
    lab::Lab net;
    move_and_check(net, AF_INET6);
}

TEST_CASE("ip: IPv4 start refused while another host answers ARP for the address", "[lab]") {
    lab::Lab net;
    duplicate_refused(net, AF_INET);
}

TEST_CASE("ip: IPv6 start refused while another host answers DAD for the address", "[lab]") {
    lab::Lab net;
    duplicate_refused(net, AF_INET6);
}

TEST_CASE("ip: label, prefix and broadcast as configured, start and stop idempotent", "[lab]") {
    lab::Lab net;
    auto spec = vip_spec(AF_INET);
    spec.label = "eth0:vip";
    IpResource r(spec);
    REQUIRE(in_netns(net.A().ns, [&] { return r.start(ctx()).outcome; }) == base::Outcome::Ok);
    auto list = addresses_in(net.A().ns, AF_INET);
    const AddressInfo* a = find(list, kVip4);
    REQUIRE(a);
    CHECK(a->prefix == 24);
    CHECK(a->label == "eth0:vip");
    REQUIRE(a->broadcast);
    CHECK(a->broadcast->text() == "198.51.100.255");

    base::OpResult again = in_netns(net.A().ns, [&] { return r.start(ctx()); });
    CHECK(again.outcome == base::Outcome::Ok);
    CHECK(contains(again.reason, "already present"));
    CHECK(contains(again.reason, "gratuitous ARP sent"));  // still announced
    CHECK(r.announcements_sent() >= 1);

    // Present with another prefix: not ours to silently accept.
    auto other = spec;
    other.address.prefix = 25;
    other.label.clear();
    base::OpResult wrong = in_netns(net.A().ns, [&] { return IpResource(other).start(ctx()); });
    CHECK(wrong.outcome == base::Outcome::Failed);
    CHECK(contains(wrong.reason, "/24"));

    CHECK(in_netns(net.A().ns, [&] { return r.stop(ctx()).outcome; }) == base::Outcome::Ok);
    CHECK(find(addresses_in(net.A().ns, AF_INET), kVip4) == nullptr);
    CHECK(in_netns(net.A().ns, [&] { return r.stop(ctx()).outcome; }) == base::Outcome::Ok);
    CHECK(in_netns(net.A().ns, [&] { return r.monitor(ctx()).outcome; }) == base::Outcome::NotRunning);

    auto v6 = vip_spec(AF_INET6);
    REQUIRE(in_netns(net.A().ns, [&] { return IpResource(v6).start(ctx()).outcome; }) == base::Outcome::Ok);
    auto list6 = addresses_in(net.A().ns, AF_INET6);
    const AddressInfo* a6 = find(list6, kVip6);
    REQUIRE(a6);
    CHECK(a6->prefix == 64);
    CHECK((a6->flags & IFA_F_NODAD) != 0);
}

TEST_CASE("ip: monitor fails when the link loses carrier or goes down", "[lab]") {
    lab::Lab net;
    IpResource r(vip_spec(AF_INET));
    REQUIRE(in_netns(net.A().ns, [&] { return r.start(ctx()).outcome; }) == base::Outcome::Ok);
    REQUIRE(in_netns(net.A().ns, [&] { return r.monitor(ctx()).outcome; }) == base::Outcome::Ok);

    // The switch port goes down: A's veth loses carrier.
    lab::run_ok({"ip", "-n", net.switch_ns(), "link", "set", "pA", "down"});
    lab::run_ok({"ip", "-n", net.C().ns, "link", "set", "eth0", "down"});  // not involved: must not matter
    base::OpResult m;
    for (auto until = base::Clock::now() + 3s; base::Clock::now() < until;) {
        m = in_netns(net.A().ns, [&] { return r.monitor(ctx()); });
        if (m.outcome != base::Outcome::Ok) break;
        std::this_thread::sleep_for(5ms);
    }
    INFO(m.reason);
    CHECK(m.outcome == base::Outcome::Failed);
    CHECK(contains(m.reason, "carrier"));
    // A start refuses a link without carrier.
    CHECK(contains(in_netns(net.A().ns, [&] { return IpResource(vip_spec(AF_INET)).start(ctx()).reason; }), "carrier"));

    lab::run_ok({"ip", "-n", net.switch_ns(), "link", "set", "pA", "up"});
    for (auto until = base::Clock::now() + 3s; base::Clock::now() < until;) {
        m = in_netns(net.A().ns, [&] { return r.monitor(ctx()); });
        if (m.outcome == base::Outcome::Ok) break;
        std::this_thread::sleep_for(5ms);
    }
    CHECK(m.outcome == base::Outcome::Ok);

    lab::run_ok({"ip", "-n", net.A().ns, "link", "set", "eth0", "down"});
    m = in_netns(net.A().ns, [&] { return r.monitor(ctx()); });
    INFO(m.reason);
    CHECK(m.outcome == base::Outcome::Failed);
    CHECK(contains(m.reason, "administratively down"));
}

TEST_CASE("ip: the announcement burst is count x interval, repeated once, stopped by stop()", "[lab]") {
    lab::Lab net;
    auto spec = vip_spec(AF_INET);
    spec.garp_count = 3;
    spec.garp_interval = 20ms;
    spec.garp_repeat_after = 150ms;
    const IpAddress vip = *IpAddress::parse(AF_INET, kVip4);
    const Mac b_mac = net.B().mac;
    IpTuning tuning;
    tuning.announce_arp_reply_too = false;  // one frame per round: count rounds on the wire
    IpResource r(spec, tuning);

    ArpCounter counter(net.C().ns, gratuitous_arp(vip, b_mac), 6, 3s);
    auto t0 = base::Clock::now();
    REQUIRE(in_netns(net.B().ns, [&] { return r.start(ctx()).outcome; }) == base::Outcome::Ok);
    auto start_took = base::Clock::now() - t0;
    CHECK(counter.join() == 6);  // 3 rounds + the 3 repeated
    CHECK(r.announcements_sent() == 6);
    // start() did not wait for the burst: only the probe window and the first round.
    CHECK(start_took < spec.dad_window + 150ms);
    REQUIRE(in_netns(net.B().ns, [&] { return r.stop(ctx()).outcome; }) == base::Outcome::Ok);

    // stop() ends a long burst at once: nothing more reaches C afterwards (observed for 10
    // intervals, where a running burst would have sent 10 frames).
    spec.garp_count = 1000;
    spec.garp_repeat_after = 0ms;
    IpResource longer(spec, tuning);
    REQUIRE(in_netns(net.B().ns, [&] { return longer.start(ctx()).outcome; }) == base::Outcome::Ok);
    auto s0 = base::Clock::now();
    REQUIRE(in_netns(net.B().ns, [&] { return longer.stop(ctx()).outcome; }) == base::Outcome::Ok);
    CHECK(base::Clock::now() - s0 < 500ms);
    ArpCounter after_stop(net.C().ns, gratuitous_arp(vip, b_mac), 0, 200ms);
    CHECK(after_stop.join() == 0);
}

TEST_CASE("ip: configuration mistakes fail start with a clear reason", "[lab]") {
    lab::Lab net;
    auto spec = vip_spec(AF_INET);
    spec.interface = "nosuch0";
    CHECK(contains(in_netns(net.A().ns, [&] { return IpResource(spec).start(ctx()).reason; }), "nosuch0 not found"));
    CHECK(in_netns(net.A().ns, [&] { return IpResource(spec).stop(ctx()).outcome; }) == base::Outcome::Ok);
    spec = vip_spec(AF_INET);
    spec.label = "eth1:x";
    CHECK(contains(in_netns(net.A().ns, [&] { return IpResource(spec).start(ctx()).reason; }), "must begin with"));
    spec = vip_spec(AF_INET6);
    spec.label = "eth0:x";
    CHECK(contains(in_netns(net.A().ns, [&] { return IpResource(spec).start(ctx()).reason; }), "IPv4 only"));
    spec = vip_spec(AF_INET);
    spec.address.address = "198.51.100.300";
    CHECK(contains(in_netns(net.A().ns, [&] { return IpResource(spec).start(ctx()).reason; }), "not a valid"));
}

TEST_CASE("ip: a destroyed packet socket is closed soon after, on a thread of its own: nothing leaks", "[lab]") {
    // Closing one waits for the kernel (an RCU grace period), so the owner does not wait for it:
    // the descriptor goes a moment later. It must go.
    lab::Lab net;
    auto open_fds = [] {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
        return n;
    };
    const size_t before = open_fds();
    in_netns(net.B().ns, [&] {
        const int ifindex = static_cast<int>(::if_nametoindex("eth0"));
        REQUIRE(ifindex > 0);
        for (int i = 0; i < 20; ++i) {
            PacketSocket watch, send_only;
            REQUIRE(watch.open(ifindex, ETH_P_ARP).empty());
            REQUIRE(send_only.open(ifindex, 0).empty());
            PacketSocket moved_over;
            REQUIRE(moved_over.open(ifindex, 0).empty());
            moved_over = std::move(send_only);  // the one it held is closed too
            REQUIRE(watch.open(ifindex, ETH_P_ARP).empty());  // and the one a reopen replaces
        }
        return 0;
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (open_fds() > before && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    CHECK(open_fds() == before);
}
