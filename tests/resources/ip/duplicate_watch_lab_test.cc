// SPDX-License-Identifier: GPL-2.0-or-later
// The duplicate address check begun ahead of the start (IpResource::prepare, DuplicateWatch) on
// real interfaces: three network namespaces on a bridge. Host B prepares and starts the
// floating address; host A holds it, takes it or lets it go in between; host C counts the
// probes B puts on the wire. Each case is one way a prepared check could wrongly clear or
// wrongly refuse an address.
#include <catch2/catch.hpp>

#include <thread>

#include "net/ip/ip_resource.h"
#include "tests/resources/ip/ip_lab_util.h"
#include "tests/resources/ip/netns_lab.h"

using namespace veeamha;
using namespace veeamha::net::ip;
using namespace std::chrono_literals;
using lab::in_netns;
using test::arp_probe_for;
using test::ArpCounter;
using test::op_context;
using test::vip_spec;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

const IpAddress kVip = *IpAddress::parse(AF_INET, test::kVip4);

config::IpSpec spec_with_window(std::chrono::milliseconds window) {
    config::IpSpec s = vip_spec(AF_INET);
    s.dad_window = window;
    return s;
}

}  // namespace

TEST_CASE("ip: a prepared duplicate check is done by the start, which sends no probe of its own", "[lab]") {
    lab::Lab net;
    IpResource on_b(spec_with_window(300ms));
    {
        ArpCounter early(net.C().ns, arp_probe_for(kVip, net.B().mac), 3, 3s);
        in_netns(net.B().ns, [&] { on_b.prepare(op_context()); return 0; });
        REQUIRE(early.join() == 3);  // the prepared watch probes on the wire, ahead of the start
    }
    ArpCounter during(net.C().ns, arp_probe_for(kVip, net.B().mac), 0, 600ms);
    base::OpResult r = in_netns(net.B().ns, [&] { return on_b.start(op_context()); });
    INFO(r.reason);
    REQUIRE(r.outcome == base::Outcome::Ok);
    CHECK(during.join() == 0);  // the start used the prepared check: no second burst
    CHECK(in_netns(net.B().ns, [&] { return on_b.stop(op_context()).outcome; }) == base::Outcome::Ok);
}

TEST_CASE("ip: an answer heard before the start is not trusted: the start probes again and decides", "[lab]") {
    lab::Lab net;
    const auto spec = spec_with_window(100ms);
    IpResource on_a(spec), on_b(spec);
    REQUIRE(in_netns(net.A().ns, [&] { return on_a.start(op_context()).outcome; }) == base::Outcome::Ok);
    {
        // A still holds the address (the peer being fenced, or still releasing it): it answers
        // B's first probe, and B's watch hears it.
        const Mac a_mac = net.A().mac;
        ArpCounter answered(
            net.B().ns, [&](const ArpPacket& p) { return p.op == 2 && p.sender_mac == a_mac && p.sender_ip == kVip; },
            1, 3s);
        in_netns(net.B().ns, [&] { on_b.prepare(op_context()); return 0; });
        REQUIRE(answered.join() == 1);
    }
    REQUIRE(in_netns(net.A().ns, [&] { return on_a.stop(op_context()).outcome; }) == base::Outcome::Ok);
    ArpCounter fresh(net.C().ns, arp_probe_for(kVip, net.B().mac), 3, 3s);
    base::OpResult r = in_netns(net.B().ns, [&] { return on_b.start(op_context()); });
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Ok);  // A's early answer does not condemn the address
    CHECK(fresh.join() == 3);               // the start asked again
    in_netns(net.B().ns, [&] { return on_b.stop(op_context()); });
}

TEST_CASE("ip: an address taken while the prepared check waits refuses the start", "[lab]") {
    lab::Lab net;
    const auto spec = spec_with_window(100ms);
    IpResource on_a(spec), on_b(spec);
    {
        ArpCounter early(net.C().ns, arp_probe_for(kVip, net.B().mac), 3, 3s);
        in_netns(net.B().ns, [&] { on_b.prepare(op_context()); return 0; });
        REQUIRE(early.join() == 3);  // B's window passed in silence
    }
    // Then A takes the address (after its own probes, which B's watch hears).
    REQUIRE(in_netns(net.A().ns, [&] { return on_a.start(op_context()).outcome; }) == base::Outcome::Ok);
    base::OpResult r = in_netns(net.B().ns, [&] { return on_b.start(op_context()); });
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, "refusing"));
    CHECK(contains(r.reason, mac_text(net.A().mac)));
    in_netns(net.A().ns, [&] { return on_a.stop(op_context()); });
}

TEST_CASE("ip: a prepared check that outlived its life is not trusted", "[lab]") {
    lab::Lab net;
    const auto spec = spec_with_window(100ms);
    IpTuning short_life;
    short_life.prepared_watch_life = 300ms;
    IpResource on_b(spec, short_life);
    {
        ArpCounter early(net.C().ns, arp_probe_for(kVip, net.B().mac), 3, 3s);
        in_netns(net.B().ns, [&] { on_b.prepare(op_context()); return 0; });
        REQUIRE(early.join() == 3);
    }
    // Its life is what is being tested: wait it out (nothing on the wire shows a watch that
    // stopped listening).
    std::this_thread::sleep_for(short_life.prepared_watch_life + 100ms);
    // A takes the address quietly (no probe, no announcement): only a fresh probe finds it.
    lab::run_ok({"ip", "-n", net.A().ns, "addr", "add", std::string(test::kVip4) + "/24", "dev", "eth0"});
    base::OpResult r = in_netns(net.B().ns, [&] { return on_b.start(op_context()); });
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK(contains(r.reason, mac_text(net.A().mac)));
    lab::run_ok({"ip", "-n", net.A().ns, "addr", "del", std::string(test::kVip4) + "/24", "dev", "eth0"});
}

TEST_CASE("ip: a prepare for an address already here, or after the start, leaves nothing probing", "[lab]") {
    lab::Lab net;
    IpResource on_b(spec_with_window(100ms));
    REQUIRE(in_netns(net.B().ns, [&] { return on_b.start(op_context()).outcome; }) == base::Outcome::Ok);
    ArpCounter after(net.C().ns, arp_probe_for(kVip, net.B().mac), 0, 400ms);
    in_netns(net.B().ns, [&] { on_b.prepare(op_context()); return 0; });
    CHECK(after.join() == 0);  // B never probes for the address it holds
    CHECK(in_netns(net.B().ns, [&] { return on_b.stop(op_context()).outcome; }) == base::Outcome::Ok);
}
