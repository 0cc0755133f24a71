// SPDX-License-Identifier: GPL-2.0-or-later
// UDP heartbeats on every link (docs/design.md §4): one socket per link bound to this node's address
// on that link and heartbeat.port; every heartbeat.interval (and at once on send_now()) a sealed
// Heartbeat carrying the engine's NodeState goes to the peer's address on that link.
//
// Rounds: one node leads them, sending on its timer; the other answers each round when it
// arrives (at most 1.1 x interval apart when the rounds stop: then it leads). The leader reads
// those answers when its next round is due, not when they arrive (each carries the kernel's
// arrival time). So each node wakes about once per interval. Leading costs more (its sends
// wake the peer), so the lead changes hands every Topology::lead_rounds rounds: the leader's
// last round says so (ROUND_HANDS_OVER) and the peer, answering it, leads from then on. At start
// the node listed first leads; if both lead (a lost handover, a restart), the one listed second
// yields. A peer before protocol 1.1 leads by that order and is never handed the lead.
// Datagrams are accepted only from the peer's configured address and port on the link they
// arrive on.
//
// It measures links and delivers fresh, authentic heartbeats; it decides nothing about the
// cluster: "peer lost" (silent on all links for heartbeat.timeout) is the engine's call, made
// from the heartbeats delivered here. Link changes go to the daemon's log, metrics and the peer
// channel's choice of link, not to the engine.
//
// Threading: everything runs on the io_context's thread; call the public functions from it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "net/link_monitor.h"
#include "net/peer_codec.h"

namespace veeamha::net {

class HeartbeatService {
public:
    struct Callbacks {
        // A fresh, authentic, bound heartbeat from the peer, the link it came on and when it
        // reached this host (it may have been read later).
        std::function<void(size_t link, const wire::Heartbeat&, Clock::time_point arrived)> on_heartbeat;
        // A link went up (first heartbeat after silence) or down (silent for heartbeat.timeout).
        std::function<void(size_t link, bool up)> on_link_change;
        // The peer speaks another protocol major version: refused (reported once per change).
        std::function<void(uint32_t major, uint32_t minor)> on_incompatible_peer;
    };

    HeartbeatService(boost::asio::io_context& io, PeerCodec& codec, Callbacks callbacks);
    ~HeartbeatService();
    HeartbeatService(const HeartbeatService&) = delete;
    HeartbeatService& operator=(const HeartbeatService&) = delete;

    // Binds the sockets and starts sending. Throws std::runtime_error naming the link and the
    // address when a socket cannot be set up (startup only).
    void start();
    void stop();

    // The state every heartbeat carries from now on.
    void set_state(const wire::NodeState& state) { *out_.mutable_state() = state; }
    // Sends a heartbeat on every link now (state changed). Calls closer than 10 ms apart are
    // coalesced into one send, so a burst of changes cannot flood the links.
    void send_now();
    // Reads every heartbeat the kernel holds now (on_heartbeat for each). Call it before a
    // decision that depends on when the peer was last heard: a heartbeat may have arrived and
    // wait to be read (the first node reads on its tick; a stalled thread reads late). Does
    // nothing when called from inside a read (a callback).
    void poll();

    size_t links() const { return links_.size(); }
    std::vector<LinkStats> link_stats() const;
    bool any_link_up() const;
    const DropCounters& drops() const { return codec_.drops(); }
    // Rounds this node led (sent on its timer), and rounds it answered.
    uint64_t rounds_on_timer() const { return rounds_on_timer_; }
    uint64_t rounds_answering() const { return rounds_answering_; }
    // Whether this node leads the rounds now, and how often the lead changed hands.
    bool leading() const { return leading_; }
    uint64_t lead_changes() const { return lead_changes_; }
    // Links read at each round rather than at each arrival (while this node leads and the
    // peer sends no more than a few datagrams per round).
    size_t links_read_on_tick() const;

private:
    struct Link;
    void schedule_tick();
    void arm_tick(Clock::time_point at);
    void answer_leader();
    void lead_round();
    void take_lead(bool handed_over);
    void give_up_lead();
    void on_peer_round(wire::RoundRole role);
    void send_all();  // LEADS while leading, ANSWERS otherwise
    void send_all(wire::RoundRole role);
    void send_on(Link& link, Clock::time_point now);
    void arm_receive(Link& link);
    void read_on_tick();
    size_t drain(Link& link);
    size_t drain_batches(Link& link);
    void handle_datagram(Link& link, const uint8_t* data, size_t size, bool truncated,
                         const boost::asio::ip::udp::endpoint& from, Clock::time_point arrived);
    void arm_silence(Link& link);

    boost::asio::io_context& io_;
    PeerCodec& codec_;
    Callbacks cb_;
    std::vector<std::unique_ptr<Link>> links_;
    boost::asio::steady_timer tick_;
    boost::asio::steady_timer immediate_;
    bool immediate_pending_ = false;
    Clock::time_point last_send_{};
    Clock::time_point next_tick_{};
    Clock::time_point last_unbound_answer_{};  // the last answer to a peer that does not know us yet
    // The outgoing heartbeat: its state is set when the state changes, not copied at each send;
    // each send fills in every other field (the codec's header fields, the link's echo).
    wire::Heartbeat out_;
    std::vector<uint8_t> frame_;
    HeartbeatIn in_;
    uint32_t reported_major_ = 0;
    bool running_ = false;
    bool listed_first_ = false;  // leads at start; keeps the lead when both lead
    bool leading_ = false;       // sends on its timer; otherwise answers the peer's rounds
    bool peer_takes_turns_ = false;  // the peer's heartbeats say their role (1.1 and later)
    uint32_t rounds_led_ = 0;    // since this node took the lead
    uint64_t lead_changes_ = 0;
    bool reading_ = false;   // inside drain(): callbacks must not start another read
    uint64_t rounds_on_timer_ = 0;
    uint64_t rounds_answering_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace veeamha::net
