// SPDX-License-Identifier: GPL-2.0-or-later
// The brain of veeam-had: a pure, deterministic state machine (docs/design.md §3). It decides which
// node runs the resource group; the daemon and the simulator feed it inputs and carry out its
// outputs. No I/O, no clock, no threads: the same inputs always give the same outputs.
//
// The rules it enforces are written down in daemon/engine/README.md.
#pragma once

#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/engine/mutants.h"
#include "daemon/engine/types.h"

namespace veeamha::engine {

enum class Membership { Unknown, Up, Lost, Fenced, Left };
const char* to_string(Membership m);

// How this node came to hold the group (for logs, history and the simulator's checks).
//   PeerOff: the peer, never heard since this node started, was read back as powered off.
enum class Acquired { None, Grant, PeerLeft, Fence, PeerOff, AdminConfirm, Adopted, Unsafe };
const char* to_string(Acquired a);

struct EngineOptions {
    // TEST ONLY: a planted bug (mutants.h). Has an effect only in the simulator's build of the
    // engine; the daemon never sets it and its engine has no planted code.
    Mutant mutant = Mutant::None;
};

// What the engine knows about the peer, for status and the simulator.
struct PeerView {
    Membership membership = Membership::Unknown;
    uint64_t incarnation = 0;
    bool have_state = false;
    // This process was paused since `state` came: the peer has gone on without it (it may have
    // withdrawn a grant, fenced this node, taken the group). Nothing in `state` is acted on
    // until the peer is heard again, and then its state counts even at the same version.
    bool stale = false;
    NodeState state;
    std::vector<Millis> heard;  // per link: last heartbeat (mono), -1 = never
    Millis channel_heard = -1;
    Millis lost_at = -1;        // when it became Lost
    bool was_holding = false;   // its last state before it went silent said holding
    bool fenced_by_admin = false;  // confirm-fenced rather than a fence we confirmed
    bool read_off = false;         // a never-heard peer read back as powered off (Acquired::PeerOff)
};

struct ResourceView {
    ResourceState state = ResourceState::Unknown;
    // The last failure's text and when it happened (wall ms); kept until `cleanup`, so that a
    // fail count is never shown without its reason after a successful restart.
    std::string last_error;
    int64_t last_error_wall = 0;
    std::optional<uint64_t> op_id;  // operation in flight
    Op op = Op::Monitor;
    bool probe = false;             // the in-flight monitor is a probe (state unknown before)
    bool verify = false;            // the in-flight monitor checks that a stop really stopped it
    Millis op_guard = 0;            // the op counts as timed out after this
    Millis next_monitor = -1;
    // A start left running at its deadline (it may still take effect): nothing more is done to
    // this resource until it returns; if it has not by abandoned_until, the node turns unclean.
    std::optional<uint64_t> abandoned_op;
    Millis abandoned_until = -1;
    bool foreign = false;           // found active after a reboot: started by the OS, not by us
    Millis prepared_at = -1;        // a Prepare was sent then, for the start to come
};

// A failed operation, kept for status until `cleanup` (crm_mon's "failed resource actions"):
// the latest failure of each resource and operation, and how often it failed since.
struct FailedAction {
    size_t index = 0;          // the resource
    std::string operation;     // start, stop, monitor, probe, verify (the monitor after a stop)
    Outcome outcome = Outcome::Failed;
    std::string reason;
    int64_t wall = 0;          // the latest failure (unix ms)
    uint32_t count = 0;
};

// How long to wait before the next fence attempt after a failure (without jitter).
// Unanswered: at once again, about every second (a refused connection costs nothing, and the
// takeover should follow within seconds of the fencer's return). Refused: 1, 2, 4 ... 30 s.
// BadCredentials: 60 s, so that at most 4 logins fail in any 3 minutes (vCenter's default
// lockout is 5 failures in 180 s).
Millis fence_retry_delay(FenceFault fault, int answered_failures);

class Engine {
public:
    Engine(const config::Config& config, int local_index, EngineOptions options = {});

    // How often the power of a peer never heard since start is read again (it may be powered
    // off meanwhile).
    static constexpr Millis kCheckInterval = 5000;
    // A Prepare is sent again for a start that has not come after this long (a fence that keeps
    // failing): the resource drops a preparation that waited a minute.
    static constexpr Millis kPrepareRefresh = 30000;

    // The only way in. `now` must not go backwards.
    Outputs step(Time now, const Input& input);

