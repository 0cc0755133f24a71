// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/factory.h"

#include "fencing/agent/fence_agent.h"
#include "fencing/vsphere/vsphere_fencer.h"

namespace veeamha::fencing {

std::unique_ptr<FenceLevels> make_fence_levels(const config::Config& config, VimSessions sessions) {
    auto levels = std::make_unique<FenceLevels>();
    if (config.fencing.vsphere) {
        std::vector<std::pair<std::string, std::string>> uuids;
        std::vector<std::string> fenceable;
        for (const auto& n : config.nodes) {
            uuids.emplace_back(n.name, n.vm_uuid);
            if (!n.vm_uuid.empty()) fenceable.push_back(n.name);
        }
        // A node without vm_uuid is left to the other levels. With no vm_uuid at all (a first
        // setup) the level takes every node: it still serves `fence list`, how users find the
        // UUIDs, and a fence names the missing vm_uuid.
        levels->add(std::make_unique<VSphereFencer>(*config.fencing.vsphere, std::move(uuids), sessions),
                    std::move(fenceable));
    }
    for (const auto& level : config.fencing.levels)
        levels->add(std::make_unique<agent::FenceAgentFencer>(level), level.nodes);
    return levels;
}

}  // namespace veeamha::fencing
