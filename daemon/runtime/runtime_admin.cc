// SPDX-License-Identifier: GPL-2.0-or-later
// Admin requests (local socket and forwarded by the peer), status and metrics.
#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include <google/protobuf/util/time_util.h>

#include <sstream>

#include "base/log.h"
#include "daemon/resources/factory.h"
#include "daemon/runtime/peer_compare.h"
#include "daemon/runtime/runtime.h"
#include "daemon/runtime/status_json.h"
#include "daemon/runtime/sync/service.h"
#include "daemon/runtime/wire_codec.h"
#include "net/heartbeat_service.h"
#include "net/peer_channel.h"
#include "net/peer_codec.h"

namespace veeamha::runtime {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

wire::AdminResponse error_response(const std::string& text) {
    wire::AdminResponse r;
    r.set_ok(false);
    r.set_error(text);
    return r;
}

}  // namespace

void Runtime::on_admin(const wire::AdminRequest& req, AdminServer::Reply reply, bool from_peer) {
    if (!engine_ || exiting_) {
        reply(error_response("veeam-had on " + local_name_ + " is shutting down"));
        return;
    }
    using C = wire::AdminRequest::CommandCase;
    engine::AdminCommand cmd;
    switch (req.command_case()) {
        case C::kStatus: {
            wire::AdminResponse r;
            r.set_ok(true);
            *r.mutable_status() = build_status();
            reply(r);
            return;
        }
        case C::kHistory: {
            wire::AdminResponse r;
            r.set_ok(true);
            const auto& h = engine_->persisted().history;
            size_t limit = req.history().limit() ? req.history().limit() : 20;
            size_t from = h.size() > limit ? h.size() - limit : 0;
            for (size_t i = from; i < h.size(); ++i) {
                auto* e = r.add_history();
                e->set_at_unix_ms(h[i].wall);
                e->set_kind(h[i].kind);
                e->set_text(h[i].text);
            }
            reply(r);
            return;
        }
        case C::kPeerCheck:
            start_peer_check(std::move(reply));
            return;
        case C::kMove: cmd.verb = engine::AdminVerb::Move; cmd.argument = req.move().node(); break;
        case C::kStandby: cmd.verb = engine::AdminVerb::Standby; cmd.argument = req.standby().node(); break;
        case C::kUnstandby: cmd.verb = engine::AdminVerb::Unstandby; cmd.argument = req.unstandby().node(); break;
        case C::kMaintenance:
            cmd.verb = req.maintenance().on() ? engine::AdminVerb::MaintenanceOn : engine::AdminVerb::MaintenanceOff;
            break;
        case C::kCleanup: cmd.verb = engine::AdminVerb::Cleanup; cmd.argument = req.cleanup().resource(); break;
        case C::kConfirmFenced:
            cmd.verb = engine::AdminVerb::ConfirmFenced;
            cmd.argument = req.confirm_fenced().node();
            break;
        case C::COMMAND_NOT_SET:
            reply(error_response("empty request (veeam-hactl and veeam-had versions differ?)"));
            return;
    }
    // A command forwarded by the peer names nodes as the peer's user typed them; "" (the local
    // node there) means that peer, which is not us.
    if (from_peer && cmd.argument.empty() &&
        (cmd.verb == engine::AdminVerb::Standby || cmd.verb == engine::AdminVerb::Unstandby))
        cmd.argument = peer_name_;
    cmd.request_id = next_request_id_++;
    admin_pending_[cmd.request_id] = PendingAdmin{req, std::move(reply), from_peer, nullptr};
    base::log::info(std::string("admin ") + engine::to_string(cmd.verb) +
              (cmd.argument.empty() ? "" : " " + cmd.argument) +
              (from_peer ? " (forwarded by " + peer_name_ + ")" : ""));
    feed(cmd);
}

void Runtime::on_engine_reply(const engine::Reply& rep) {
    auto it = admin_pending_.find(rep.request_id);
    if (it == admin_pending_.end()) return;
    if (rep.code == engine::ReplyCode::NotHere) {
        if (it->second.from_peer) {
            it->second.reply(error_response("neither node can do this: " + rep.text));
            admin_pending_.erase(it);
        } else {
            forward_to_peer(rep.request_id);
        }
        return;
    }
    wire::AdminResponse r;
    r.set_ok(rep.code == engine::ReplyCode::Ok);
    if (r.ok()) r.set_message(rep.text);
    else r.set_error(rep.text);
    it->second.reply(r);
    admin_pending_.erase(it);
}

