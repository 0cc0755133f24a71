// SPDX-License-Identifier: GPL-2.0-or-later
// Planted bugs for the simulator to find: each one deletes or reorders one safety guard of the
// engine (the last one the failback policy's). They exist only in the simulator's own build of
// the engine (veeamha_engine_sim, compiled with VEEAMHA_ENGINE_MUTANTS); in the daemon's build
// MUTANT(x) is the constant false and every planted branch is dead code the compiler removes.
// tests/sim proves that the simulator catches each of them within a bounded number of seeds
// (`veeam-ha-sim --mutant NAME`): a guard whose deletion no test notices is not a guard.
#pragma once

#include <string>
#include <vector>

namespace veeamha::engine {

enum class Mutant {
    None,
    PersistAfterStart,          // the new epoch reaches the disk one step after the first start
    GrantBeforePersist,         // a grant is published, never persisted
    AdoptWithoutPeerCheck,      // adoption ignores what the peer says: that it holds the group
    AdoptAfterReboot,           // adoption ignores the boot: what the OS started is adopted
    TakeoverOnTimeout,          // a lost peer is taken over from without a fence
    IgnoreUncleanPeer,          // a start does not wait for an unclean or active peer
    StartupFence,               // a node that never heard its peer fences it (the fence loop)
    ForgetAbandonedStart,       // a start left running at its deadline is forgotten
    TrustStop,                  // a stop's success is not verified
    SharedEpochs,               // both nodes draw epochs from one sequence
    MaintenanceLastWriterWins,  // equal maintenance versions are not tie-broken after a partition
    FailbackWhenOff,            // the group returns to the preferred node although failback is false
};

struct MutantInfo {
    Mutant mutant;
    const char* name;  // for --mutant
};

inline const std::vector<MutantInfo>& mutants() {
    static const std::vector<MutantInfo> all = {
        {Mutant::PersistAfterStart, "persist-after-start"},
        {Mutant::GrantBeforePersist, "grant-before-persist"},
        {Mutant::AdoptWithoutPeerCheck, "adopt-without-peer-check"},
        {Mutant::AdoptAfterReboot, "adopt-after-reboot"},
        {Mutant::TakeoverOnTimeout, "takeover-on-timeout"},
        {Mutant::IgnoreUncleanPeer, "ignore-unclean-peer"},
        {Mutant::StartupFence, "startup-fence"},
        {Mutant::ForgetAbandonedStart, "forget-abandoned-start"},
        {Mutant::TrustStop, "trust-stop"},
        {Mutant::SharedEpochs, "shared-epochs"},
        {Mutant::MaintenanceLastWriterWins, "maintenance-last-writer-wins"},
        {Mutant::FailbackWhenOff, "failback-when-off"},
    };
    return all;
}

}  // namespace veeamha::engine

#ifdef VEEAMHA_ENGINE_MUTANTS
#define MUTANT(m) (options_.mutant == ::veeamha::engine::Mutant::m)
#else
#define MUTANT(m) false
#endif
