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