void Runtime::forward_to_peer(uint64_t id) {
    auto& p = admin_pending_[id];
    if (!channel_->connected()) {
        p.reply(error_response("this must be done by " + peer_name_ +
                               ", which is not reachable over the peer channel now"));
        admin_pending_.erase(id);
        return;
    }
    wire::PeerMessage m;
    *m.mutable_admin_request() = p.request;
    m.set_request_id(id);
    if (channel_->send(m)) {
        p.reply(error_response("the peer channel to " + peer_name_ + " is congested; try again"));
        admin_pending_.erase(id);
        return;
    }
    p.timer = std::make_shared<asio::steady_timer>(io_, 5s);
    p.timer->async_wait([this, id](const boost::system::error_code& ec) {
        if (ec) return;
        auto it = admin_pending_.find(id);
        if (it == admin_pending_.end()) return;
        it->second.reply(error_response(peer_name_ + " did not answer within 5s"));
        admin_pending_.erase(it);
    });
}

void Runtime::on_peer_message(const wire::PeerMessage& m) {
    switch (m.body_case()) {
        case wire::PeerMessage::kState:
            feed(engine::PeerStateIn{-1, codec_->peer_incarnation(), from_wire(m.state())});
            break;
        case wire::PeerMessage::kAdminRequest: {
            uint64_t id = m.request_id();
            on_admin(m.admin_request(),
                     [this, id](const wire::AdminResponse& r) {
                         wire::PeerMessage answer;
                         *answer.mutable_admin_response() = r;
                         answer.set_request_id(id);
                         channel_->send(answer);
                     },
                     true);
            break;
        }
        case wire::PeerMessage::kAdminResponse: {
            if (peer_status_requests_.erase(m.request_id())) {
                on_peer_status(m.admin_response());
                break;
            }
            auto it = admin_pending_.find(m.request_id());
            if (it == admin_pending_.end() || it->second.from_peer) break;
            if (it->second.timer) it->second.timer->cancel();
            it->second.reply(m.admin_response());
            admin_pending_.erase(it);
            break;
        }
        case wire::PeerMessage::kFileSync:
            if (!told_old_sync_)
                base::log::warning("sync: " + peer_name_ + " runs an older veeam-had whose file sync this version "
                                   "does not take: nothing is synced until both run the same version");
            told_old_sync_ = true;
            break;
        case wire::PeerMessage::kSync:
            // Manifests and files only from the node that runs the group (the service checks
            // the paths against this node's own entries).
            if (sync_) sync_->on_message(m.sync(), !engine_->holding() && engine_->owner_name() == peer_name_);
            break;
        case wire::PeerMessage::kFactsRequest:
            on_facts_request(m);
            break;
        case wire::PeerMessage::kFactsReply:
            on_facts_reply(m);
            break;
        default:
            break;  // hello/keepalive are the channel's
    }
}

