// SPDX-License-Identifier: GPL-2.0-or-later
// Lab tests (root): two netnode processes in two network namespaces joined by two links
// (veth pairs into one bridge per link in a switch namespace), and an attacker namespace.
// Random loss is made with iptables' statistic match inside the namespaces: netem (tc qdisc
// netem) is not available on these machines.
#include <catch2/catch.hpp>

#include "lab_fixture.h"

using namespace veeamha::net::lab;

namespace {

constexpr int kInterval = 100, kTimeout = 500;
const std::vector<std::string> kTimings = {"--interval", std::to_string(kInterval), "--timeout",
                                           std::to_string(kTimeout)};

bool has_since(Child& c, size_t from, const std::function<bool(const Event&)>& pred) {
    for (size_t i = from; i < c.events.size(); ++i)
        if (pred(c.events[i])) return true;
    return false;
}

auto link_is(int link, bool up) {
    return [=](const Event& e) {
        return e.is("link") && e.num("link") == link && e.get("up") == (up ? "1" : "0");
    };
}
auto peer_is(bool up) {
    return [=](const Event& e) { return e.is("peer") && e.get("up") == (up ? "1" : "0"); };
}

void wait_all_links_up(Child& c) {
    REQUIRE(wait_all({&c}, [&] {
        Event s = stats_of(c);
        return s.get("link0.up") == "1" && s.get("link1.up") == "1";
    }, 10s));
}

std::vector<std::string> messages(Child& c) {
    std::vector<std::string> out;
    for (auto& e : c.events)
        if (e.is("msg")) out.push_back(e.get("text"));
    return out;
}

}  // namespace

TEST_CASE("one cut link keeps the peer - both cut is detected within timeout plus one interval - restore brings it back") {
    NetLab lab;
    auto a = lab.start_node(0, kTimings);
    auto b = lab.start_node(1, kTimings);
    wait_all_links_up(*a);
    wait_all_links_up(*b);

    size_t fa = a->events.size(), fb = b->events.size();
    lab.cut('a', 0);
    REQUIRE(wait_event(*a, fa, link_is(0, false), 5s));
    REQUIRE(wait_event(*b, fb, link_is(0, false), 5s));
    // Two timeouts more on one link only: the peer is never reported lost.
    wait_all({a.get(), b.get()}, [] { return false; }, std::chrono::milliseconds(2 * kTimeout));
    CHECK_FALSE(has_since(*a, fa, peer_is(false)));
    CHECK_FALSE(has_since(*b, fb, peer_is(false)));
    CHECK(stats_of(*b).get("link1.up") == "1");

    long long t_cut = mono_ms();
    lab.cut('a', 1);
    auto ib = wait_event(*b, fb, peer_is(false), 5s);
    auto ia = wait_event(*a, fa, peer_is(false), 5s);
    REQUIRE(ib);
    REQUIRE(ia);
    long long detect_b = b->events[*ib].num("mono_ms") - t_cut;
    long long detect_a = a->events[*ia].num("mono_ms") - t_cut;
    INFO("silence on all links detected after " << detect_a << " ms (a), " << detect_b << " ms (b)");
    CHECK(detect_b <= kTimeout + kInterval);
    CHECK(detect_a <= kTimeout + kInterval);
    CHECK(detect_b >= kTimeout / 2);  // not absurdly early (the last heartbeat came <= ~1 interval before the cut)

    fa = a->events.size();
    fb = b->events.size();
    lab.restore('a', 0);
    lab.restore('a', 1);
    REQUIRE(wait_event(*a, fa, peer_is(true), 5s));
    REQUIRE(wait_event(*b, fb, peer_is(true), 5s));
    wait_all_links_up(*a);
    wait_all_links_up(*b);
}

TEST_CASE("20 percent random loss on both links (iptables statistic, no netem here) never loses the peer") {
    NetLab lab;
    auto a = lab.start_node(0, kTimings);
    auto b = lab.start_node(1, kTimings);
    wait_all_links_up(*a);
    wait_all_links_up(*b);
    size_t fa = a->events.size(), fb = b->events.size();
    lab.loss('a', 0.2);
    lab.loss('b', 0.2);
    wait_all({a.get(), b.get()}, [] { return false; }, 8s);
    CHECK_FALSE(has_since(*a, fa, peer_is(false)));
    CHECK_FALSE(has_since(*b, fb, peer_is(false)));
    Event s = stats_of(*b);
    INFO(s.raw);
    for (const char* k : {"link0.loss", "link1.loss"}) {
        CHECK(s.real(k) > 0.05);
        CHECK(s.real(k) < 0.45);
    }
    lab.clear_loss('a');
    lab.clear_loss('b');
}

