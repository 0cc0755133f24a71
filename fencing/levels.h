// SPDX-License-Identifier: GPL-2.0-or-later
// Fencing levels (docs/design.md §6): fencers tried in order (vSphere first, then e.g. IPMI) until
// one confirms. All failing is a failed fence, reported with every level's reason; the engine
// then refuses to take over and retries with backoff.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fencing/fencer.h"

namespace veeamha::fencing {

class FenceLevels : public Fencer {
public:
    // `nodes`: the nodes this level can fence; empty = every node.
    void add(std::unique_ptr<Fencer> fencer, std::vector<std::string> nodes);

    // The first level that confirms wins. Each level but the last gets an equal share of the
    // time left (so a hung vCenter cannot use up the IPMI level's chance); the last gets all
    // that remains.
    FenceResult off(const std::string& node, base::Deadline deadline) override;
    FenceResult on(const std::string& node, base::Deadline deadline) override;
    FenceResult reboot(const std::string& node, base::Deadline deadline) override;
    // The first level that reads a state.
    FenceResult status(const std::string& node, base::Deadline deadline) override;
    // The first level whose list works (vSphere when configured).
    ListResult list(base::Deadline deadline) override;
    std::string describe() const override;
    void retire(base::Deadline deadline) override;

    size_t size() const { return levels_.size(); }
    // The levels that may fence `node`, in order.
    std::vector<Fencer*> levels_for(const std::string& node) const;

private:
    enum class Op { Off, On, Reboot, Status };
    FenceResult attempt(Op op, const std::string& node, base::Deadline deadline);

    struct Level {
        std::unique_ptr<Fencer> fencer;
        std::vector<std::string> nodes;
    };
    std::vector<Level> levels_;
};

}  // namespace veeamha::fencing