wire::Status Runtime::build_status() const {
    wire::Status st;
    st.set_cluster(config_.cluster.name);
    st.set_local_node(local_name_);
    if (!engine_->owner_name().empty()) st.set_owner(engine_->owner_name());
    st.set_epoch(engine_->persisted().epoch);
    st.set_maintenance(engine_->maintenance());
    auto links = heartbeats_->link_stats();
    auto now_tp = base::Clock::now();
    auto fill_links = [&](wire::NodeStatus* n, int node) {
        for (size_t l = 0; l < links.size(); ++l) {
            auto* k = n->add_links();
            k->set_address(config_.nodes[static_cast<size_t>(node)].addresses[l]);
            k->set_up(links[l].up);
            if (links[l].up && links[l].rtt_ms) k->set_rtt_ms(*links[l].rtt_ms);
            k->set_loss(links[l].loss);
            if (links[l].last_heard)
                k->set_last_heard_ms(
                    std::chrono::duration_cast<std::chrono::milliseconds>(now_tp - *links[l].last_heard).count());
        }
    };
    auto* self = st.add_nodes();
    self->set_name(local_name_);
    self->set_local(true);
    self->set_state("up");
    self->set_role(engine_->holding() ? "active" : "passive");
    self->set_unclean(engine_->unclean());
    self->set_standby(engine_->persisted().standby);
    self->set_epoch(engine_->persisted().epoch);
    self->set_group(engine::to_string(engine_->group_state()));
    fill_links(self, local_);

    // The peer as this node knows it: membership from what it hears, the rest from what the
    // peer last said of itself, and only while it is heard (a silent peer's report is stale).
    const engine::PeerView& pv = engine_->peer();
    const bool peer_speaks = pv.membership == engine::Membership::Up && pv.have_state;
    auto* peer = st.add_nodes();
    peer->set_name(peer_name_);
    peer->set_state(engine_->fence_in_flight() ? "fencing" : engine::to_string(pv.membership));
    if (peer_speaks) {
        peer->set_role(pv.state.holding ? "active" : "passive");
        peer->set_unclean(pv.state.unclean);
        peer->set_standby(pv.state.standby);
        peer->set_epoch(pv.state.epoch);
        peer->set_group(engine::to_string(pv.state.group));
    }
    fill_links(peer, 1 - local_);

    for (size_t i = 0; i < config_.resources.size(); ++i) {
        const engine::ResourceView& view = engine_->resources()[i];
        auto* r = st.add_resources();
        r->set_name(config_.resources[i].name);
        r->set_kind(config::to_string(config_.resources[i].kind));
        r->set_state(engine::to_string(view.state));
        r->set_fail_count(engine_->fail_count(i));
        if (!view.last_error.empty()) {
            r->set_last_error(view.last_error);
            *r->mutable_last_error_at() = timestamp_of(view.last_error_wall);
        }
        if (view.state == engine::ResourceState::Started) r->add_running_on(local_name_);
        if (peer_speaks && i < pv.state.resources.size() && pv.state.resources[i] == engine::ResourceState::Started)
            r->add_running_on(peer_name_);
    }
    for (const auto& f : engine_->failed_actions()) {
        auto* a = st.add_failed_actions();
        a->set_resource(config_.resources[f.index].name);
        a->set_node(local_name_);
        a->set_operation(f.operation);
        a->set_result(base::to_string(f.outcome));
        a->set_reason(f.reason);
        *a->mutable_at() = timestamp_of(f.wall);
        a->set_count(f.count);
    }
    if (fencing_check_) *st.mutable_fencing() = *fencing_check_;
    if (last_fence_) *st.mutable_last_fence() = *last_fence_;
    // The newer of this node's own record and the one its peer keeps (a node fenced in a
    // failover learns of it from the node that took over: ask_peer_status).
    std::optional<wire::FailoverRecord> failover = peer_failover_;
    if (const auto& lf = engine_->persisted().last_failover) {
        if (!failover || lf->wall >= google::protobuf::util::TimeUtil::TimestampToMilliseconds(failover->at())) {
            failover.emplace();
            *failover->mutable_at() = timestamp_of(lf->wall);
            failover->set_reason(lf->reason);
            failover->set_duration_ms(lf->duration_ms);
            failover->set_node(local_name_);
        }
    }
    if (failover) *st.mutable_last_failover() = *failover;
    if (sync_) {
        for (const auto& [path, f] : sync_->files()) {
            auto* s = st.add_sync();
            s->set_path(path);
            s->set_state(sync::to_string(f.state));
            *s->mutable_since() = timestamp_of(f.since_ms);
            if (!f.error.empty()) s->set_error(f.error);
            s->set_size(f.size);
        }
    }
    if (last_peer_check_) *st.mutable_peer_check() = *last_peer_check_;
    return st;
}

void Runtime::ask_peer_status() {
    if (!channel_ || !channel_->connected()) return;  // asked again when it connects
    if (peer_status_requests_.size() > 8) peer_status_requests_.clear();  // never answered: old ones
    wire::PeerMessage m;
    m.mutable_admin_request()->mutable_status();
    uint64_t id = next_request_id_++;
    m.set_request_id(id);
    if (!channel_->send(m)) peer_status_requests_.insert(id);
}