TEST_CASE("an attacker flooding forged, replayed and garbage datagrams for 10 s gets nothing accepted and the peer is never missed") {
    NetLab lab;
    auto a = lab.start_node(0, kTimings);
    auto b = lab.start_node(1, kTimings);
    wait_all_links_up(*a);
    wait_all_links_up(*b);
    Event before = stats_of(*a);
    Event b_before = stats_of(*b);
    size_t fa = a->events.size(), fb = b->events.size();

    auto x = lab.start_attacker(0, 10);
    REQUIRE(wait_all({a.get(), b.get(), x.get()}, [&] {
        return has_since(*x, 0, [](const Event& e) { return e.is("attack"); });
    }, 40s));
    Event after = stats_of(*a);
    Event b_after = stats_of(*b);  // taken after a's: everything a received, b had sent
    Event report = *std::find_if(x->events.begin(), x->events.end(), [](const Event& e) { return e.is("attack"); });
    auto cap = std::find_if(x->events.begin(), x->events.end(), [](const Event& e) { return e.is("captured"); });
    INFO("attacker: " << report.raw);
    INFO("victim before: " << before.raw);
    INFO("victim after: " << after.raw);
    REQUIRE(cap != x->events.end());
    CHECK(cap->num("count") > 0);  // it really had real heartbeats to replay

    // The real peer was never missed.
    CHECK_FALSE(has_since(*a, fa, link_is(0, false)));
    CHECK_FALSE(has_since(*a, fa, link_is(1, false)));
    CHECK_FALSE(has_since(*a, fa, peer_is(false)));
    CHECK_FALSE(has_since(*b, fb, peer_is(false)));
    // Nothing forged or replayed was accepted: a delivered no more heartbeats than b sent, and
    // still (almost) all of b's.
    for (const char* l : {"link0", "link1"}) {
        std::string rec = std::string(l) + ".received", sent = std::string(l) + ".sent";
        CHECK(after.num(rec) <= b_after.num(sent));
        long long got = after.num(rec) - before.num(rec);
        long long sent_during = b_after.num(sent) - b_before.num(sent);
        CHECK(got >= sent_during * 8 / 10);
    }
    // ...and the attack was seen and counted, reason by reason.
    long long attacked = report.num("total");
    long long dropped = after.num("drop.total") - before.num("drop.total");
    CHECK(attacked > 10000);
    CHECK(dropped > attacked / 2);  // the rest died in full socket buffers, never delivered
    for (const char* r : {"drop.replayed", "drop.bad_tag", "drop.bad_magic", "drop.foreign_source"})
        CHECK(after.num(r) > before.num(r));
    CHECK(after.num("drop.replayed") + after.num("drop.too_old") > 0);
}

TEST_CASE("peer channel: both dial at once, one connection kept, messages exactly once, reconnect over the other link after a cut") {
    NetLab lab;
    std::vector<std::string> opts = kTimings;
    opts.push_back("--no-dial");
    auto a = lab.start_node(0, opts);
    auto b = lab.start_node(1, opts);
    wait_all_links_up(*a);
    wait_all_links_up(*b);

    a->command("dial");
    b->command("dial");
    REQUIRE(wait_event(*a, 0, [](const Event& e) { return e.is("channel") && e.get("up") == "1"; }, 10s));
    REQUIRE(wait_event(*b, 0, [](const Event& e) { return e.is("channel") && e.get("up") == "1"; }, 10s));
    wait_all({a.get(), b.get()}, [] { return false; }, 500ms);  // let the loser close
    Event sa = stats_of(*a), sb = stats_of(*b);
    INFO(sa.raw << "\n" << sb.raw);
    CHECK(sa.get("channel.connected") == "1");
    CHECK(sb.get("channel.connected") == "1");
    CHECK(sa.get("channel.local") == sb.get("channel.remote"));
    CHECK(sa.get("channel.remote") == sb.get("channel.local"));
    CHECK(sa.get("channel.by_us") == "1");  // node 0 is the lower index: its dial wins
    CHECK(sb.get("channel.by_us") == "0");
    CHECK(sa.num("channel.dials") == 1);
    CHECK(sb.num("channel.dials") == 1);
    CHECK(sa.num("channel.tiebreaks") + sb.num("channel.tiebreaks") >= 1);
    CHECK(sa.num("channel.connects") == 1);
    CHECK(sb.num("channel.connects") == 1);
    CHECK(sa.num("channel.link") == 0);

    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
        expected.push_back("m" + std::to_string(i));
        a->command("send " + expected.back());
    }
    REQUIRE(wait_all({a.get(), b.get()}, [&] { return messages(*b).size() >= 20; }, 10s));

    // Cut link 0 (the channel's): the heartbeats report it silent, the channel moves to link 1;
    // messages sent meanwhile are queued and delivered once.
    size_t fa = a->events.size(), fb = b->events.size();
    lab.cut('a', 0);
    for (int i = 20; i < 30; ++i) {
        expected.push_back("m" + std::to_string(i));
        a->command("send " + expected.back());
    }
    auto up_on_1 = [](const Event& e) { return e.is("channel") && e.get("up") == "1" && e.num("link") == 1; };
    REQUIRE(wait_event(*a, fa, up_on_1, 15s));
    REQUIRE(wait_event(*b, fb, up_on_1, 15s));
    REQUIRE(wait_all({a.get(), b.get()}, [&] { return messages(*b).size() >= 30; }, 10s));
    wait_all({a.get(), b.get()}, [] { return false; }, 500ms);
    CHECK(messages(*b) == expected);
    for (auto& e : a->events)
        if (e.is("sent")) CHECK(e.get("ok") == "1");
    lab.restore('a', 0);
    // And back the other way, over the same session.
    b->command("send back");
    REQUIRE(wait_all({a.get(), b.get()}, [&] { return messages(*a).size() == 1; }, 10s));
    CHECK(messages(*a) == std::vector<std::string>{"back"});
}