    // SIGHUP: take the settings that may change while running (config::apply_live_settings)
    // from `config`; everything else keeps its old value.
    void reconfigure(const config::Config& config);
    // After a reload: the digest of the whole new configuration (config::digest), published
    // from the next step on; a mismatch with the peer is warned about again.
    void set_config_digest(uint64_t digest) {
        if (digest != config_digest_) warned_digest_ = false;
        config_digest_ = digest;
    }

    // When the engine next needs a Tick if nothing else happens (mono ms), or -1. Never more
    // than kQuietStep after the last step: failure counts expire by the clock, and a longer gap
    // between steps would read as this process having been paused (resumed()). While the peer's
    // heartbeats arrive, steps come faster than that and the wake-up never fires.
    Millis next_wakeup() const;
    static constexpr Millis kQuietStep = 1000;

    // Read-only views for status, metrics and the simulator's checkers.
    const std::string& local_name() const { return names_[local_idx_]; }
    const std::string& peer_name() const { return names_[peer_idx_]; }
    bool holding() const { return holding_; }
    Acquired acquired_via() const { return acquired_via_; }
    bool unclean() const { return unclean_; }
    bool maintenance() const { return effective_maintenance(); }
    bool same_boot() const { return same_boot_; }
    GroupState group_state() const;
    const PersistedState& persisted() const { return persisted_; }
    const PeerView& peer() const { return peer_; }
    const std::vector<ResourceView>& resources() const { return res_; }
    const NodeState& published() const { return published_; }
    uint32_t fail_count(size_t index) const;
    // Oldest first; cleared for a resource by `cleanup`.
    const std::vector<FailedAction>& failed_actions() const { return failed_actions_; }
    bool fence_in_flight() const { return fence_.op_id.has_value(); }
    bool probes_complete() const { return probes_done(); }
    // Node name currently running the group as far as this node knows; empty = nobody.
    std::string owner_name() const;

private:
    struct FenceState {
        std::optional<uint64_t> op_id;
        FenceAction action = FenceAction::Off;
        Millis guard = 0;
        uint64_t target_incarnation = 0;  // the peer process the fence is meant to kill
        int attempts = 0;
        int answered_failures = 0;  // failures with an answer (Refused, BadCredentials) in a row
        Millis next_attempt = 0;   // earliest next attempt (delay, backoff)
        std::string reported_reason;  // fence-failed last said with this reason, at reported_at
        Millis reported_at = -1;
        bool quiet = false;  // the last failure was not said (a repeat): nor is the retry's request
        bool delay_applied = false;
    };
    struct PingState {
        std::optional<uint64_t> op_id;
        Millis guard = 0;
        Millis retry_at = 0;       // after an unreachable answer
        bool reachable_ok = false; // a fresh "reachable" answer, consumed by the next fence
        bool reported_isolated = false;
    };

    // engine.cc
    void on(const Started& in);
    void on(const Tick&) {}
    void on(const PeerStateIn& in);
    void on(const ResourceDone& in);
    void on(const AbandonedDone& in);
    void on(const FenceDone& in);
    void on(const PingDone& in);
    void on(const AdminCommand& in);
    void on(const Shutdown&);
    void resumed(Millis gap);
    void reconcile();
    void publish_if_changed();
    void persist_now() { dirty_ = true; }
    void become_unclean(const std::string& why);
    // Sets the resource's last error (with the time) and counts it in failed_actions_.
    void record_error(size_t index, const std::string& operation, Outcome outcome, const std::string& reason,
                      const std::string& text);
    void event(Level level, std::string kind, std::string text, bool history = true, int resource = -1,
               std::optional<Op> op = std::nullopt);
    template <class A>
    void act(A action) { out_->actions.push_back(std::move(action)); }
    uint64_t next_op_id() { return ++op_counter_; }
    Millis ms(config::Duration d) const { return static_cast<Millis>(d.count()); }

    // peer.cc: membership from heartbeats and silence
    void update_membership();
    bool peer_up() const { return peer_.membership == Membership::Up; }
    Millis peer_last_heard() const;
    void peer_incarnation_changed(uint64_t incarnation);
    void bury_incarnation(uint64_t incarnation, bool fenced);  // never listened to again
    bool is_dead_incarnation(uint64_t incarnation) const;
    bool heard_ghost(uint64_t incarnation);  // a fenced process heard again: did the fence lie?
    void mark_peer_fenced(const std::string& why);

