// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's clock inputs, one step at a time: what the simulated world cannot show by its
// timelines because it delivers every heartbeat the moment it arrives.
#include <catch2/catch.hpp>

#include <algorithm>

#include "daemon/engine/engine.h"
#include "tests/sim/world.h"

using namespace veeamha::engine;

namespace {

bool has_event(const Outputs& outs, const std::string& kind) {
    return std::any_of(outs.actions.begin(), outs.actions.end(), [&](const Action& a) {
        const auto* e = std::get_if<Event>(&a);
        return e && e->kind == kind;
    });
}

}  // namespace

TEST_CASE("a heartbeat read late counts from when it arrived: the peer is lost a timeout after that") {
    const auto config = veeamha::sim::sim_config();
    Engine engine(config, 0);
    engine.step(Time{10'000, 0}, Started{PersistedState{}, 1, 0, 1, "boot-a"});
    NodeState peer;
    peer.version = 1;
    // Both links' heartbeats arrived at 10.35 s; the node read them at its round, at 10.5 s.
    for (int link = 0; link < 2; ++link) engine.step(Time{10'500, 0}, PeerStateIn{link, 7, peer, 10'350});
    REQUIRE(engine.next_wakeup() == 10'350 + 1'000);
    CHECK_FALSE(has_event(engine.step(Time{11'349, 0}, Tick{}), "peer-lost"));
    CHECK(has_event(engine.step(Time{11'350, 0}, Tick{}), "peer-lost"));
}

TEST_CASE("an arrival stamp later than the step (clocks read in another order) counts as now") {
    const auto config = veeamha::sim::sim_config();
    Engine engine(config, 0);
    engine.step(Time{10'000, 0}, Started{PersistedState{}, 1, 0, 1, "boot-a"});
    NodeState peer;
    peer.version = 1;
    for (int link = 0; link < 2; ++link) engine.step(Time{10'500, 0}, PeerStateIn{link, 7, peer, 10'900});
    CHECK(engine.next_wakeup() == 10'500 + 1'000);
}

TEST_CASE("with nothing to do, the engine still asks to step within a second") {
    const auto config = veeamha::sim::sim_config();
    Engine engine(config, 0);
    CHECK(engine.next_wakeup() == -1);  // not started
    engine.step(Time{10'000, 0}, Started{PersistedState{}, 1, 0, 1, "boot-a"});
    CHECK(engine.next_wakeup() > 10'000);
    CHECK(engine.next_wakeup() <= 10'000 + Engine::kQuietStep);
}

TEST_CASE("a grant heard before this process was paused is not acted on until the peer is heard again") {
    const auto config = veeamha::sim::sim_config();
    Engine engine(config, 0);
    Outputs started = engine.step(Time{10'000, 0}, Started{PersistedState{}, 1, 0, 1, "boot-a"});
    std::vector<Run> probes;
    for (auto& a : started.actions)
        if (auto* r = std::get_if<Run>(&a)) probes.push_back(*r);
    REQUIRE(probes.size() == config.resources.size());
    // The peer stopped everything and grants the group; the probes are still out, so this node
    // cannot take it yet.
    NodeState peer;
    peer.version = 3;
    peer.epoch = 4;
    peer.group = GroupState::Stopped;
    peer.grant_epoch = 4;
    for (int link = 0; link < 2; ++link) engine.step(Time{10'100, 0}, PeerStateIn{link, 7, peer, 10'100});
    // Paused for 4 s (a VM stun): meanwhile the peer may have fenced this node and moved on.
    // The probes return on waking: the grant is old news and nothing is taken over.
    Millis t = 14'200;
    for (const Run& p : probes) {
        Outputs outs = engine.step(Time{t, 0}, ResourceDone{p.op_id, p.index, p.op, Outcome::NotRunning, "", false});
        CHECK_FALSE(has_event(outs, "takeover"));
    }
    CHECK_FALSE(engine.holding());
    // The peer heard again, still granting (same state): now it counts.
    Outputs outs;
    for (int link = 0; link < 2; ++link) outs = engine.step(Time{t + 400, 0}, PeerStateIn{link, 7, peer, t + 400});
    CHECK(engine.holding());
}