void Runtime::on_peer_status(const wire::AdminResponse& r) {
    if (!r.ok() || !r.has_status()) return;
    peer_failover_.reset();
    if (!r.status().has_last_failover()) return;
    peer_failover_ = r.status().last_failover();
    // Its own record if it names nobody (an older version) or itself; this node's record of a
    // failover is kept by the engine and shown as ours.
    if (peer_failover_->node().empty()) peer_failover_->set_node(peer_name_);
    if (peer_failover_->node() != peer_name_) peer_failover_.reset();
}

MetricsSnapshot Runtime::metrics_snapshot() const {
    MetricsSnapshot m;
    m.cluster = config_.cluster.name;
    m.node = local_name_;
    m.version = VEEAMHA_VERSION;
    m.process_start_seconds = process_start_seconds_;
    m.role = engine_->unclean() ? NodeRole::Unclean : engine_->holding() ? NodeRole::Active : NodeRole::Passive;
    m.holding = engine_->holding();
    m.standby = engine_->persisted().standby;
    m.maintenance = engine_->maintenance();
    m.unclean = engine_->unclean();
    m.epoch = engine_->persisted().epoch;
    m.group = engine_->group_state();

    const engine::PeerView& pv = engine_->peer();
    switch (pv.membership) {
        case engine::Membership::Unknown: m.peer = PeerState::Unknown; break;
        case engine::Membership::Up: m.peer = PeerState::Up; break;
        case engine::Membership::Lost: m.peer = PeerState::Lost; break;
        case engine::Membership::Fenced: m.peer = PeerState::Fenced; break;
        case engine::Membership::Left: m.peer = PeerState::Left; break;
    }
    if (engine_->fence_in_flight()) m.peer = PeerState::Fencing;  // as `status` says it
    const uint64_t ours = engine_->published().config_digest;
    m.config_mismatch = pv.have_state && pv.state.config_digest != 0 && ours != 0 && pv.state.config_digest != ours;

    for (const auto& l : heartbeats_->link_stats()) {
        MetricsSnapshot::Link link;
        link.up = l.up;
        if (l.rtt_ms) link.rtt_seconds = *l.rtt_ms / 1000.0;
        link.loss = l.loss;
        m.links.push_back(link);
    }
    for (size_t i = 0; i < config_.resources.size(); ++i)
        m.resources.push_back({config_.resources[i].name, engine_->resources()[i].state, engine_->fail_count(i)});

    m.events = event_counts_;
    const auto& drops = heartbeats_->drops();
    for (size_t r = 0; r < static_cast<size_t>(net::DropReason::kCount); ++r) {
        auto reason = static_cast<net::DropReason>(r);
        m.frames_dropped.emplace_back(net::to_string(reason), drops.get(reason));
    }
    m.alerts_dropped = alerts_ ? alerts_->dropped() : 0;

    if (fencing_check_)
        m.fencing_check = MetricsSnapshot::Stamped{
            static_cast<double>(google::protobuf::util::TimeUtil::TimestampToMilliseconds(fencing_check_->at())) / 1000.0,
            fencing_check_->ok(), 0};
    if (const auto& lf = engine_->persisted().last_failover)
        m.last_failover = MetricsSnapshot::Stamped{static_cast<double>(lf->wall) / 1000.0, true,
                                                   static_cast<double>(lf->duration_ms) / 1000.0};
    m.last_fence = last_fence_timing_;
    m.last_reload = last_reload_;
    m.now_seconds = static_cast<double>(now().wall) / 1000.0;
    if (sync_)
        for (const auto& [path, f] : sync_->files())
            m.sync_files.push_back({path, sync::to_string(f.state), static_cast<double>(f.since_ms) / 1000.0});
    if (last_peer_check_ && !last_peer_check_->has_error()) {
        std::map<std::string, bool> drift;
        for (const char* kind : kPeerCheckKinds) drift[kind] = false;
        for (const auto& item : last_peer_check_->items()) drift[item.kind()] = drift[item.kind()] || item.state() == "different";
        m.peer_drift.assign(drift.begin(), drift.end());
    }
    return m;
}

}  // namespace veeamha::runtime