    // ownership.cc: who should run the group, grants, fencing, acquisition
    bool eligible_self() const;
    bool peer_eligible() const;
    bool peer_holding() const;
    bool outranks_peer() const;  // priority, then name
    bool yielding() const;
    bool wants_group() const;
    void decide_ownership();
    void consider_grant();
    void pursue_fence(const std::string& why);
    void check_peer_off(const std::string& why);  // a never-heard peer: read its power, never fence it
    void on_check(const FenceDone& in);
    uint64_t next_epoch_for(const std::string& node) const;  // disjoint epoch spaces
    void acquire(Acquired via, uint64_t epoch, const std::string& why);
    void release(const std::string& why);
    void resolve_double_holding();
    uint64_t highest_epoch_seen() const;

    // group.cc: drive the resources toward the target, monitors, failures
    void drive_group();
    bool group_target_started() const;
    void start_probe(size_t i);
    void run(size_t i, Op op, const std::string& why);
    void prepare(size_t i, const std::string& why);  // a Prepare, if stopped and not sent lately
    void prepare_from(size_t first, const std::string& why);
    void prepare_for_handover();
    void prepare_for_loss();
    Millis getting_ready_at() const;  // when the peer's silence makes this node get ready; -1: not
    void record_failure(size_t i, Op op, const std::string& why);
    void expire_failures();
    bool over_threshold() const;
    bool all_stopped() const;
    bool probes_done() const;
    bool any_foreign() const;
    bool peer_may_be_active() const;
    void check_abandoned();
    void reprobe_all(const std::string& why);
    void check_op_guards();

    // admin.cc; nothing when the reply comes later (confirm-fenced checks the peer's power)
    std::optional<Reply> admin(const AdminCommand& cmd);


    bool effective_maintenance() const;

    config::Config config_;
    int local_idx_ = 0;
    int peer_idx_ = 1;
    std::vector<std::string> names_;
    EngineOptions options_;
    Outputs* out_ = nullptr;  // outputs of the step in progress

    Time now_;
    bool started_ = false;
    Millis started_at_ = 0;
    uint64_t incarnation_ = 0;
    uint64_t config_digest_ = 0;
    std::mt19937_64 rng_;
    uint64_t op_counter_ = 0;

    PersistedState persisted_;
    bool dirty_ = false;  // persisted_ changed since the last Outputs::persist
    bool persist_late_ = false;  // Mutant::PersistAfterStart: hold this step's write back

    bool holding_ = false;
    Acquired acquired_via_ = Acquired::None;
    uint64_t grant_epoch_ = 0;
    bool unclean_ = false;
    std::optional<size_t> restart_from_;  // recovery: stop down to here, then start again
    bool move_away_ = false;
    bool shutting_down_ = false;
    bool same_boot_ = false;  // the persisted state was written in this boot (a daemon restart)
    Millis discard_until_ = -1;  // after a pause: peer messages until then are its backlog
    std::string boot_id_;
    std::string owner_at_start_;  // Mutant::AdoptWithoutPeerCheck only
    std::optional<uint64_t> confirm_request_;  // confirm-fenced waiting for its power check
    std::optional<uint64_t> power_on_op_;      // fencing.action reboot: the power-on after a fence
    Millis peer_on_reported_ = -1;  // when "a never-heard peer is powered on" was last said
    // A fenced process heard again: the fence may have lied (heard_ghost).
    struct Ghost {
        uint64_t incarnation = 0;
        Millis first = -1;  // the first of an unbroken run of its messages
        Millis last = -1;
        int count = 0;
    } ghost_;
    Millis shutdown_leave_by_ = -1;  // after leaving is published: exit by then at the latest
    bool exited_ = false;
    bool adoption_decided_ = false;

    // takeover in progress, for last_failover
    Millis takeover_began_ = -1;
    bool record_failover_ = false;  // this acquisition counts as a failover or handover
    std::string takeover_since_;
    std::string takeover_reason_;

    std::vector<ResourceView> res_;
    std::vector<FailedAction> failed_actions_;
    PeerView peer_;
    // Replaced and fenced peer processes, oldest first; bounded (bury_incarnation).
    std::deque<uint64_t> replaced_incarnations_;
    std::deque<uint64_t> fenced_incarnations_;
    uint64_t peer_max_epoch_ = 0;
    FenceState fence_;
    PingState ping_;

    NodeState published_;
    bool ever_published_ = false;
    bool warned_digest_ = false;
};

}  // namespace veeamha::engine
