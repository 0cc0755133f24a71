// SPDX-License-Identifier: GPL-2.0-or-later
// The peer check (README "The two hosts are one"): both nodes read their facts off the loop
// (host_facts.h), the peer sends its own over the authenticated channel, and this node compares
// them (peer_compare.h). Drift is a warning, a metric and an alert event, never an engine input.
#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include "base/log.h"
#include "daemon/runtime/host_facts.h"
#include "daemon/runtime/peer_compare.h"
#include "daemon/runtime/runtime.h"
#include "daemon/runtime/status_json.h"
#include "net/peer_channel.h"

namespace veeamha::runtime {

using namespace std::chrono_literals;

namespace {

constexpr auto kPeerCheckEvery = std::chrono::minutes(5);
// Both nodes gather at once; each command has 5 s (host_facts.h), and there are a few.
constexpr auto kPeerCheckTimeout = std::chrono::seconds(30);

int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void Runtime::schedule_peer_check(std::chrono::milliseconds delay) {
    peer_check_timer_.expires_after(delay);
    peer_check_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !exiting_) start_peer_check(std::nullopt);
    });
}

void Runtime::start_peer_check(std::optional<AdminServer::Reply> reply) {
    if (peer_check_round_) {  // one round at a time: a request joins the one in flight
        if (reply) peer_check_round_->waiting.push_back(std::move(*reply));
        return;
    }
    PeerCheckRound round;
    round.id = next_request_id_++;
    if (reply) round.waiting.push_back(std::move(*reply));
    peer_check_round_ = std::move(round);
    if (!channel_ || !channel_->connected()) {
        finish_peer_check(peer_name_ + " is not reachable over the peer channel");
        return;
    }
    const uint64_t id = peer_check_round_->id;
    FactsSpec spec = facts_spec(loaded_config_, local_name_, engine_ && engine_->holding(), options_.config_path);
    bool started = blocking_.run<wire::HostFacts>([spec] { return gather_host_facts(spec); },
                                                  [this, id](wire::HostFacts facts) {
                                                      if (!peer_check_round_ || peer_check_round_->id != id) return;
                                                      peer_check_round_->local = std::move(facts);
                                                      finish_peer_check(std::nullopt);
                                                  });
    if (!started) {
        finish_peer_check("too many operations in flight on " + local_name_ + "; try again");
        return;
    }
    wire::PeerMessage m;
    m.set_request_id(id);
    peer_check_round_->sent_us = wall_us();
    m.mutable_facts_request()->set_sent_unix_us(peer_check_round_->sent_us);
    if (channel_->send(m)) {
        finish_peer_check("the peer channel to " + peer_name_ + " is congested; try again");
        return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, kPeerCheckTimeout);
    timer->async_wait([this, id](const boost::system::error_code& ec) {
        if (ec || !peer_check_round_ || peer_check_round_->id != id) return;
        finish_peer_check(peer_name_ + " did not answer within 30s (an older veeam-had?)");
    });
    peer_check_round_->timeout = timer;
}

void Runtime::on_facts_request(const wire::PeerMessage& m) {
    const int64_t received = wall_us();
    const uint64_t id = m.request_id();
    const int64_t sent = m.facts_request().sent_unix_us();
    FactsSpec spec = facts_spec(loaded_config_, local_name_, engine_ && engine_->holding(), options_.config_path);
    // Too busy: no answer, and the asking node says so after its timeout.
    blocking_.run<wire::HostFacts>([spec] { return gather_host_facts(spec); },
                                   [this, id, sent, received](wire::HostFacts facts) {
                                       wire::PeerMessage answer;
                                       answer.set_request_id(id);
                                       auto* r = answer.mutable_facts_reply();
                                       *r->mutable_facts() = std::move(facts);
                                       r->set_request_sent_unix_us(sent);
                                       r->set_received_unix_us(received);
                                       r->set_replied_unix_us(wall_us());
                                       if (channel_) channel_->send(answer);
                                   });
}

void Runtime::on_facts_reply(const wire::PeerMessage& m) {
    if (!peer_check_round_ || peer_check_round_->id != m.request_id() || peer_check_round_->peer) return;
    peer_check_round_->answered_us = wall_us();
    peer_check_round_->peer = m.facts_reply();
    finish_peer_check(std::nullopt);
}

void Runtime::finish_peer_check(std::optional<std::string> error) {
    PeerCheckRound& round = *peer_check_round_;
    if (!error && (!round.local || !round.peer)) return;  // the other half is still coming
    wire::PeerCheck check;
    check.set_peer(peer_name_);
    *check.mutable_at() = timestamp_of(now().wall);
    if (error) {
        check.set_error(*error);
    } else {
        // NTP's estimate: the delays there and back are taken as equal, the peer's own
        // gathering time (between its two stamps) drops out.
        const wire::FactsReply& r = *round.peer;
        std::optional<double> offset;
        if (r.request_sent_unix_us() == round.sent_us && r.received_unix_us() && r.replied_unix_us())
            offset = static_cast<double>((r.received_unix_us() - round.sent_us) + (r.replied_unix_us() - round.answered_us)) /
                     2000.0;
        if (offset) check.set_clock_offset_ms(*offset);
        for (auto& item : compare_hosts(*round.local, r.facts(), offset)) *check.add_items() = std::move(item);
    }
    if (round.timeout) round.timeout->cancel();
    std::vector<AdminServer::Reply> waiting = std::move(round.waiting);
    peer_check_round_.reset();
    record_peer_check(check);
    wire::AdminResponse resp;
    resp.set_ok(true);
    *resp.mutable_peer_check() = check;
    for (auto& reply : waiting) reply(resp);
    if (!exiting_) schedule_peer_check(kPeerCheckEvery);
}

void Runtime::record_peer_check(const wire::PeerCheck& check) {
    last_peer_check_ = check;
    if (check.has_error()) {
        base::log::info("peer check: " + check.error());
        return;
    }
    // Each item once when it starts to differ, and once when it is the same again.
    std::string text;
    std::set<std::string> now_different;
    for (const auto& item : check.items()) {
        if (item.state() != "different") continue;
        now_different.insert(item.item());
        if (!drift_reported_.count(item.item())) text += (text.empty() ? "" : " | ") + format_item(item);
    }
    for (const auto& item : drift_reported_)
        if (!now_different.count(item))
            base::log::notice("peer check: " + item + " is the same on " + local_name_ + " and " + peer_name_ + " again");
    drift_reported_ = now_different;
    if (!text.empty())
        log_event(engine::Event{engine::Level::Warning, "peer-drift",
                                local_name_ + " and " + peer_name_ + " differ: " + text});
}

}  // namespace veeamha::runtime
