// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's PersistedState on disk: cluster.state_dir/state.pb, protobuf, written atomically
// (temp file in the same folder, fsync, rename over the old one, fsync of the folder) so that a
// crash at any moment leaves either the old or the new state, never a torn one.
#pragma once

#include <string>

#include "config/config.h"
#include "daemon/engine/types.h"

namespace veeamha::runtime {

class StateStore {
public:
    StateStore(const config::Config& config, int local_node);

    // Creates the state folder (0700) if missing. Loads the state; a missing file is a fresh
    // node (empty state). Returns false with `error` set when the file exists but cannot be read
    // or belongs to another cluster or node: the daemon refuses to start rather than guess.
    bool load(engine::PersistedState& state, std::string& error);
    // The same without creating anything: veeam-hactl reads the history while the daemon is down.
    bool read(engine::PersistedState& state, std::string& error) const;

    // Returns false with `error` set if the state could not be made durable.
    bool save(const engine::PersistedState& state, std::string& error);

    const std::string& path() const { return path_; }

private:
    const config::Config& config_;
    std::string node_;
    std::string dir_;
    std::string path_;
};

}  // namespace veeamha::runtime
